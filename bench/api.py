"""REST API benchmarks: a take listing page (first, deep by cursor, filtered) and the streamed
CSV export (time and peak memory), per project size. `python -m bench --only api`."""

import sys
import time
import tracemalloc


def api_benchmarks(sizes: list[int], repeat: int) -> dict[str, dict]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from bench.__main__ import timed, vacuum
    from bench.data import make_project
    from generations.api.takes import _encode
    from generations.models import Take
    from generations.services.tokens import api_token_create

    settings.DAILIES_API_RATE_PER_MINUTE = 0
    owner, _ = get_user_model().objects.get_or_create(username="bench-owner@studio.test")
    headers = {"Authorization": f"Bearer {api_token_create(user=owner, name='bench')[1]}"}
    client = Client()
    results: dict[str, dict] = {}

    def record(name: str, size, value: float, unit: str = "ms") -> None:
        results.setdefault(name, {"unit": unit})[str(size)] = round(value, 2)

    for size in sizes:
        started = time.perf_counter()
        project = make_project(slug=f"bench-api-{size}", takes=size, owner=owner)
        print(
            f"  generated {size:,} takes in {time.perf_counter() - started:.1f}s", file=sys.stderr
        )
        base = f"/api/v1/projects/{project.slug}/takes"
        middle = (
            Take.objects.filter(project=project)
            .order_by("created_at", "id")
            .values_list("created_at", "id")[size // 2]
        )
        pages = {
            "API listing, first page": base,
            "API listing, page at the middle": f"{base}?cursor={_encode(middle)}",
            "API listing, rejects of one model": f"{base}?verdict=reject&model=sora-2",
        }
        for name, url in pages.items():
            queries = []
            with connection.execute_wrapper(
                lambda run, sql, *a, q=queries: q.append(sql) or run(sql, *a)
            ):
                response = client.get(url, headers=headers)
            items = response.json().get("items", []) if response.status_code == 200 else []
            assert len(items) == 50, (url, response.status_code, response.content[:300])
            record(
                f"{name} (50 takes)",
                size,
                timed(lambda u=url: client.get(u, headers=headers), repeat),
            )
            record(f"{name}: queries", size, len(queries), "n")

        csv_url = f"/api/v1/projects/{project.slug}/takes.csv"

        def stream(csv_url=csv_url) -> int:
            response = client.get(csv_url, headers=headers)
            return sum(chunk.count(b"\n") for chunk in response.streaming_content)

        started = time.perf_counter()
        lines = stream()
        record("CSV export (s)", size, time.perf_counter() - started, "s")
        assert lines == size + 1, (lines, size)
        tracemalloc.start()
        try:
            stream()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        record("CSV export: peak traced memory", size, peak / 1e6, "MB")
        project.delete()
        vacuum()
    return results
