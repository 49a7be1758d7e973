"""Response policies that hold for every page."""

from django.core.exceptions import PermissionDenied
from django.utils.cache import patch_cache_control

from .services.reviews import StaleReview
from .views.errors import error_response


def private_cache(get_response):
    """A logged-in user's pages (projects, dashboards, media) are theirs alone: a shared cache
    (a proxy, a CDN) must never keep them. Browsers may still cache what a view allows."""

    def middleware(request):
        response = get_response(request)
        if request.user.is_authenticated:
            patch_cache_control(response, private=True)
        return response

    return middleware


class ErrorPageMiddleware:
    """Expected refusals as pages of the app, without tracebacks in the log.

    A view that raises PermissionDenied (a role without the capability) or a conflict (a verdict
    on a take judged meanwhile) is answered here with the app's error page. Django's own path
    for PermissionDenied logs the exception with its traceback, as if it were a fault; answered
    here, the request logger writes its usual one line ("Forbidden: /path") and nothing more."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, PermissionDenied):
            return error_response(request, 403, _message(exception))
        if isinstance(exception, StaleReview):
            return error_response(request, 409, _message(exception))
        return None


def _message(exception) -> str:
    message = exception.args[0] if exception.args else ""
    return message if isinstance(message, str) else ""
