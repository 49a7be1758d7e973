"""The REST API's resources through the Django test client with bearer tokens: projects, shots,
prompt versions, the take listing (filters, cursor), reviews and notes, and the error shape."""

import datetime as dt
import json

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext

from generations.drawing import MAX_POINTS, MAX_STROKES
from generations.forms import NoteForm
from generations.models import FailureTag, Note, PromptVersion, Review, Shot
from generations.services.reviews import review_record
from generations.services.tokens import api_token_create

from .factories import PromptVersionFactory, TakeFactory

API = "/api/v1"


@pytest.fixture(autouse=True)
def _taxonomy(db):
    for i, slug in enumerate(("flicker", "warping", "blur")):
        FailureTag.objects.get_or_create(slug=slug, defaults={"name": slug, "position": i})


def bearer(user, **scope) -> dict:
    _token, secret = api_token_create(user=user, name="test", **scope)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def lead_auth(members):
    return bearer(members["lead"])


def test_it_lists_only_the_callers_projects_with_their_role(client, members, outsider, project):
    response = client.get(f"{API}/projects", headers=bearer(members["editor"]))
    assert response.status_code == 200
    [only] = response.json()
    assert only["slug"] == "neon-market" and only["role"] == "editor"
    assert "review" in only["capabilities"] and "write_prompts" not in only["capabilities"]
    slugs = [p["slug"] for p in client.get(f"{API}/projects", headers=bearer(outsider)).json()]
    assert slugs == ["elsewhere"]


def test_shots_and_versions_iterate_from_a_parent(client, project, lead_auth):
    response = client.post(
        f"{API}/projects/neon-market/shots",
        {"name": "night-alley", "description": "rain"},
        content_type="application/json",
        headers=lead_auth,
    )
    assert response.status_code == 201, response.content
    shot_id = response.json()["id"]
    v1 = client.post(
        f"{API}/projects/neon-market/shots/{shot_id}/versions",
        {"text": "a wet alley at night", "parameters": {"camera": "dolly"}},
        content_type="application/json",
        headers=lead_auth,
    ).json()
    assert v1["number"] == 1 and v1["parent_id"] is None
    v2 = client.post(
        f"{API}/projects/neon-market/versions/{v1['id']}/iterate",
        {"text": "a wet alley at night, neon signs", "change_note": "more neon"},
        content_type="application/json",
        headers=lead_auth,
    )
    assert v2.status_code == 201
    v2 = v2.json()
    assert (v2["number"], v2["parent_id"], v2["label"]) == (2, v1["id"], "v2")
    assert v2["parameters"] == {"camera": "dolly"}  # copied from the parent
    listed = client.get(
        f"{API}/projects/neon-market/shots/{shot_id}/versions", headers=lead_auth
    ).json()
    assert [v["number"] for v in listed] == [1, 2]
    assert PromptVersion.objects.get(pk=v2["id"]).author.username == "lead@studio.test"


def test_bad_input_answers_json_with_per_field_errors(client, project, lead_auth):
    response = client.post(
        f"{API}/projects/neon-market/shots",
        {"name": "two\nlines", "target_duration_s": -1},
        content_type="application/json",
        headers=lead_auth,
    )
    assert response.status_code == 400
    body = response.json()
    assert body["message"]
    assert set(body["errors"]) == {"name", "target_duration_s"}
    assert "line break" in body["errors"]["name"][0]
    assert not Shot.objects.filter(project=project).exists()


def test_a_shot_name_taken_is_refused_by_field(client, shot, lead_auth):
    response = client.post(
        f"{API}/projects/neon-market/shots",
        {"name": shot.name},
        content_type="application/json",
        headers=lead_auth,
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["name"]


def test_a_role_that_cannot_gets_403_and_an_outsider_404(client, members, outsider, shot):
    url = f"{API}/projects/neon-market/shots/{shot.pk}/versions"
    data = {"text": "a prompt"}
    editor = client.post(
        url, data, content_type="application/json", headers=bearer(members["editor"])
    )
    assert editor.status_code == 403 and editor.json()["message"]
    stranger = client.post(url, data, content_type="application/json", headers=bearer(outsider))
    assert stranger.status_code == 404
    assert not PromptVersion.objects.filter(shot=shot).exists()


@pytest.fixture
def listed(project, shot, owner):
    """Nine takes over two versions, three models, created an hour apart; three judged."""
    v1 = PromptVersionFactory(shot=shot, number=1)
    v2 = PromptVersionFactory(shot=shot, number=2)
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    takes = []
    for i in range(9):
        takes.append(
            TakeFactory(
                prompt_version=v1 if i < 5 else v2,
                model=("sora-2", "veo-3", "kling-2")[i % 3],
                created_at=start + dt.timedelta(hours=i),
                external_id=f"gen-{i}",
            )
        )
    blur, flicker = FailureTag.objects.get(slug="blur"), FailureTag.objects.get(slug="flicker")
    review_record(take=takes[1], reviewer=owner, verdict="reject", tags=[blur, flicker])
    review_record(take=takes[4], reviewer=owner, verdict="accept")
    review_record(take=takes[7], reviewer=owner, verdict="reject", tags=[flicker])
    return takes


def test_the_listing_pages_oldest_first_with_a_cursor(client, listed, lead_auth):
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{API}/projects/neon-market/takes", query, headers=lead_auth).json()
        seen += [t["external_id"] for t in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"gen-{i}" for i in range(9)]
    assert pages == 3


def test_the_listing_takes_the_queue_filters(client, listed, lead_auth, shot):
    def ids(**query):
        page = client.get(f"{API}/projects/neon-market/takes", query, headers=lead_auth).json()
        return [t["external_id"] for t in page["items"]]

    assert ids(verdict="reject") == ["gen-1", "gen-7"]
    assert ids(verdict="accept") == ["gen-4"]
    assert ids(verdict="unreviewed") == ["gen-0", "gen-2", "gen-3", "gen-5", "gen-6", "gen-8"]
    assert ids(tag="blur") == ["gen-1"]
    assert ids(model="veo-3") == ["gen-1", "gen-4", "gen-7"]
    assert ids(version=listed[5].prompt_version_id) == ["gen-5", "gen-6", "gen-7", "gen-8"]
    assert ids(model="veo-3", verdict="reject", limit=1) == ["gen-1"]
    take = client.get(f"{API}/projects/neon-market/takes", {"tag": "flicker"}, headers=lead_auth)
    first = take.json()["items"][0]
    assert first["verdict"] == "reject" and first["tags"] == ["flicker", "blur"]


def test_a_forged_cursor_is_a_field_error(client, listed, lead_auth):
    response = client.get(
        f"{API}/projects/neon-market/takes", {"cursor": "not-a-cursor"}, headers=lead_auth
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["cursor"]


def test_the_listing_runs_the_same_queries_at_any_size(client, project, shot, lead_auth):
    version = PromptVersionFactory(shot=shot, number=1)

    def count(n):
        TakeFactory.create_batch(n, prompt_version=version)
        client.get(f"{API}/projects", headers=lead_auth)  # the token's first use writes last_used
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{API}/projects/neon-market/takes", headers=lead_auth)
        assert response.status_code == 200
        return len(queries)

    assert count(3) == count(60)


def test_a_verdict_with_tags_and_notes_goes_through_the_service(client, listed, members):
    take = listed[0]
    url = f"{API}/projects/neon-market/takes/{take.pk}/reviews"
    response = client.post(
        url,
        {
            "verdict": "reject",
            "tags": ["warping", "blur"],
            "comment": "the hand melts",
            "notes": [{"seconds": 1.5, "text": "melts here", "tag": "warping"}],
            "seen_review": None,
        },
        content_type="application/json",
        headers=bearer(members["editor"]),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["verdict"] == "reject" and sorted(body["tags"]) == ["blur", "warping"]
    take.refresh_from_db()
    assert take.current_verdict == "reject" and take.current_review_id == body["id"]
    note = Note.objects.get(take=take)
    assert (note.frame, note.tag.slug, note.review_id) == (36, "warping", body["id"])
    history = client.get(url, headers=bearer(members["viewer"])).json()
    assert [r["id"] for r in history] == [body["id"]]


def test_a_stale_verdict_is_refused_with_409(client, listed, members):
    take = listed[1]  # judged already
    response = client.post(
        f"{API}/projects/neon-market/takes/{take.pk}/reviews",
        {"verdict": "accept", "seen_review": None},
        content_type="application/json",
        headers=bearer(members["lead"]),
    )
    assert response.status_code == 409
    assert Review.objects.filter(take=take).count() == 1


def test_an_unknown_tag_loses_nothing(client, listed, lead_auth):
    take = listed[0]
    response = client.post(
        f"{API}/projects/neon-market/takes/{take.pk}/reviews",
        {"verdict": "reject", "tags": ["blur", "no-such-tag"]},
        content_type="application/json",
        headers=lead_auth,
    )
    assert response.status_code == 400
    assert "no-such-tag" in response.json()["errors"]["tags"][0]
    assert not Review.objects.filter(take=take).exists()


def test_notes_are_added_and_listed(client, listed, lead_auth):
    take = listed[2]
    url = f"{API}/projects/neon-market/takes/{take.pk}/notes"
    response = client.post(
        url, {"seconds": 2, "text": "pop"}, content_type="application/json", headers=lead_auth
    )
    assert response.status_code == 201
    past_end = client.post(
        url, {"seconds": 99, "text": "late"}, content_type="application/json", headers=lead_auth
    )
    assert past_end.status_code == 400 and "past the end" in past_end.json()["message"]
    assert [n["text"] for n in client.get(url, headers=lead_auth).json()] == ["pop"]


def test_a_note_carries_a_drawing_checked_as_the_web_form_checks_it(client, listed, lead_auth):
    take = listed[2]
    url = f"{API}/projects/neon-market/takes/{take.pk}/notes"
    line = {"kind": "line", "points": [[0.1, 0.2], [0.123456, 0.3]]}
    arrow = {"kind": "arrow", "points": [[0.9, 0.1], [0.6, 0.4]]}

    def post(drawing):
        body = {"seconds": 1, "text": "arm bends", "drawing": drawing}
        return client.post(url, body, content_type="application/json", headers=lead_auth)

    response = post([line, arrow])
    assert response.status_code == 201, response.content
    stored = [{"kind": "line", "points": [[0.1, 0.2], [0.1235, 0.3]]}, arrow]  # rounded
    assert response.json()["drawing"] == stored
    assert Note.objects.get(pk=response.json()["id"]).drawing == stored
    assert [n["drawing"] for n in client.get(url, headers=lead_auth).json()] == [stored]
    assert post(None).json()["drawing"] == [] and post([]).json()["drawing"] == []

    # Refused with the web form's own reasons, the size cap included: 20 strokes of 200
    # points are allowed, but not in 100,000 characters of JSON.
    long = [{"kind": "line", "points": [[0.123456789, 0.987654321]] * MAX_POINTS}] * MAX_STROKES
    refused = [
        [{"kind": "circle", "points": [[0, 0], [1, 1]]}],
        [{"kind": "line", "points": [[0, 0], [1.2, 0.5]]}],
        [{"kind": "arrow", "points": [[0, 0], [0.5, 0.5], [1, 1]]}],
        [line] * (MAX_STROKES + 1),
        long,
    ]
    for drawing in refused:
        form = NoteForm({"seconds": "1", "text": "x", "drawing": json.dumps(drawing)})
        assert not form.is_valid()
        response = post(drawing)
        assert response.status_code == 400, drawing
        assert form.errors["drawing"][0] in response.json()["errors"]["drawing"][0]
    assert Note.objects.filter(take=take).count() == 3

    # A verdict's notes take a drawing too.
    response = client.post(
        f"{API}/projects/neon-market/takes/{take.pk}/reviews",
        {"verdict": "reject", "notes": [{"seconds": 0.5, "text": "pops", "drawing": [arrow]}]},
        content_type="application/json",
        headers=lead_auth,
    )
    assert response.status_code == 201, response.content
    assert Note.objects.get(review_id=response.json()["id"]).drawing == [arrow]


def test_a_take_of_another_project_is_404(client, listed, outsider, members):
    take = listed[0]
    for headers in (bearer(outsider), {}):
        response = client.get(f"{API}/projects/neon-market/takes/{take.pk}", headers=headers)
        assert response.status_code == 404
    own = client.get(
        f"{API}/projects/neon-market/takes/{take.pk}", headers=bearer(members["viewer"])
    )
    assert own.status_code == 200 and own.json()["external_id"] == "gen-0"


def test_the_docs_are_served_without_a_cdn(client):
    page = client.get(f"{API}/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    # Shipped in django-ninja's wheel; collectstatic copies them beside ours.
    for asset in ("swagger-ui-bundle.js", "swagger-ui-init.js", "swagger-ui.css"):
        assert finders.find(f"ninja/{asset}")
    assert "<script>" not in html  # settings travel as JSON data; CSP script-src 'self' holds
    policy = page["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "img-src 'self' data:" in policy
    assert 'data-api-csrf="true"' in html  # "Try it out" sends the CSRF token
    schema = client.get(f"{API}/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert "/api/v1/projects/{slug}/takes" in schema["paths"]
