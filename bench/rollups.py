"""Rollup benchmarks on two project shapes, at every size:

- classic: 40 shots of 6 prompt versions (the original bench);
- realistic: one shot per distinct prompt, 2–5 versions per shot (1M takes: 150k shots, 525k
  versions), the shape that made responses grow with the project.

Each project is bulk-loaded without planner statistics (as after an import: autovacuum is off
here), the GROUP BY floor and a full recompute are timed on those fresh tables, then everything
again after ANALYZE, then the pages, the stats API and its paginated tables, and one verdict's
refresh. With `--worker`, a real Celery worker serves the refreshes and the bench times how long
a verdict takes to show in the stats API."""

import json
import os
import statistics
import subprocess
import sys
import time

SHAPES = ("classic", "realistic")


def _timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _floor(project_id: int, *, tuned: bool = False) -> None:
    """The database's own GROUP BYs over the same rows: the takes by every take dimension, and
    the current review's tags of the rejected takes by tag, shot, model and pass. `tuned`: with
    the planner settings the recompute uses on a big project (no JIT, no nested loops), so the
    floor is the better of the two and the recompute gets no advantage from its settings."""
    from django.db import connection, transaction

    from generations.models import Review, Take

    take_t, through_t = Take._meta.db_table, Review.failure_tags.through._meta.db_table
    with transaction.atomic(), connection.cursor() as cur:
        if tuned:
            cur.execute("SET LOCAL jit = off; SET LOCAL enable_nestloop = off")
        cur.execute(
            f"""SELECT shot_id, prompt_version_id, model, pass_number,
                    (created_at AT TIME ZONE 'UTC')::date, current_verdict,
                    count(*), sum(cost_usd), sum(duration_s)
                FROM {take_t} WHERE project_id = %s
                GROUP BY 1, 2, 3, 4, 5, 6""",
            [project_id],
        )
        cur.fetchall()
        cur.execute(
            f"""SELECT rt.failuretag_id, t.shot_id, t.model, t.pass_number, count(*)
                FROM {take_t} t JOIN {through_t} rt ON rt.review_id = t.current_review_id
                WHERE t.project_id = %s AND t.current_verdict = 'reject'
                GROUP BY 1, 2, 3, 4""",
            [project_id],
        )
        cur.fetchall()


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE")


def _queries(client, path: str) -> int:
    from django.db import connection

    queries: list[str] = []
    with connection.execute_wrapper(lambda run, sql, *a: queries.append(sql) or run(sql, *a)):
        status = client.get(path).status_code
    assert status == 200, (path, status)
    return len(queries)


def rollup_benchmarks(
    sizes: list[int], repeat: int, *, shapes=SHAPES, worker: bool = False, partial=None
) -> dict[str, dict]:
    """`partial`: a path where the figures so far are written after every measurement, so a
    long run interrupted still leaves its numbers."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from bench.__main__ import vacuum
    from bench.data import make_project, make_realistic_project
    from generations.models import Take
    from generations.services import rollups as rollup_services
    from generations.services.reviews import review_record

    recompute = rollup_services.rollups_recompute
    # The bench polls the stats API far faster than a person: no per-minute limit here.
    settings.DAILIES_API_RATE_PER_MINUTE = 0
    User = get_user_model()
    owner, _ = User.objects.get_or_create(username="bench-owner@studio.test")
    client = Client()
    client.force_login(owner)
    results: dict[str, dict] = {}
    makers = {"classic": make_project, "realistic": make_realistic_project}

    for shape in shapes:
        prefix = "" if shape == "classic" else "realistic: "

        def record(name: str, size, value: float, unit: str = "ms", prefix=prefix) -> None:
            results.setdefault(prefix + name, {"unit": unit})[str(size)] = round(value, 2)
            print(f"  {prefix}{name} @ {size:,}: {value:,.2f} {unit}", file=sys.stderr)
            if partial:
                with open(partial, "w") as out:
                    json.dump({"sizes": sizes, "results": results}, out, indent=1)

        for size in sizes:
            started = time.perf_counter()
            project = makers[shape](
                slug=f"bench-{shape}-{size}", takes=size, owner=owner, analyze=False
            )
            print(
                f"  {shape}: generated {size:,} takes in {time.perf_counter() - started:.1f}s",
                file=sys.stderr,
            )
            pid = project.pk
            # Fresh tables: no statistics yet (the recompute analyzes what it needs itself).
            record("GROUP BY floor, fresh tables", size, _timed(lambda p=pid: _floor(p), 1))
            record(
                "recompute + ledger, fresh tables",
                size,
                _timed(lambda p=pid: recompute(project_id=p, ledger=True), 1),
            )
            _analyze()
            floor_default = _timed(lambda p=pid: _floor(p), 3)
            floor_tuned = _timed(lambda p=pid: _floor(p, tuned=True), 3)
            record("GROUP BY floor (analyzed), default settings", size, floor_default)
            record("GROUP BY floor (analyzed), without JIT", size, floor_tuned)
            floor_ms = min(floor_default, floor_tuned)
            with_ledger = _timed(
                lambda p=pid: recompute(project_id=p, ledger=True),
                1 if size >= 1_000_000 else 3,
            )
            record("recompute + ledger from SQL", size, with_ledger)
            full = _timed(lambda p=pid: recompute(project_id=p), 3)
            record("recompute: full", size, full)
            record("recompute / floor", size, full / floor_ms, "×")
            record("recompute + ledger / floor", size, with_ledger / floor_ms, "×")

            take = Take.objects.filter(project=project, current_verdict="reject").first()

            def one_verdict(p=pid, t=take):
                review_record(take=t, reviewer=owner, verdict="accept")
                rollup_services.rollups_refresh(project_id=p)

            record("one verdict + refresh", size, _timed(one_verdict, 3))

            api = f"/api/v1/projects/{project.slug}/stats"
            response = client.get(api)
            assert response.status_code == 200
            record("stats API", size, _timed(lambda u=api: client.get(u), repeat))
            record("stats API: bytes", size, len(response.content), "B")
            record("stats API: queries", size, _queries(client, api), "n")
            first = f"{api}/shots?limit=50"
            cursor = client.get(first).json()["next_cursor"]
            for name, path in (
                ("stats/shots API, first page", first),
                ("stats/shots API, next page", f"{first}&cursor={cursor}" if cursor else first),
                ("stats/shots API, search", f"{api}/shots?q=00042"),
            ):
                record(name, size, _timed(lambda p=path: client.get(p), repeat))
            slug = project.slug
            for name, path in (
                ("project page", f"/projects/{slug}/"),
                ("producer dashboard", f"/projects/{slug}/dashboards/producer/"),
                ("creative dashboard", f"/projects/{slug}/dashboards/creative/"),
                ("editor dashboard", f"/projects/{slug}/dashboards/editor/"),
                ("shots table page", f"/projects/{slug}/tables/shots/"),
                ("review queue", f"/projects/{slug}/review/"),
                ("editors' grid", f"/projects/{slug}/grid/"),
            ):
                record(f"{name}: queries", size, _queries(client, path), "n")
                record(name, size, _timed(lambda p=path: client.get(p), repeat))
            if worker:
                for name, value in verdict_latency(project, owner, client).items():
                    record(name, size, value)
            project.delete()
            vacuum()
    return results


def _percentiles(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[int(round(0.95 * (len(samples) - 1)))]


def verdict_latency(project, owner, client, verdicts: int = 20) -> dict[str, float]:
    """A real prefork Celery worker serves the rollups queue; each verdict is recorded as the
    web does (the refresh enqueued on commit). Two clocks stop: when the stats API shows the
    new revision (asked as soon as the database has it), and when a dashboard shows it: the
    dashboard's live endpoint polled every 500 ms as htmx does, from a phase spread evenly over
    the interval (a page opened at any moment), until it answers with the new panel. Also the
    worker's own refresh time (ProjectRollup.duration_ms). Returns p50 and p95 of each, in ms."""
    from django.conf import settings
    from django.urls import reverse

    from generations.models import ProjectRollup, Take
    from generations.services.reviews import review_record

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "studio.settings"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "studio", "worker", "--pool=prefork",
         "--concurrency=1", "-Q", settings.DAILIES_ROLLUPS_QUEUE, "--loglevel=WARNING",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    api = f"/api/v1/projects/{project.slug}/stats"
    live = reverse("dashboard_live", args=[project.slug, "producer"])

    def revision() -> int:
        return json.loads(client.get(api).content)["revision"]

    def committed() -> int:
        state = ProjectRollup.objects.filter(project=project).values_list("revision", flat=True)
        return state.first() or 0

    try:
        time.sleep(3)  # the worker starts and drains what the bench queued before
        takes = list(Take.objects.filter(project=project).order_by("id")[: verdicts + 5])
        in_api, on_dashboard, refresh = [], [], []
        for i, take in enumerate(takes[:verdicts]):
            old = revision()
            phase = (i * 0.618034 % 1) * 0.5
            started = time.perf_counter()
            review_record(take=take, reviewer=owner, verdict="accept" if i % 2 else "reject")
            tick, seen_api, seen_dashboard = started + phase, None, None
            while seen_api is None or seen_dashboard is None:
                now = time.perf_counter()
                if now - started > 30:
                    raise RuntimeError("the worker did not refresh within 30 s")
                if seen_dashboard is None and now >= tick:
                    if client.get(live, {"rev": old}).status_code == 200:
                        seen_dashboard = time.perf_counter()
                    tick += 0.5
                elif seen_api is None:
                    # Wait on the committed revision (one indexed row), then the clock stops
                    # when the stats API answers with it: polling the API itself every 10 ms
                    # kept a core busy and slowed the worker it was timing.
                    if committed() != old and revision() != old:
                        seen_api = time.perf_counter()
                    else:
                        time.sleep(0.005)
                else:
                    time.sleep(max(0.0, tick - now))
            in_api.append((seen_api - started) * 1000)
            on_dashboard.append((seen_dashboard - started) * 1000)
            refresh.append(ProjectRollup.objects.get(project=project).duration_ms or 0.0)
            time.sleep(0.2)
        out = {}
        for name, samples in (
            ("verdict visible in stats API", in_api),
            ("verdict visible on a dashboard (500 ms polls)", on_dashboard),
            ("worker's refresh after a verdict", refresh),
        ):
            p50, p95 = _percentiles(samples)
            out[f"{name}, p50"], out[f"{name}, p95"] = p50, p95
        return out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
