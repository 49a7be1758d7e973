"""The `Idempotency-Key` header on POSTs: see services/idempotency.py for the rules."""

import hashlib
import json
from collections.abc import Callable

from django.core.serializers.json import DjangoJSONEncoder
from ninja import Status

from ..services import idempotency as services
from .errors import ApiError

HEADER = "Idempotency-Key"


def _fingerprint(request) -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    if request.content_type == "multipart/form-data":
        # The raw body is gone once Django parsed the upload: the fields and the files' bytes.
        for name in sorted(request.POST):
            digest.update(json.dumps([name, request.POST.getlist(name)]).encode())
        for name in sorted(request.FILES):
            for upload in request.FILES.getlist(name):
                digest.update(json.dumps([name, upload.name, upload.size]).encode())
                for chunk in upload.chunks():
                    digest.update(chunk)
                upload.seek(0)
    else:
        digest.update(request.body)
    return digest.hexdigest()


def idempotent(request, run: Callable[[], tuple[int, dict]]) -> Status:
    """Answer `run()` (status, JSON-able body), once per Idempotency-Key if the header is sent."""
    key = request.headers.get(HEADER, "")
    if not key:
        return Status(*run())
    if len(key) > 255 or not key.isprintable():
        raise ApiError(400, f"{HEADER}: at most 255 printable characters.", {HEADER: ["invalid"]})
    try:
        record, replay = services.idempotency_begin(
            user=request.user, key=key, fingerprint=_fingerprint(request)
        )
    except services.IdempotencyConflict as exc:
        raise ApiError(exc.status, str(exc)) from None
    if replay:
        return Status(record.status_code, record.response)
    try:
        status, body = run()
    except BaseException:
        services.idempotency_release(record=record)
        raise
    body = json.loads(json.dumps(body, cls=DjangoJSONEncoder))
    services.idempotency_finish(record=record, status_code=status, response=body)
    return Status(status, body)
