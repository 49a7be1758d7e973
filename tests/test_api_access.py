"""Every operation of the REST API × every role, through bearer tokens, checked against the role
matrix (the API's counterpart of tests/test_access.py; its guard covers the OpenAPI schema), and
what a token's scope takes away: other projects (404) and writes for a read-only token (403)."""

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from generations.api import api
from generations.models import Membership, Note, PromptVersion, Review, Shot, Take
from generations.models.projects import OWNER_CAPABILITIES, ROLE_CAPABILITIES, Role
from generations.services.tokens import api_token_create

from .clips import mp4_upload
from .conftest import (
    make_members,
    make_outsider,
    make_owner,
    make_project,
    module_rows_made,
    per_test_copy,
)
from .test_access import make_world

ROLES = ["owner", "lead", "editor", "producer", "viewer"]


@dataclass
class Op:
    method: str
    path: str  # OpenAPI path, {slug}, {shot_id}, {version_id}, {take_id}, {dimension}
    capability: str | None  # None: any authenticated user (not project-scoped)
    body: Any = None  # World -> JSON body
    effect: Any = None  # World -> a value a successful write changes
    success: int = 200
    multipart: bool = False

    def url(self, ids: dict) -> str:
        return self.path.format(**ids)


OPS = [
    Op("GET", "/api/v1/projects", None),
    Op("GET", "/api/v1/projects/{slug}", "view"),
    Op("GET", "/api/v1/projects/{slug}/shots", "view"),
    Op(
        "POST",
        "/api/v1/projects/{slug}/shots",
        "write_prompts",
        body=lambda w: {"name": "closing rooftop"},
        effect=lambda w: Shot.objects.filter(project=w.project).count(),
        success=201,
    ),
    Op("GET", "/api/v1/projects/{slug}/shots/{shot_id}", "view"),
    Op("GET", "/api/v1/projects/{slug}/shots/{shot_id}/versions", "view"),
    Op(
        "POST",
        "/api/v1/projects/{slug}/shots/{shot_id}/versions",
        "write_prompts",
        body=lambda w: {"text": "a rooftop at dusk", "parent_id": w.version.pk},
        effect=lambda w: PromptVersion.objects.filter(shot=w.shot).count(),
        success=201,
    ),
    Op("GET", "/api/v1/projects/{slug}/versions/{version_id}", "view"),
    Op(
        "POST",
        "/api/v1/projects/{slug}/versions/{version_id}/iterate",
        "write_prompts",
        body=lambda w: {"change_note": "same again"},
        effect=lambda w: PromptVersion.objects.filter(shot=w.shot).count(),
        success=201,
    ),
    Op("GET", "/api/v1/projects/{slug}/takes", "view"),
    Op(
        "POST",
        "/api/v1/projects/{slug}/takes",
        "upload",
        body=lambda w: {"version_id": w.version.pk, "model": "sora-2", "file": mp4_upload()},
        effect=lambda w: Take.objects.filter(project=w.project).count(),
        success=201,
        multipart=True,
    ),
    Op(
        "POST",
        "/api/v1/projects/{slug}/takes/from-url",
        "upload",
        body=lambda w: {
            "version_id": w.version.pk,
            "model": "veo-3",
            "media_url": "http://127.0.0.1:9/take.mp4",  # refused unless private URLs allowed
        },
        effect=lambda w: Take.objects.filter(project=w.project).count(),
        success=201,
    ),
    Op("GET", "/api/v1/projects/{slug}/takes/{take_id}", "view"),
    Op("GET", "/api/v1/projects/{slug}/takes/{take_id}/reviews", "view"),
    Op(
        "POST",
        "/api/v1/projects/{slug}/takes/{take_id}/reviews",
        "review",
        body=lambda w: {"verdict": "accept"},
        effect=lambda w: Review.objects.filter(take=w.take).count(),
        success=201,
    ),
    Op("GET", "/api/v1/projects/{slug}/takes/{take_id}/notes", "view"),
    Op(
        "POST",
        "/api/v1/projects/{slug}/takes/{take_id}/notes",
        "tag",
        body=lambda w: {"seconds": 1.5, "text": "hand melts here"},
        effect=lambda w: Note.objects.filter(take=w.take).count(),
        success=201,
    ),
    Op("GET", "/api/v1/projects/{slug}/stats", "view"),
    Op("GET", "/api/v1/projects/{slug}/takes.csv", "view"),
    Op("GET", "/api/v1/projects/{slug}/manifest.jsonl", "export"),
    Op("GET", "/api/v1/projects/{slug}/stats/{dimension}", "view"),
]
BY_KEY = {(op.method, op.path): op for op in OPS}


def capabilities(role: str) -> frozenset[str]:
    return OWNER_CAPABILITIES if role == "owner" else ROLE_CAPABILITIES[Role(role)]


# The project, its members, the outsider and the world are made once for the module (the tests
# only read them or change them inside their own savepoint: see module_db in conftest.py); each
# test gets its own copy of them, exactly as a per-test fixture would hand them over.


@pytest.fixture(scope="module")
def module_rows(module_db):
    project = make_project()
    members = make_members(project, make_owner(project))
    outsider = make_outsider()
    viewer = Membership.objects.get(project=project, user=members["viewer"])
    world = make_world(project, viewer_membership=viewer)
    module_rows_made()
    return {"members": members, "outsider": outsider, "world": world}


@pytest.fixture(autouse=True)
def _module_media(_fast_and_isolated, settings, module_db):
    settings.MEDIA_ROOT = module_db  # where the world's media files were saved


@pytest.fixture
def rows(db, module_rows):
    return per_test_copy(module_rows)


@pytest.fixture
def world(rows, settings):
    settings.DAILIES_ALLOW_PRIVATE_URLS = True  # the from-url row registers a 127.0.0.1 URL
    return rows["world"]


@pytest.fixture
def project(world):
    return world.project


@pytest.fixture
def members(rows):
    return rows["members"]


@pytest.fixture
def owner(members):
    return members["owner"]


@pytest.fixture
def outsider(rows):
    return rows["outsider"]


def ids_of(world) -> dict:
    return {
        "slug": world.project.slug,
        "shot_id": world.shot.pk,
        "version_id": world.version.pk,
        "take_id": world.take.pk,
        "dimension": "shots",
    }


def call(op: Op, world, secret: str | None, ids: dict | None = None):
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    url = op.url(ids or ids_of(world))
    if op.method == "GET":
        return Client().get(url, headers=headers)
    if op.multipart:
        return Client().post(url, op.body(world), headers=headers)
    return Client().post(url, op.body(world), content_type="application/json", headers=headers)


def test_the_table_covers_every_operation_of_the_schema():
    schema = api.get_openapi_schema()
    operations = {(m.upper(), path) for path, item in schema["paths"].items() for m in item}
    assert operations == set(BY_KEY)


@pytest.mark.parametrize("role", [*ROLES, "outsider", "no token", "bad token"])
@pytest.mark.parametrize("key", list(BY_KEY), ids=lambda k: f"{k[0]} {k[1]}")
def test_it_enforces_the_role_matrix(key, role, world, members, outsider):
    op = BY_KEY[key]
    secret = None
    if role == "outsider":
        secret = api_token_create(user=outsider, name="t")[1]
    elif role == "bad token":
        secret = "dly_" + "x" * 43
    elif role != "no token":
        secret = api_token_create(user=members[role], name="t")[1]
    before = op.effect(world) if op.effect else None

    response = call(op, world, secret)

    if role in ("no token", "bad token"):
        expected = 404
    elif role == "outsider":
        expected = op.success if op.capability is None else 404
    elif op.capability is None or op.capability in capabilities(role):
        expected = op.success
    else:
        expected = 403
    assert response.status_code == expected, getattr(response, "content", b"")[:300]
    if expected >= 400:
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["message"]
    if before is not None:
        assert (op.effect(world) != before) is (expected == op.success)


@pytest.mark.parametrize("key", list(BY_KEY), ids=lambda k: f"{k[0]} {k[1]}")
def test_a_token_limited_to_another_project_sees_nothing_here(key, world, members, outsider):
    """The owner's token, limited to a second project of theirs, answers 404 here (as if the
    project did not exist) and works on the project it names."""
    op = BY_KEY[key]
    owner = members["owner"]
    other = Membership.objects.get(user=outsider).project
    Membership.objects.create(project=other, user=owner, role=Role.LEAD, is_owner=True)
    _token, secret = api_token_create(user=owner, name="other only", projects=[other])
    before = op.effect(world) if op.effect else None
    response = call(op, world, secret)
    if op.capability is None:
        assert response.status_code == 200
        assert [p["slug"] for p in response.json()] == ["elsewhere"]
    else:
        assert response.status_code == 404
    if before is not None:
        assert op.effect(world) == before
    here = call(BY_KEY[("GET", "/api/v1/projects/{slug}")], world, secret, {"slug": "elsewhere"})
    assert here.status_code == 200


@pytest.mark.parametrize("key", list(BY_KEY), ids=lambda k: f"{k[0]} {k[1]}")
def test_a_read_only_token_reads_but_never_writes(key, world, members):
    op = BY_KEY[key]
    _token, secret = api_token_create(user=members["owner"], name="ro", read_only=True)
    before = op.effect(world) if op.effect else None
    response = call(op, world, secret)
    if op.method == "GET":
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert "read-only" in response.json()["message"]
        assert op.effect(world) == before


def test_a_read_only_token_reports_its_narrower_capabilities(world, members):
    _token, secret = api_token_create(user=members["owner"], name="ro", read_only=True)
    detail = call(BY_KEY[("GET", "/api/v1/projects/{slug}")], world, secret).json()
    assert detail["capabilities"] == ["export", "view"]


def test_a_token_cannot_be_limited_to_a_project_its_user_is_not_in(members, outsider):
    from generations.services.projects import ServiceError

    other = Membership.objects.get(user=outsider).project
    with pytest.raises(ServiceError):
        api_token_create(user=members["viewer"], name="sneaky", projects=[other])


def test_writes_through_a_session_need_the_csrf_token(world, members):
    client = Client(enforce_csrf_checks=True)
    client.force_login(members["owner"])
    op = BY_KEY[("POST", "/api/v1/projects/{slug}/shots")]
    response = client.post(op.url(ids_of(world)), op.body(world), content_type="application/json")
    assert response.status_code == 403 and "CSRF" in response.json()["message"]
    token = client.get(f"/projects/{world.project.slug}/").cookies["csrftoken"].value
    response = client.post(
        op.url(ids_of(world)),
        op.body(world),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 201
