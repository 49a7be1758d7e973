"""Every URL of a project × every role × GET/POST, checked against the role matrix.

The URL table below names the capability each URL needs per method (None: the method is not
allowed there). Which role holds which capability comes from ROLE_CAPABILITIES, the contract.
"""

import json
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, reverse
from django.utils import timezone
from django.utils.timezone import now

from generations import urls as project_urls
from generations.models import (
    BatchStatus,
    GenerationBatch,
    GenerationJob,
    GenerationStatus,
    ManifestImport,
    Membership,
    ModelPrice,
    Note,
    Project,
    PromptVersion,
    Review,
    Role,
    Shot,
    Take,
    WebhookDelivery,
    WebhookEndpoint,
)
from generations.models.projects import OWNER_CAPABILITIES, ROLE_CAPABILITIES
from generations.services.reviews import review_record
from generations.services.webhooks.delivery import new_secret

from .clips import mp4_upload
from .conftest import (
    make_members,
    make_outsider,
    make_owner,
    make_project,
    module_rows_made,
    per_test_copy,
)
from .factories import PromptVersionFactory, ShotFactory, TakeFactory, UserFactory

MEMBER_ROLES = ["owner", "lead", "editor", "producer", "viewer"]
ALL_ROLES = [*MEMBER_ROLES, "outsider", "anonymous"]


def capabilities(role: str) -> frozenset[str]:
    return OWNER_CAPABILITIES if role == "owner" else ROLE_CAPABILITIES[Role(role)]


@dataclass
class World:
    """The objects of one project, addressed by the URL kwargs."""

    project: Project
    shot: Shot
    version: PromptVersion
    take: Take
    membership: Membership  # the viewer's: the target of member_update
    endpoint: WebhookEndpoint
    delivery: WebhookDelivery
    batch: GenerationBatch  # a generation batch awaiting approval
    job: GenerationJob  # its one job
    manifest_import: ManifestImport | None = None

    @property
    def batch_status(self) -> str:
        return GenerationBatch.objects.get(pk=self.batch.pk).status

    @property
    def job_status(self) -> str:
        return GenerationJob.objects.get(pk=self.job.pk).status

    @property
    def ids(self) -> dict[str, Any]:
        return {
            "slug": self.project.slug,
            "shot_id": self.shot.pk,
            "version_id": self.version.pk,
            "take_id": self.take.pk,
            "membership_id": self.membership.pk,
            "endpoint_id": self.endpoint.pk,
            "delivery_id": self.delivery.pk,
            "batch_id": self.batch.pk,
            "job_id": self.job.pk,
            "import_id": self.manifest_import.pk if self.manifest_import else 0,
            "kind": "video",
            "dimension": "shots",
        }


@dataclass
class Endpoint:
    name: str
    kwargs: tuple[str, ...]
    get: str | None  # capability needed for GET, None = 405
    post: str | None  # capability needed for POST, None = 405
    payload: Any = None  # World -> POST data that succeeds for a role that may
    effect: Any = None  # World -> a value that a successful POST changes
    setup: Any = None  # (World, user) -> None: state the POST needs, made before it
    extra: dict = field(default_factory=dict)

    def url(self, ids: dict[str, Any]) -> str:
        return reverse(self.name, kwargs={k: ids[k] for k in self.kwargs})

    def allows(self, method: str) -> bool:
        return (self.get if method == "GET" else self.post) is not None


ENDPOINTS = [
    Endpoint("project_detail", ("slug",), get="view", post=None),
    Endpoint("stats_table", ("slug", "dimension"), get="view", post=None),
    Endpoint(
        "member_list",
        ("slug",),
        get="view",
        post="members",
        payload=lambda w: {"email": "new.person@studio.test", "role": "editor"},
        effect=lambda w: Membership.objects.filter(project=w.project).count(),
    ),
    Endpoint(
        "member_update",
        ("slug", "membership_id"),
        get=None,
        post="members",
        payload=lambda w: {"role": "producer"},
        effect=lambda w: Membership.objects.get(pk=w.membership.pk).role,
    ),
    Endpoint(
        "budget_edit",
        ("slug",),
        get="view",
        post="budget",
        payload=lambda w: {"budget_usd": "4321.50"},
        effect=lambda w: Project.objects.get(pk=w.project.pk).budget_usd,
    ),
    Endpoint(
        "shot_create",
        ("slug",),
        get=None,
        post="write_prompts",
        payload=lambda w: {"name": "closing rooftop"},
        effect=lambda w: Shot.objects.filter(project=w.project).count(),
    ),
    Endpoint("shot_detail", ("slug", "shot_id"), get="view", post=None),
    Endpoint(
        "version_create",
        ("slug", "shot_id"),
        get="write_prompts",
        post="write_prompts",
        payload=lambda w: {"text": "a rooftop at dusk, slow crane up"},
        effect=lambda w: PromptVersion.objects.filter(shot=w.shot).count(),
    ),
    Endpoint("version_detail", ("slug", "version_id"), get="view", post=None),
    Endpoint(
        "take_upload",
        ("slug", "version_id"),
        get="upload",
        post="upload",
        payload=lambda w: {"files": mp4_upload("street.mp4"), "model": "sora-2"},
        effect=lambda w: Take.objects.filter(project=w.project).count(),
    ),
    Endpoint("take_detail", ("slug", "take_id"), get="view", post=None),
    Endpoint(
        "review_verdict",
        ("slug", "take_id"),
        get=None,
        post="review",
        payload=lambda w: {"verdict": "reject", "tags": ["blur"]},
        effect=lambda w: Review.objects.filter(take=w.take).count(),
    ),
    Endpoint(
        "review_undo",
        ("slug", "take_id"),
        get=None,
        post="review",
        effect=lambda w: Review.objects.filter(take=w.take).count(),
        # Only your own verdict can be undone: the user gives one first.
        setup=lambda w, user: review_record(take=w.take, reviewer=user, verdict="accept"),
    ),
    Endpoint(
        "review_note",
        ("slug", "take_id"),
        get=None,
        post="tag",
        payload=lambda w: {"seconds": "1.5", "text": "hand melts here"},
        effect=lambda w: Note.objects.filter(take=w.take).count(),
    ),
    Endpoint("take_media", ("slug", "take_id", "kind"), get="view", post=None),
    Endpoint(
        "generation_new",
        ("slug", "version_id"),
        get="generate",
        post="generate",
        payload=lambda w: {
            "model": "runway|gen4.5",
            "count": "2",
            "duration_s": "5",
            "aspect": "16:9",
            "seed_mode": "random",
        },
        effect=lambda w: GenerationJob.objects.filter(project=w.project).count(),
    ),
    Endpoint("generation_estimate", ("slug", "version_id"), get="generate", post=None),
    Endpoint("version_takes", ("slug", "version_id"), get="view", post=None),
    Endpoint("generation_batches", ("slug",), get="view", post=None),
    Endpoint(
        "generation_batch_approve",
        ("slug", "batch_id"),
        get=None,
        post="budget",
        effect=lambda w: w.batch_status,
    ),
    Endpoint(
        "generation_batch_reject",
        ("slug", "batch_id"),
        get=None,
        post="budget",
        effect=lambda w: w.batch_status,
    ),
    Endpoint(
        "generation_batch_cancel",
        ("slug", "batch_id"),
        get=None,
        post="generate",
        effect=lambda w: w.job_status,
    ),
    Endpoint(
        "generation_job_cancel",
        ("slug", "job_id"),
        get=None,
        post="generate",
        effect=lambda w: w.job_status,
    ),
    Endpoint("manifest_export", ("slug",), get="export", post=None),
    Endpoint("selects_export", ("slug",), get="export", post=None),
    Endpoint("selects_media", ("slug",), get="export", post=None),
    Endpoint(
        "prompt_library",
        ("slug",),
        get="view",
        post="write_prompts",
        payload=lambda w: {"library": library_zip()},
        effect=lambda w: PromptVersion.objects.filter(shot__project=w.project).count(),
    ),
    Endpoint("prompt_library_download", ("slug",), get="view", post=None),
    Endpoint(
        "webhook_list",
        ("slug",),
        get="webhooks",
        post="webhooks",
        payload=lambda w: {"url": "http://127.0.0.1:9/new", "event_types": ["take.ready"]},
        effect=lambda w: WebhookEndpoint.objects.filter(project=w.project).count(),
    ),
    Endpoint(
        "webhook_detail",
        ("slug", "endpoint_id"),
        get="webhooks",
        post="webhooks",
        payload=lambda w: {
            "url": "http://127.0.0.1:9/edited",
            "event_types": ["review.recorded"],
            "is_active": "on",
        },
        effect=lambda w: WebhookEndpoint.objects.get(pk=w.endpoint.pk).url,
    ),
    Endpoint(
        "webhook_test",
        ("slug", "endpoint_id"),
        get=None,
        post="webhooks",
        payload=lambda w: {},
        effect=lambda w: WebhookDelivery.objects.filter(endpoint=w.endpoint).count(),
    ),
    Endpoint(
        "webhook_rotate_secret",
        ("slug", "endpoint_id"),
        get=None,
        post="webhooks",
        payload=lambda w: {},
        effect=lambda w: WebhookEndpoint.objects.get(pk=w.endpoint.pk).secret,
    ),
    Endpoint(
        "webhook_delete",
        ("slug", "endpoint_id"),
        get=None,
        post="webhooks",
        payload=lambda w: {"confirm": "on"},
        effect=lambda w: WebhookEndpoint.objects.filter(pk=w.endpoint.pk).exists(),
    ),
    Endpoint(
        "webhook_redeliver",
        ("slug", "delivery_id"),
        get=None,
        post="webhooks",
        payload=lambda w: {},
        effect=lambda w: WebhookDelivery.objects.filter(endpoint=w.endpoint).count(),
    ),
    Endpoint(
        "manifest_import_create",
        ("slug",),
        get=None,
        post="import",
        payload=lambda w: {"file": manifest_upload(w.project.slug)},
        effect=lambda w: ManifestImport.objects.filter(project=w.project).count(),
    ),
    Endpoint("manifest_import_detail", ("slug", "import_id"), get="import", post=None),
    Endpoint("manifest_import_errors", ("slug", "import_id"), get="import", post=None),
]
BY_NAME = {e.name: e for e in ENDPOINTS}
POST_ENDPOINTS = [e for e in ENDPOINTS if e.post]
ALLOWED = [(e.name, m) for e in ENDPOINTS for m in ("GET", "POST") if e.allows(m)]
OBJECT_ALLOWED = [
    (n, m) for n, m in ALLOWED if set(BY_NAME[n].kwargs) - {"slug", "kind", "dimension"}
]


def library_zip():
    """A prompt library ZIP holding one new shot with one version."""
    from generations.prompt_files import zip_bytes

    text = "dailies_prompt_library: 1\nshot: rooftop\nversions:\n- text: a rooftop at dusk\n"
    return SimpleUploadedFile("library.zip", zip_bytes({"rooftop.yaml": text}))


def make_world(project, *, viewer_membership) -> World:
    shot = ShotFactory(project=project)
    version = PromptVersionFactory(shot=shot, number=1)
    take = TakeFactory(prompt_version=version)
    take.media.save("x.mp4", ContentFile(b"\x00" * 64 + b"not really a video"), save=True)
    # A select, so the selects export has something to send (it answers 400 on none).
    select = TakeFactory(prompt_version=version, current_verdict="accept")
    # With stored media, so the selects media ZIP has something to send (400 on none).
    select.media.save("s.mp4", ContentFile(b"\x00" * 16), save=True)
    endpoint = WebhookEndpoint.objects.create(
        project=project,
        url="http://127.0.0.1:9/hook",
        event_types=["take.ready"],
        secret=new_secret(),
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event="take.ready", message_id="msg_x", body="{}", next_attempt_at=now()
    )
    # Generation: a priced model, and a batch waiting for a producer with one job.
    ModelPrice.objects.create(
        project=project,
        model="gen4.5",
        usd_per_second=Decimal("0.12"),
        valid_from=timezone.now() - timedelta(days=1),
    )
    batch = GenerationBatch.objects.create(
        project=project,
        prompt_version=version,
        provider="runway",
        model="gen4.5",
        duration_s=5,
        aspect="16:9",
        count=1,
        estimate_usd=Decimal("0.60"),
        price_usd_per_second=Decimal("0.12"),
        status=BatchStatus.AWAITING_APPROVAL,
    )
    job = GenerationJob.objects.create(
        batch=batch,
        project=project,
        prompt_version=version,
        provider="runway",
        model="gen4.5",
        status=GenerationStatus.WAITING,
        estimate_usd=Decimal("0.60"),
        request={},
    )
    manifest_import = ManifestImport.objects.create(project=project, original_filename="m.jsonl")
    return World(
        project,
        shot,
        version,
        take,
        viewer_membership,
        endpoint,
        delivery,
        batch,
        job,
        manifest_import,
    )


@pytest.fixture(autouse=True)
def _webhook_urls_on_loopback(settings):
    settings.DAILIES_ALLOW_PRIVATE_URLS = True  # the table's webhook URLs point at 127.0.0.1


@pytest.fixture(autouse=True)
def _a_configured_provider(settings):
    """Runway has a key (no call reaches it: these tests never run the worker)."""
    settings.DAILIES_PROVIDER_KEYS = {"runway": "test-key"}


def manifest_upload(slug: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    line = json.dumps({"project": slug, "shot": "s", "prompt_version": 1, "external_id": "x"})
    return SimpleUploadedFile("m.jsonl", line.encode() + b"\n", "application/jsonl")


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
def world(rows):
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


@pytest.fixture
def other_world(outsider):
    """A second project (the outsider's own), with objects of its own."""
    project = Project.objects.get(slug="elsewhere")
    viewer = UserFactory(username="elsewhere-viewer@studio.test")
    membership = Membership.objects.create(project=project, user=viewer, role=Role.VIEWER)
    return make_world(project, viewer_membership=membership)


def client_for(role, members, outsider) -> Client:
    client = Client()
    if role == "outsider":
        client.force_login(outsider)
    elif role != "anonymous":
        client.force_login(members[role])
    return client


def send(client, method, url, data=None):
    return client.get(url) if method == "GET" else client.post(url, data or {})


def test_the_table_covers_every_url_of_a_project():
    names = {
        p.name
        for p in project_urls.urlpatterns
        if isinstance(p, URLPattern) and "<slug:slug>" in str(p.pattern)
    }
    assert names == set(BY_NAME)


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("name", list(BY_NAME))
def test_it_enforces_the_role_matrix(name, role, method, world, members, outsider):
    endpoint = BY_NAME[name]
    url = endpoint.url(world.ids)
    client = client_for(role, members, outsider)
    if method == "POST" and endpoint.setup and role in members:
        endpoint.setup(world, members[role])
    data = endpoint.payload(world) if (method == "POST" and endpoint.payload) else None
    before = endpoint.effect(world) if (method == "POST" and endpoint.effect) else None

    response = send(client, method, url, data)

    if role == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login") + "?next=")
        expected_change = False
    elif not endpoint.allows(method):
        # Method not allowed is answered the same for a missing project: it leaks nothing.
        assert response.status_code == 405
        expected_change = False
    elif role == "outsider":
        assert response.status_code == 404
        expected_change = False
    else:
        needed = endpoint.get if method == "GET" else endpoint.post
        if needed in capabilities(role):
            assert response.status_code == (200 if method == "GET" else 302), response.content[:500]
            expected_change = True
        else:
            assert response.status_code == 403
            expected_change = False

    if before is not None:
        after = endpoint.effect(world)
        assert (after != before) is expected_change, (before, after)


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("name", list(BY_NAME))
def test_it_answers_an_outsider_like_a_missing_project(name, method, world, outsider):
    """An outsider learns nothing: same status as for a slug that does not exist."""
    endpoint = BY_NAME[name]
    client = client_for("outsider", {}, outsider)
    data = endpoint.payload(world) if method == "POST" and endpoint.payload else None
    real = send(client, method, endpoint.url(world.ids), data)
    data = endpoint.payload(world) if method == "POST" and endpoint.payload else None
    missing = send(client, method, endpoint.url({**world.ids, "slug": "no-such-project"}), data)
    assert real.status_code == missing.status_code
    assert real.status_code == (404 if endpoint.allows(method) else 405)


@pytest.mark.parametrize(("name", "method"), ALLOWED)
def test_it_404s_a_missing_project_for_a_member(name, method, world, members):
    endpoint = BY_NAME[name]
    client = client_for("owner", members, None)
    data = endpoint.payload(world) if method == "POST" and endpoint.payload else None
    response = send(client, method, endpoint.url({**world.ids, "slug": "no-such-project"}), data)
    assert response.status_code == 404


@pytest.mark.parametrize(("name", "method"), OBJECT_ALLOWED)
def test_it_checks_ownership_of_objects(name, method, world, other_world, members, outsider):
    """Objects of another project, addressed through a project the user is a member of: 404,
    both for this project's owner and for the outsider (owner of the other project)."""
    endpoint = BY_NAME[name]
    cases = [
        (members["owner"], world, other_world),  # A's slug, B's objects
        (outsider, other_world, world),  # B's slug, A's objects
    ]
    for user, home, foreign in cases:
        client = Client()
        client.force_login(user)
        ids = {**foreign.ids, "slug": home.project.slug}
        data = endpoint.payload(foreign) if method == "POST" and endpoint.payload else None
        before = endpoint.effect(foreign) if method == "POST" and endpoint.effect else None
        response = send(client, method, endpoint.url(ids), data)
        assert response.status_code == 404, (user, endpoint.url(ids))
        if before is not None:
            assert endpoint.effect(foreign) == before


def test_it_serves_the_real_bytes_of_a_take_to_a_viewer(world, members):
    client = client_for("viewer", members, None)
    response = client.get(BY_NAME["take_media"].url(world.ids), HTTP_RANGE="bytes=0-9")
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == b"\x00" * 10


def test_a_viewer_sees_no_write_controls(world, members):
    client = client_for("viewer", members, None)
    page = client.get(BY_NAME["take_detail"].url(world.ids)).content.decode()
    assert reverse("review_verdict", args=[world.project.slug, world.take.pk]) not in page
    assert reverse("review_note", args=[world.project.slug, world.take.pk]) not in page
    client = client_for("lead", members, None)
    page = client.get(BY_NAME["take_detail"].url(world.ids)).content.decode()
    assert reverse("review_verdict", args=[world.project.slug, world.take.pk]) in page


@pytest.mark.parametrize("name", [e.name for e in POST_ENDPOINTS] + ["project_create"])
def test_it_refuses_a_post_without_csrf_token(name, world, members):
    client = Client(enforce_csrf_checks=True)
    client.force_login(members["owner"])
    if name == "project_create":
        url, data = reverse("project_create"), {"name": "Sneaky"}
        effect = Project.objects.count
    else:
        endpoint = BY_NAME[name]
        if endpoint.setup:
            endpoint.setup(world, members["owner"])
        url, data = endpoint.url(world.ids), endpoint.payload(world) if endpoint.payload else {}
        effect = lambda: endpoint.effect(world)  # noqa: E731
    before = effect()
    response = client.post(url, data)
    assert response.status_code == 403
    assert b"CSRF" in response.content
    assert effect() == before


def test_the_same_post_with_the_csrf_token_goes_through(world, members):
    """The CSRF refusal above is about the token, not the request."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(members["owner"])
    page = client.get(reverse("project_detail", args=[world.project.slug]))
    token = page.cookies["csrftoken"].value
    response = client.post(
        reverse("budget_edit", args=[world.project.slug]),
        {"budget_usd": "77.00", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert Project.objects.get(pk=world.project.pk).budget_usd == Decimal("77.00")
