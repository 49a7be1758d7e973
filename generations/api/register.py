"""Registering takes: by multipart upload (the upload service's sniffing and size cap), or by a
media URL that a worker fetches. Idempotent on `external_id` (the existing take comes back with
200) and on the `Idempotency-Key` header."""

from decimal import Decimal

from django.conf import settings
from ninja import File, Form
from ninja.files import UploadedFile

from ..access import get_project
from ..models import PromptVersion
from ..selectors import listing
from ..services import takes as take_services
from . import out
from .errors import ERRORS, ApiError, ErrorOut, field_error
from .idempotency import idempotent
from .schemas import TakeOut, TakeRegisterBase, TakeUrlIn
from .takes import router  # noqa: E402  (one router per path: GET and POST /takes share it)

RESPONSES = {200: TakeOut, 201: TakeOut, 409: ErrorOut, 422: ErrorOut, **ERRORS}


def _version(access, version_id: int) -> PromptVersion:
    version = (
        PromptVersion.objects.select_related("shot")
        .filter(pk=version_id, shot__project=access.project)
        .first()
    )
    if version is None:
        raise field_error("version_id", "No prompt version with this id in this project.")
    return version


def _answer(take, status: int) -> tuple[int, dict]:
    listing.attach_current_tags([take])
    return status, out.take_out(take)


def _cost(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.0001"))


@router.post(
    "/projects/{slug}/takes",
    response=RESPONSES,
    summary="Register a take by uploading its video file (multipart)",
    description=(
        "The file is sniffed by its content and capped at DAILIES_MAX_UPLOAD_MB. 201 with the "
        "new take (status processing until a worker has made its poster), or 200 with the "
        "existing take when `external_id` is already registered in the project."
    ),
)
def take_upload(request, slug: str, file: File[UploadedFile], data: Form[TakeRegisterBase]):
    access = get_project(request, slug, "upload")
    version = _version(access, data.version_id)

    def run():
        try:
            info = take_services.take_probe_upload(file)
            take = take_services.take_register_upload(
                version=version,
                upload=file,
                info=info,
                model=data.model,
                uploader=request.user,
                pass_number=data.pass_number,
                reported_cost=_cost(data.cost_usd),
                seed=data.seed,
                external_id=data.external_id,
            )
        except take_services.TakeExists as exc:
            return _answer(exc.take, 200)
        except take_services.UploadRejected as exc:
            raise field_error("file", str(exc)) from None
        return _answer(take, 201)

    return idempotent(request, run)


@router.post(
    "/projects/{slug}/takes/from-url",
    response=RESPONSES,
    summary="Register a take by its media URL; a worker fetches and processes it",
    description=(
        "http(s) only; loopback, private and link-local addresses are refused. The download "
        "is capped at DAILIES_MAX_UPLOAD_MB; a file that cannot be fetched or is not a video "
        "makes the take broken with the reason. 201 with the new take (status processing), or "
        "200 with the existing take when `external_id` is already registered."
    ),
)
def take_from_url(request, slug: str, payload: TakeUrlIn):
    access = get_project(request, slug, "upload")
    version = _version(access, payload.version_id)

    def run():
        try:
            take = take_services.take_register_url(
                version=version,
                media_url=payload.media_url,
                model=payload.model,
                uploader=request.user,
                external_id=payload.external_id,
                pass_number=payload.pass_number,
                reported_cost=_cost(payload.cost_usd),
                seed=payload.seed,
            )
        except take_services.TakeExists as exc:
            return _answer(exc.take, 200)
        return _answer(take, 201)

    return idempotent(request, run)


def oversize_error(request) -> ApiError | None:
    """Files over the cap are dropped while they stream in (generations.uploads): say so."""
    names = getattr(request, "oversize_uploads", None)
    if not names:
        return None
    message = f"{names[0]}: over the {settings.DAILIES_MAX_UPLOAD_MB} MB limit."
    return field_error("file", message)
