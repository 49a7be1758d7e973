"""The REST API under /api/v1/ (django-ninja): typed request and response schemas, the OpenAPI
3.1 schema at /api/v1/openapi.json generated from them, Swagger UI at /api/v1/docs served from
django-ninja's own static files. Views fetch objects through generations.access (one place for
the role rules) and write through the services."""

from csp.decorators import csp_update
from ninja import NinjaAPI

from . import errors
from .auth import PerTokenRate, TokenOrSession

api = NinjaAPI(
    title="Dailies API",
    version="1",
    description=(
        "Projects, shots, prompt versions, takes, reviews, notes, stats and exports. "
        "Authenticate with `Authorization: Bearer dly_…` (a personal token from "
        "/account/tokens/). A project you are not a member of, a missing or a bad token "
        "answer 404; a role (or read-only token) that cannot, 403; too many requests, 429 "
        "with Retry-After."
    ),
    urls_namespace="api-v1",
    auth=TokenOrSession(),
    throttle=PerTokenRate(),
    # Swagger UI draws its icons from data: URIs; the rest of the CSP holds on the docs page.
    docs_decorator=csp_update({"img-src": ["data:"]}),
)
errors.install(api)


def _routers():
    from . import (
        exports,
        projects,
        register,  # noqa: F401  (adds the POSTs of /takes to the takes router)
        stats,
        takes,
    )

    for module in (projects, takes, stats, exports):
        api.add_router("", module.router)


_routers()
