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
# The bench times the work itself: a 1M-take recompute on a loaded machine must not be cut by
# the production timeouts (240 s soft limit, 180 s statement timeout).
os.environ.setdefault("DAILIES_ROLLUP_SOFT_TIME_LIMIT", "3600")
os.environ.setdefault("DAILIES_ROLLUP_STATEMENT_TIMEOUT", "3500")
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
    parser.add_argument(
        "--shapes",
        default="classic,realistic",
        help="project shapes for the rollups part: classic (40 shots), realistic (one shot per"
        " prompt, 2-5 versions each)",
    )
    parser.add_argument(
        "--worker",
        action="store_true",
        help="also time a verdict until it is visible, with a real Celery worker (needs Redis in"
        " CELERY_BROKER_URL)",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    shapes = args.shapes.split(",")

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    partial = f"{args.json}.partial" if args.json else None
    results = {}
    if args.only in ("all", "import"):
        from bench.imports import import_benchmarks as imports

        results.update(imports(sizes))
    if args.only not in ("import", "api"):
        results.update(run(sizes, args.repeat, shapes=shapes, worker=args.worker, partial=partial))
    if args.only in ("all", "api"):
        from bench.api import api_benchmarks

        results.update(api_benchmarks(sizes, args.repeat))
    print_table(sizes, results)
    if args.json:
        pathlib.Path(args.json).write_text(
            json.dumps({"sizes": sizes, "results": results}, indent=2)
        )


def run(
    sizes: list[int],
    repeat: int,
    *,
    shapes=("classic", "realistic"),
    worker: bool = False,
    partial: str | None = None,
) -> dict[str, dict]:
    """The rollups part: the imported sample's recompute and refresh, then both project shapes
    at every size (bench/rollups.py)."""
    from bench.rollups import rollup_benchmarks

    vacuum()
    results = import_benchmarks()
    results.update(rollup_benchmarks(sizes, repeat, shapes=shapes, worker=worker, partial=partial))
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
        rollup_services.rollups_recompute(project_id=project.pk, ledger=True)
    full = timed(lambda: [rollup_services.rollups_recompute(project_id=p.pk) for p in projects], 5)
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
