"""schemathesis against the API's own OpenAPI schema, in-process (WSGI), as a member with write
rights and as an outsider: whatever the generated bodies and queries, no 5xx, and every answer
is documented (status code, content type, body schema, headers). Examples are bounded so the
whole module takes a few seconds; raise DAILIES_SCHEMATHESIS_EXAMPLES for a longer hunt."""

import os

import pytest
import schemathesis
from django.core.files.base import ContentFile
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

from generations.api import api
from generations.models import FailureTag
from generations.services.reviews import review_record
from generations.services.tokens import api_token_create

from .factories import PromptVersionFactory, ShotFactory, TakeFactory

EXAMPLES = int(os.environ.get("DAILIES_SCHEMATHESIS_EXAMPLES", "8"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

# The examples and fuzzing phases, bounded; the coverage phase (hundreds of boundary cases per
# operation, whatever max_examples says) is left to a longer run.
CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(), config=CONFIG)
app = get_wsgi_application()


@pytest.fixture
def _keep_connection():
    """The WSGI handler closes the database connection after each request, as in production;
    the test's transaction lives on that connection (Django's test client does the same)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def world(project, members, outsider, settings, _keep_connection):
    settings.ALLOWED_HOSTS = ["*"]
    settings.DAILIES_API_RATE_PER_MINUTE = 0  # hypothesis sends many requests at once
    FailureTag.objects.get_or_create(slug="blur", defaults={"name": "blur"})
    shot = ShotFactory(project=project, name="opening-street")
    version = PromptVersionFactory(shot=shot, number=1)
    take = TakeFactory(prompt_version=version)
    take.media.save("x.mp4", ContentFile(b"\x00" * 32), save=True)
    judged = TakeFactory(prompt_version=version)
    review_record(take=judged, reviewer=members["lead"], verdict="accept")
    return {
        "ids": {
            "slug": project.slug,
            "shot_id": shot.pk,
            "version_id": version.pk,
            "take_id": take.pk,
            "dimension": "shots",
        },
        "member": api_token_create(user=members["owner"], name="st")[1],
        "outsider": api_token_create(user=outsider, name="st")[1],
    }


@pytest.mark.parametrize("who", ["member", "outsider"])
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_conforms_to_its_schema(case, who, world):
    # Real objects in the path, so the generated bodies and queries reach the views' code
    # (random ids would stop at 404); the outsider gets the same paths.
    for name in list(case.path_parameters or {}):
        case.path_parameters[name] = world["ids"][name]
    case.call_and_validate(
        app=app, headers={"Authorization": f"Bearer {world[who]}"}, checks=CHECKS
    )
