"""Import benchmarks: `python -m bench --only import --sizes 10000,100000,1000000`.

For each size and shape a manifest file is generated, then imported by `import_manifest`'s
service in a fresh process (so its peak RSS is its own), into an empty project. In the same run
the floor: the same file parsed with json.loads and COPYed into plain tables with the same
columns and indexes as takes, reviews and tag links (no validation, no foreign keys, no
lineage). Shapes:

- `few shots`: 40 shots of 6 versions, every take on one of them;
- `realistic`: one shot per distinct prompt, 2–5 versions each, 1–4 takes per version (100k
  takes: ~11k shots, ~40k versions).

Takes are 90% reviewed (5% twice), rejects carry 1–3 failure tags, one review in ten a note;
one take in twenty has no reported cost and is estimated from the model price."""

import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

MODELS = ["sora-2", "sora-2-pro", "veo-3", "kling-2", "runway-gen4-turbo", "pika-2", "svd-xt"]
TAGS = ["flicker", "warping", "morphing", "anatomy", "blur", "jerky-motion", "frozen", "physics"]
REVIEWERS = [f"reviewer-{i}@studio.test" for i in range(5)]
SHAPES = ("few shots", "realistic")


def _lines(n: int, shape: str, project: str):
    """Deterministic manifest lines (no random(): the same file every run)."""
    shot, version, left_in_version, versions_left = 0, 1, 0, 0
    for g in range(n):
        h = (g * 2654435761) % 2**32
        if shape == "few shots":
            shot, version = g % 40, 1 + (g // 40) % 6
        else:
            if left_in_version == 0:
                if versions_left == 0:
                    shot, version, versions_left = shot + 1, 1, 2 + h % 4
                else:
                    version += 1
                versions_left -= 1
                left_in_version = 1 + (h >> 3) % 4
            left_in_version -= 1
        day, minute = g % 60, g % 1440
        created = f"2026-09-{1 + day % 30:02d}T{minute // 60:02d}:{minute % 60:02d}:00Z"
        reviews = []
        if g % 10:
            accept = (h % 100) < 8 + version * 5
            reviews.append(
                {
                    "reviewer": REVIEWERS[g % 5],
                    "verdict": "accept" if accept else "reject",
                    "failure_tags": []
                    if accept
                    else [TAGS[(h >> k) % 8] for k in range(1 + h % 3)],
                    "notes": (
                        [{"t": 1.5, "tag": None if accept else TAGS[h % 8], "text": "look here"}]
                        if g % 10 == 3
                        else []
                    ),
                    "reviewed_at": f"2026-10-{1 + day % 30:02d}T10:30:00Z",
                }
            )
            if g % 20 == 1:
                reviews.append(
                    {
                        "reviewer": REVIEWERS[(g + 1) % 5],
                        "verdict": "accept" if h % 3 else "reject",
                        "failure_tags": [] if h % 3 else ["blur"],
                        "reviewed_at": f"2026-10-{1 + day % 30:02d}T11:30:00Z",
                    }
                )
        prompt = f"shot {shot}: a street food vendor at dusk, take {version}, slow dolly-in"
        yield {
            "project": project,
            "shot": f"shot-{shot:06d}",
            "prompt_version": version,
            "parent_version": version - 1 if version > 1 else None,
            "prompt": prompt,
            "pass": version,
            "model": MODELS[g % 7],
            "external_id": f"gen-{g:08d}",
            "duration_s": 4.0 + (g % 3) * 2,
            "resolution": "1280x720",
            "fps": 24,
            "seed": h,
            "cost_usd": None if g % 20 == 7 else round(0.2 + (g % 13) * 0.1, 2),
            "created_at": created,
            "reviews": reviews,
        }


def generate(path: pathlib.Path, n: int, shape: str, project: str) -> None:
    with open(path, "w") as out:
        for row in _lines(n, shape, project):
            out.write(json.dumps(row, separators=(",", ":")) + "\n")


# --- the two measured runs, each in a process of its own ------------------------------------


def _peak_rss_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _setup() -> None:
    """Django as production runs it: the bench's DEBUG (for the page benchmarks' static files)
    would make Django keep the SQL of the last 9,000 statements, megabytes of array literals
    for an import, and that is not the import's memory."""
    import django
    from django.conf import settings

    django.setup()
    settings.DEBUG = False


def child_import(path: str, strict: bool = True) -> dict:
    _setup()
    from generations.services.manifest import manifest_import

    before = _peak_rss_mb()
    started = time.perf_counter()
    with open(path, "rb") as handle:
        report = manifest_import(lines=handle)
    seconds = time.perf_counter() - started
    assert report.ok or not strict, report.errors[:3]
    return {
        "seconds": seconds,
        "takes": report.takes_created,
        "errors": len(report.errors),
        "rss_mb": _peak_rss_mb(),
        "rss_before_mb": before,
        # The parser process the COPY writer forks (generations/manifest/feed.py).
        "parser_rss_mb": _peak_rss_mb(resource.RUSAGE_CHILDREN),
        "timings": {k: round(v, 2) for k, v in report.timings.items()},
    }


FLOOR_TABLES = {
    "take": "generations_take",
    "review": "generations_review",
    "tag": "generations_review_failure_tags",
}


def child_floor(path: str) -> dict:
    """json.loads every line and COPY its take, reviews and tag links into plain tables with
    the columns and indexes of ours: the database's own speed for the same rows."""
    _setup()
    from django.db import connection, transaction

    with connection.cursor() as cur:
        for name, table in FLOOR_TABLES.items():
            cur.execute(
                f"DROP TABLE IF EXISTS bench_floor_{name}; "
                f"CREATE TABLE bench_floor_{name} (LIKE {table} INCLUDING DEFAULTS "
                "INCLUDING INDEXES INCLUDING IDENTITY)"
            )
    started = time.perf_counter()
    takes = 0
    with transaction.atomic(), connection.cursor() as cur, open(path, "rb") as handle:
        take_id = review_id = 0
        batch: list[dict] = []

        take_fixed, take_fixed_values = _not_null_defaults(
            {"id", "project_id", "shot_id", "prompt_version_id", "pass_number", "model",
             "seed", "external_id", "media_url", "duration_s", "fps", "width", "height",
             "cost_usd", "cost_source", "created_at", "added_at"}
        )  # fmt: skip
        take_columns = (
            "id, project_id, shot_id, prompt_version_id, pass_number, model, seed, external_id, "
            "media_url, duration_s, fps, width, height, cost_usd, cost_source, created_at, "
            "added_at" + "".join(f", {c}" for c in take_fixed)
        )

        def flush(batch):
            nonlocal take_id, review_id
            take_rows, review_rows, tag_rows = [], [], []
            for row in batch:
                take_id += 1
                take_rows.append(
                    (take_id, 1, 1, 1, row["pass"], row["model"], row["seed"],
                     row["external_id"], row.get("media_url") or "", row["duration_s"],
                     row["fps"], 1280, 720, row["cost_usd"] or 0, "reported",
                     row["created_at"], row["created_at"], *take_fixed_values)
                )  # fmt: skip
                for review in row["reviews"]:
                    review_id += 1
                    review_rows.append(
                        (review_id, take_id, 1, review["verdict"], "verdict", "",
                         review["reviewed_at"])
                    )  # fmt: skip
                    for tag in set(review["failure_tags"]):
                        tag_rows.append((review_id, TAGS.index(tag) + 1))
            for name, columns, rows in (
                ("take", take_columns, take_rows),
                (
                    "review",
                    "id, take_id, reviewer_id, verdict, kind, comment, created_at",
                    review_rows,
                ),
                ("tag", "review_id, failuretag_id", tag_rows),
            ):
                with cur.copy(f"COPY bench_floor_{name} ({columns}) FROM STDIN") as copy:
                    for values in rows:
                        copy.write_row(values)

        for raw in handle:
            row = json.loads(raw)
            row.setdefault("media_url", None)
            batch.append(row)
            takes += 1
            if len(batch) >= 5000:
                flush(batch)
                batch = []
        flush(batch)
    seconds = time.perf_counter() - started
    with connection.cursor() as cur:
        for name in FLOOR_TABLES:
            cur.execute(f"DROP TABLE bench_floor_{name}")
    return {"seconds": seconds, "takes": takes, "rss_mb": _peak_rss_mb()}


def _not_null_defaults(given: set[str]) -> tuple[list[str], list]:
    """The take table's other NOT NULL columns and their model defaults, as values."""
    from django.db import connection
    from django.db.models import JSONField

    from generations.models import Take

    columns, values = [], []
    for f in Take._meta.concrete_fields:
        if f.column in given or f.null or f.get_default() is None:
            continue
        default = f.get_default()
        columns.append(f.column)
        values.append(
            json.dumps(default)
            if isinstance(f, JSONField)
            else f.get_db_prep_save(default, connection)
        )
    return columns, values


def _child(kind: str, path: pathlib.Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.imports", kind, str(path)],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def project_drop(slug: str) -> None:
    """Delete an imported bench project in a few statements (the ORM's cascade would load a
    million takes), then VACUUM so the next size does not scan dead rows."""
    from django.db import connection

    from generations.models import Note, Project, PromptVersion, Review, Shot, Take

    project = Project.objects.filter(slug=slug).first()
    if project is None:
        return
    take_t, review_t, note_t = Take._meta.db_table, Review._meta.db_table, Note._meta.db_table
    through_t = Review.failure_tags.through._meta.db_table
    with connection.cursor() as cur:
        params = [project.pk]
        cur.execute(f"UPDATE {take_t} SET current_review_id = NULL WHERE project_id = %s", params)
        cur.execute(
            f"DELETE FROM {note_t} WHERE take_id IN "
            f"(SELECT id FROM {take_t} WHERE project_id = %s)",
            params,
        )
        cur.execute(
            f"DELETE FROM {through_t} WHERE review_id IN (SELECT r.id FROM {review_t} r "
            f"JOIN {take_t} t ON t.id = r.take_id WHERE t.project_id = %s)",
            params,
        )
        cur.execute(
            f"DELETE FROM {review_t} WHERE take_id IN "
            f"(SELECT id FROM {take_t} WHERE project_id = %s)",
            params,
        )
        cur.execute(f"DELETE FROM {take_t} WHERE project_id = %s", params)
        cur.execute(
            f"DELETE FROM {PromptVersion._meta.db_table} WHERE shot_id IN "
            f"(SELECT id FROM {Shot._meta.db_table} WHERE project_id = %s)",
            params,
        )
    project.delete()
    with connection.cursor() as cur:
        tables = (take_t, review_t, note_t, through_t, PromptVersion._meta.db_table)
        for table in (*tables, Shot._meta.db_table):
            cur.execute(f"VACUUM {table}")


GARBAGE = [
    '{"project": "%s", "created_at": "2026-13-45T00:00:00Z"}',
    "[" * 5000 + "]" * 5000,
    '{"project": "%s", "shot": "\\ud800"}',
    '{"project": "%s", "prompt": "nul \\u0000"}',
    "not json at all",
]


def garbage_check(size: int, slug: str = "bench-import-garbage") -> dict:
    """`size` realistic lines, one in a hundred replaced by a bad one (the crash kinds of
    issue 7, and a Latin-1 line): every good line must land and every bad one be reported."""
    with tempfile.TemporaryDirectory(prefix="dailies-bench-") as tmp:
        path = pathlib.Path(tmp) / "garbage.jsonl"
        bad = 0
        with open(path, "wb") as out:
            for g, row in enumerate(_lines(size, "realistic", slug)):
                if g % 100 == 99:
                    bad += 1
                    kind = (g // 100) % (len(GARBAGE) + 1)
                    if kind == len(GARBAGE):
                        row["prompt"] = "crème brûlée"
                        out.write(json.dumps(row, ensure_ascii=False).encode("latin-1") + b"\n")
                    else:
                        text = GARBAGE[kind]
                        out.write((text % slug if "%s" in text else text).encode() + b"\n")
                    continue
                out.write(json.dumps(row, separators=(",", ":")).encode() + b"\n")
        project_drop(slug)
        run = _child("garbage", path)
        project_drop(slug)
    assert run["takes"] == size - bad and run["errors"] == bad, (run, size, bad)
    return {"takes": run["takes"], "errors": run["errors"], "seconds": run["seconds"]}


def import_benchmarks(sizes: list[int]) -> dict[str, dict]:
    """Rows for bench/__main__.py's table: takes/s and peak RSS of the import and of the floor
    per shape and size, and their ratio."""
    results: dict[str, dict] = {}

    def record(name: str, size: int, value: float, unit: str) -> None:
        results.setdefault(name, {"unit": unit})[str(size)] = round(value, 2)

    with tempfile.TemporaryDirectory(prefix="dailies-bench-") as tmp:
        for shape in SHAPES:
            for size in sizes:
                slug = f"bench-import-{shape.split()[0]}"
                path = pathlib.Path(tmp) / f"{slug}-{size}.jsonl"
                generate(path, size, shape, slug)
                project_drop(slug)
                floor = _child("floor", path)
                run = _child("import", path)
                assert run["takes"] == size, run
                project_drop(slug)
                path.unlink()
                rate, floor_rate = size / run["seconds"], size / floor["seconds"]
                record(f"import, {shape}", size, rate, "takes/s")
                record(f"COPY floor, {shape}", size, floor_rate, "takes/s")
                record(f"import / floor, {shape}", size, rate / floor_rate, "×")
                record(f"import peak RSS, {shape}", size, run["rss_mb"], "MB")
                record(f"parser process peak RSS, {shape}", size, run["parser_rss_mb"], "MB")
                print(
                    f"  import {shape} {size:,}: {rate:,.0f} takes/s, floor {floor_rate:,.0f}/s,"
                    f" RSS {run['rss_mb']:.0f} MB (parser {run['parser_rss_mb']:.0f} MB)",
                    file=sys.stderr,
                )
    # Every good line kept, every bad one reported, at the largest size up to 100k.
    size = max((s for s in sizes if s <= 100_000), default=0)
    if size:
        check = garbage_check(size)
        record("1% bad lines: good lines kept", size, check["takes"], "takes")
        record("1% bad lines: lines reported", size, check["errors"], "lines")
        record("1% bad lines: import", size, size / check["seconds"], "lines/s")
    return results


if __name__ == "__main__":
    # The child processes: `python -m bench.imports import|floor PATH` prints one JSON line.
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    kind, path = sys.argv[1], sys.argv[2]
    if kind == "floor":
        print(json.dumps(child_floor(path)))
    else:
        print(json.dumps(child_import(path, strict=kind == "import")))
