"""The API's streamed exports: takes as CSV (current verdict, cost, tags; flat memory at 100k
takes) and the manifest."""

import csv
import io
import json
import tracemalloc

import pytest

from bench.data import make_project
from generations.models import FailureTag, Take
from generations.services.reviews import review_record
from generations.services.tokens import api_token_create

from .factories import PromptVersionFactory, ShotFactory, TakeFactory, UserFactory


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {api_token_create(user=user, name='t')[1]}"}


def read_csv(response) -> list[dict]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_has_each_takes_verdict_cost_and_tags(client, project, members, owner):
    shot = ShotFactory(project=project, name="=cmd|' /C calc'!A0")  # a formula, kept as text
    version = PromptVersionFactory(shot=shot, number=2)
    blur, _ = FailureTag.objects.get_or_create(slug="blur", defaults={"position": 1})
    flicker, _ = FailureTag.objects.get_or_create(slug="flicker", defaults={"position": 2})
    rejected = TakeFactory(prompt_version=version, external_id="a", cost_usd="1.5000")
    accepted = TakeFactory(prompt_version=version, external_id="b", model="veo-3")
    TakeFactory(prompt_version=version, external_id="c")
    review_record(take=rejected, reviewer=owner, verdict="reject", tags=[flicker, blur])
    review_record(take=accepted, reviewer=owner, verdict="accept")

    response = client.get(
        "/api/v1/projects/neon-market/takes.csv", headers=bearer(members["producer"])
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = {r["external_id"]: r for r in read_csv(response)}
    assert set(rows) == {"a", "b", "c"}
    assert (rows["a"]["verdict"], rows["a"]["cost_usd"]) == ("reject", "1.5000")
    assert sorted(rows["a"]["tags"].split(";")) == ["blur", "flicker"]
    assert (rows["b"]["verdict"], rows["b"]["tags"], rows["b"]["model"]) == ("accept", "", "veo-3")
    assert rows["a"]["reviewer"] == "owner@studio.test" and rows["c"]["reviewer"] == ""
    assert rows["c"]["verdict"] == "" and rows["c"]["version"] == "2"
    assert rows["a"]["shot"] == "'=cmd|' /C calc'!A0"


def test_the_manifest_streams_the_format_import_reads(client, project, members, version):
    TakeFactory.create_batch(3, prompt_version=version)
    response = client.get(
        "/api/v1/projects/neon-market/manifest.jsonl", headers=bearer(members["editor"])
    )
    assert response.status_code == 200 and response.streaming
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 3
    assert {json.loads(line)["shot"] for line in lines} == {"opening-street"}
    producer = client.get(
        "/api/v1/projects/neon-market/manifest.jsonl", headers=bearer(members["producer"])
    )
    assert producer.status_code == 403  # the web app's export capability


def _stream_peak(client, slug: str, headers: dict) -> tuple[int, int]:
    """(rows, peak traced bytes) while streaming the CSV, reading it chunk by chunk."""
    response = client.get(f"/api/v1/projects/{slug}/takes.csv", headers=headers)
    tracemalloc.start()
    try:
        lines = 0
        for chunk in response.streaming_content:
            lines += chunk.count(b"\n")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return lines - 1, peak


@pytest.mark.django_db
def test_the_csv_of_100k_takes_streams_in_flat_memory(client):
    owner = UserFactory(username="bench-owner@studio.test")
    headers = bearer(owner)
    make_project(slug="csv-10k", takes=10_000, owner=owner)
    rows_small, peak_small = _stream_peak(client, "csv-10k", headers)
    make_project(slug="csv-100k", takes=100_000, owner=owner)
    rows_big, peak_big = _stream_peak(client, "csv-100k", headers)
    assert (rows_small, rows_big) == (10_000, 100_000)
    assert Take.objects.filter(project__slug="csv-100k").count() == rows_big
    # Ten times the rows, about the same memory: one chunk of rows at a time. The whole CSV of
    # 100k takes is ~14 MB of text; the stream never holds more than a few MB of it.
    assert peak_big < 1.5 * peak_small, (peak_small, peak_big)
    assert peak_big < 8 * 1024 * 1024, peak_big
