"""JSON API. Authenticated by the session or by `Authorization: Bearer <token>`; a bad token or
a project the user is not a member of answers 404, like every other project URL."""

from django.http import Http404, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ..access import get_project
from ..selectors.stats import project_stats
from ..services.tokens import api_token_authenticate


def _authenticate(request) -> None:
    header = request.headers.get("Authorization", "")
    if not header:
        return  # session
    scheme, _, secret = header.partition(" ")
    user = api_token_authenticate(secret=secret.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        raise Http404("No such project")
    request.user = user


@require_GET
@never_cache
def project_stats_api(request, slug):
    _authenticate(request)
    access = get_project(request, slug, "view")
    return JsonResponse(project_stats(project=access.project), json_dumps_params={"indent": 1})
