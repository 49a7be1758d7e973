"""Error pages that are pages of the app: its header, what went wrong and what to do about it.

Django's handlers render 404 and 500 through these (studio/urls.py, CSRF_FAILURE_VIEW); a 403
for a role that may not do something and a 409 for a conflict are rendered by
generations.middleware.ErrorPageMiddleware when a view raises them. htmx requests get the
reason as a fragment, swapped where the answer was expected."""

from django.http import HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.urls import reverse

PAGE = "errors/page.html"
FRAGMENT = "errors/_reason.html"

TEXTS = {
    403: (
        "Not allowed",
        "Your role in this project cannot do that.",
        "Ask the project's owner for a role that can (the members page lists who has which).",
    ),
    404: (
        "Not found",
        "There is nothing here, or it is in a project you are not a member of.",
        "Check the address, or find it from your projects.",
    ),
    409: (
        "Changed meanwhile",
        "Someone changed this while you were looking; nothing of yours was saved.",
        "Reload to see the current state, then do it again.",
    ),
    500: (
        "Something went wrong on our side",
        "The error is logged for the administrators.",
        "Try again in a moment; if it keeps happening, tell your administrator what you did.",
    ),
}


def _project_url(request) -> str:
    """The project the request was about: a 403 or 409 comes only to its members (non-members
    get 404 from generations.access), so linking back to it leaks nothing."""
    match = getattr(request, "resolver_match", None)
    slug = match.kwargs.get("slug") if match else None
    return reverse("project_detail", args=[slug]) if slug else ""


def error_response(request, status: int, message: str = ""):
    title, reason, advice = TEXTS[status]
    context = {
        "status": status,
        "title": title,
        # Our own exceptions carry a sentence written for the user; Django's don't.
        "reason": message or reason,
        "advice": advice,
        "retry": status in (409, 500),
        "project_url": _project_url(request) if status in (403, 409) else "",
    }
    htmx = getattr(request, "htmx", False)
    return render(request, FRAGMENT if htmx else PAGE, context, status=status)


def _message(exception) -> str:
    message = exception.args[0] if exception and exception.args else ""
    return message if isinstance(message, str) else ""


def page_not_found(request, exception):
    message = _message(exception)
    # get_object_or_404's "No Take matches the given query." names a model, not a reason.
    if "matches the given query" in message:
        message = ""
    return error_response(request, 404, message)


def permission_denied(request, exception):
    return error_response(request, 403, _message(exception))


def server_error(request):
    try:
        return error_response(request, 500)
    except Exception:  # noqa: BLE001 - the page must render even if the database is down
        title, reason, advice = TEXTS[500]
        html = loader.get_template("errors/500_plain.html").render(
            {"title": title, "reason": reason, "advice": advice}
        )
        return HttpResponseServerError(html)


def csrf_failure(request, reason=""):
    """A form posted without its CSRF token (an expired page, another site): say how to fix."""
    return error_response(
        request,
        403,
        "This form has expired or did not come from this site (CSRF check failed). "
        "Reload the page and submit it again.",
    )
