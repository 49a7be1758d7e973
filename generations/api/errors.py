"""Every error of the API is JSON: `{"message": "…", "errors": {"field": ["…"]}}`, with the web
app's status codes: 400 bad input, 403 a role (or a read-only token) that can't, 404 a project
the caller is not a member of — and a missing or bad token, which learns nothing either —,
409 a conflict, 429 too many requests (with Retry-After)."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from ..netsafe import UnsafeURL
from ..services.projects import ServiceError


class ErrorOut(Schema):
    message: str
    errors: dict[str, list[str]] = {}


class ApiError(Exception):
    """Raised by views for an answer other than 2xx, optionally with per-field errors."""

    def __init__(self, status: int, message: str, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors or {}


def field_error(field: str, message: str, status: int = 400) -> ApiError:
    return ApiError(status, message, {field: [message]})


# Declared on every operation, so the schema documents (and schemathesis checks) each answer.
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut}


def _field(loc) -> str:
    parts = [str(p) for p in loc]
    # ("body", "payload", "verdict") -> "verdict"; ("query", "limit") -> "limit"
    if parts and parts[0] == "body" and len(parts) > 2:
        parts = parts[2:]
    elif parts and parts[0] in {"query", "path", "form", "file", "header", "cookie", "body"}:
        parts = parts[1:]
    return ".".join(parts) or "__all__"


def install(api) -> None:
    def reply(request, status, message, errors=None):
        return api.create_response(
            request, {"message": message, "errors": errors or {}}, status=status
        )

    @api.exception_handler(ValidationError)
    def invalid(request, exc):
        from .register import oversize_error

        oversize = oversize_error(request)
        if oversize is not None:
            return reply(request, 400, oversize.message, oversize.errors)
        errors: dict[str, list[str]] = {}
        for error in exc.errors:
            message = error.get("msg", "invalid")
            errors.setdefault(_field(error.get("loc", ())), []).append(message)
        return reply(request, 400, "The request is not valid: see errors.", errors)

    @api.exception_handler(ApiError)
    def api_error(request, exc):
        return reply(request, exc.status, exc.message, exc.errors)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc):
        return reply(request, 404, "Not found (or no valid token).")

    @api.exception_handler(Throttled)
    def throttled(request, exc):
        return reply(request, 429, "Too many requests: see Retry-After.")

    @api.exception_handler(HttpError)
    def http_error(request, exc):
        return reply(request, exc.status_code, str(exc))

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return reply(request, 404, str(exc) or "Not found.")

    @api.exception_handler(PermissionDenied)
    def forbidden(request, exc):
        return reply(request, 403, str(exc) or "Your role cannot do this here.")

    @api.exception_handler(UnsafeURL)
    def unsafe_url(request, exc):
        return reply(request, 400, f"media_url: {exc}", {"media_url": [str(exc)]})

    @api.exception_handler(DjangoValidationError)
    def model_invalid(request, exc):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return reply(request, 400, "The request is not valid: see errors.", errors)

    @api.exception_handler(DataError)
    def out_of_range(request, exc):
        # An id or number past what the database stores (ids above 2**63): bad input, not a 500.
        return reply(request, 400, "A value in the request is out of range.")

    @api.exception_handler(ServiceError)
    def service_error(request, exc):
        return reply(request, 400, str(exc))
