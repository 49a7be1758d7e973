"""Benchmarks: `make bench` (or `python -m bench --sizes 10000,100000,1000000`).

Runs against PostgreSQL (a database of its own, created if missing) and prints one table. Every
figure that matters is a ratio measured in the same run: these machines are noisy, so compare
columns, not absolute milliseconds across runs."""

import argparse
import json
import os
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dailies_bench")
os.environ.setdefault("SECRET_KEY", "bench-only")
# Enqueued tasks go to an in-memory broker nobody reads: the benchmark times the work itself.
os.environ.setdefault("CELERY_BROKER_URL", "memory://localhost/")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# Static files from the source tree (no collectstatic needed for a benchmark).
os.environ.setdefault("DEBUG", "1")


def ensure_database(url: str) -> None:
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    if not cfg["ENGINE"].endswith("postgresql"):
        sys.exit("The benchmarks run on PostgreSQL: set DATABASE_URL to a postgres:// URL.")
    conninfo = dict(
        host=cfg["HOST"] or None,
        port=cfg["PORT"] or None,
        user=cfg["USER"] or None,
        password=cfg["PASSWORD"] or None,
    )
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{cfg["NAME"]}"')


def timed(fn, repeat: int) -> float:
    """Median milliseconds of `repeat` calls."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="takes per project")
    parser.add_argument("--repeat", type=int, default=15, help="requests per page measurement")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--only", choices=["all", "import", "rollups", "api"], default="all")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    results = {}
    if args.only in ("all", "import"):
        from bench.imports import import_benchmarks as imports

        results.update(imports(sizes))
    if args.only not in ("import", "api"):
        results.update(run(sizes, args.repeat))
    if args.only in ("all", "api"):
        from bench.api import api_benchmarks

        results.update(api_benchmarks(sizes, args.repeat))
    print_table(sizes, results)
    if args.json:
        pathlib.Path(args.json).write_text(
            json.dumps({"sizes": sizes, "results": results}, indent=2)
        )


def run(sizes: list[int], repeat: int) -> dict[str, dict]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from bench.data import make_project
    from generations.models import Review, Take
    from generations.services import rollups as rollup_services
    from generations.services.reviews import review_record

    User = get_user_model()
    owner, _ = User.objects.get_or_create(username="bench-owner@studio.test")
    client = Client()
    client.force_login(owner)
    results: dict[str, dict] = {}

    def record(name: str, size, value: float, unit: str = "ms") -> None:
        results.setdefault(name, {"unit": unit})[str(size)] = round(value, 2)

    vacuum()
    results.update(import_benchmarks())

    take_t = Take._meta.db_table
    through_t = Review.failure_tags.through._meta.db_table
    for size in sizes:
        started = time.perf_counter()
        project = make_project(slug=f"bench-{size}", takes=size, owner=owner)
        print(
            f"  generated {size:,} takes in {time.perf_counter() - started:.1f}s", file=sys.stderr
        )

        # The contributions ledger from SQL (first refresh of a project, or after drift); the
        # regular full rebuild then only swaps the entries of logged changes.
        with_ledger = timed(
            lambda p=project: rollup_services.rollups_rebuild(project_id=p.pk, ledger=True), 3
        )
        record("recompute + ledger from SQL", size, with_ledger)
        full = timed(lambda p=project: rollup_services.rollups_rebuild(project_id=p.pk), 3)
        record("recompute: full rebuild", size, full)

        def floor(p=project):
            # The database's own GROUP BY over the same rows: takes by every take dimension,
            # and current-review tags of rejected takes.
            with connection.cursor() as cur:
                cur.execute(
                    f"""SELECT shot_id, prompt_version_id, model, pass_number,
                            (created_at AT TIME ZONE 'UTC')::date, current_verdict,
                            count(*), sum(cost_usd), sum(duration_s)
                        FROM {take_t} WHERE project_id = %s
                        GROUP BY 1, 2, 3, 4, 5, 6""",
                    [p.pk],
                )
                cur.fetchall()
                cur.execute(
                    f"""SELECT rt.failuretag_id, t.shot_id, t.model, t.pass_number, count(*)
                        FROM {take_t} t JOIN {through_t} rt ON rt.review_id = t.current_review_id
                        WHERE t.project_id = %s AND t.current_verdict = 'reject'
                        GROUP BY 1, 2, 3, 4""",
                    [p.pk],
                )
                cur.fetchall()

        floor_ms = timed(floor, 3)
        record("SQL GROUP BY floor", size, floor_ms)
        record("recompute / floor", size, full / floor_ms, "×")
        record("recompute + ledger / floor", size, with_ledger / floor_ms, "×")

        take = Take.objects.filter(project=project, current_verdict="reject").first()

        def one_verdict(p=project, t=take):
            review_record(take=t, reviewer=owner, verdict="accept")
            rollup_services.rollups_refresh(project_id=p.pk)

        record("one verdict + refresh", size, timed(one_verdict, 3))

        samples = []
        for verdict in ("reject", "accept", "reject", "accept", "reject"):
            review_record(take=take, reviewer=owner, verdict=verdict)
            started = time.perf_counter()
            rollup_services.rollups_refresh(project_id=project.pk)
            samples.append((time.perf_counter() - started) * 1000)
        record("incremental refresh only", size, statistics.median(samples))

        url = f"/api/v1/projects/{project.slug}/stats"
        assert client.get(url).status_code == 200
        record("stats API", size, timed(lambda u=url: client.get(u), repeat))
        for name, path in (
            ("producer dashboard", f"/projects/{project.slug}/dashboards/producer/"),
            ("project page", f"/projects/{project.slug}/"),
            ("review queue", f"/projects/{project.slug}/review/"),
            ("review queue, unreviewed", f"/projects/{project.slug}/review/?unreviewed=1"),
            ("editors' grid", f"/projects/{project.slug}/grid/"),
        ):
            queries = []
            with connection.execute_wrapper(
                lambda run, sql, *a, q=queries: q.append(sql) or run(sql, *a)
            ):
                status = client.get(path).status_code
            assert status == 200, (path, status)
            record(f"{name}", size, timed(lambda p=path: client.get(p), repeat))
            record(f"{name}: queries", size, len(queries), "n")
        project.delete()
        vacuum()
    return results


def vacuum() -> None:
    """Reclaim the rows a deleted bench project left behind, so the next size (or the next
    run) does not scan a million dead tuples."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")


def import_benchmarks() -> dict[str, dict]:
    """The sample manifest imported, for the sample's rollup rows (import speed: bench/imports)."""
    from generations.models import Project
    from generations.services.manifest import manifest_import

    sample = ROOT.parent / "shared" / "data" / "sample-manifest.jsonl"
    if not sample.exists():
        return {}
    lines = sample.read_text().splitlines()
    slugs = {json.loads(line)["project"] for line in lines}
    Project.objects.filter(slug__in=slugs).delete()
    report = manifest_import(lines=lines)
    assert report.ok and report.takes_created == len(lines), report.errors[:3]
    out = sample_rollup_benchmarks(slugs)
    Project.objects.filter(slug__in=slugs).delete()
    return out


def sample_rollup_benchmarks(slugs: set[str]) -> dict[str, dict]:
    """On the imported sample: a full recompute of all three projects, and one verdict with
    its incremental refresh (what a reviewer's click costs the worker)."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from generations.models import Project, Take
    from generations.services import rollups as rollup_services
    from generations.services.reviews import review_record

    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    projects = list(Project.objects.filter(slug__in=slugs))
    for project in projects:  # first refresh builds the ledger
        rollup_services.rollups_rebuild(project_id=project.pk, ledger=True)
    full = timed(lambda: [rollup_services.rollups_rebuild(project_id=p.pk) for p in projects], 5)
    reviewer = get_user_model().objects.get(username="lead@studio.test")
    project = projects[0]
    takes = iter(Take.objects.filter(project=project).order_by("id")[:5])

    def one_verdict():
        review_record(take=next(takes), reviewer=reviewer, verdict="accept")
        rollup_services.rollups_refresh(project_id=project.pk)

    return {
        "sample: full recompute, 3 projects": {"unit": "ms", "all": round(full, 1)},
        "sample: one verdict + refresh": {"unit": "ms", "all": round(timed(one_verdict, 5), 1)},
    }


def print_table(sizes: list[int], results: dict[str, dict]) -> None:
    columns = [f"{s:,} takes" for s in sizes]
    width = max(len(name) for name in results) + 2
    header = f"{'benchmark':<{width}}{'unit':>8}" + "".join(f"{c:>16}" for c in columns)
    header += f"{'largest/smallest':>18}"
    print(header)
    print("-" * len(header))
    for name, row in results.items():
        unit = row["unit"]
        if "all" in row:
            print(f"{name:<{width}}{unit:>8}{row['all']:>16,}")
            continue
        values = [row.get(str(s)) for s in sizes]
        cells = "".join(f"{v:>16,.2f}" if v is not None else f"{'':>16}" for v in values)
        ratio = ""
        if values[0] and values[-1] and len(values) > 1 and unit != "×":
            ratio = f"{values[-1] / values[0]:.2f}×"
        print(f"{name:<{width}}{unit:>8}{cells}{ratio:>18}")


if __name__ == "__main__":
    main()
