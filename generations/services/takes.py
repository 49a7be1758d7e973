"""Writes for takes: registering uploads, estimating cost, and recording media analysis."""

import logging
import os
import tempfile
import uuid
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify

from .. import netsafe
from ..models import ModelPrice, Project, PromptVersion, Take, TakeStatus
from ..models.takes import CostSource
from . import media, provenance, webhooks
from .projects import ServiceError
from .rollups import rollups_schedule

log = logging.getLogger(__name__)

CENT = Decimal("0.0001")


class UploadRejected(ServiceError):
    """An uploaded file was refused; nothing was stored."""


class TakeExists(ServiceError):
    """A take with this external id is already in the project: registration is idempotent, the
    caller gets the existing take instead of a second one."""

    def __init__(self, take: Take):
        super().__init__(f"A take with external id {take.external_id!r} already exists.")
        self.take = take


def _raise_if_registered(project: Project, external_id: str | None) -> None:
    if external_id:
        existing = Take.objects.filter(project=project, external_id=external_id).first()
        if existing is not None:
            raise TakeExists(existing)


def price_lookup(*, project: Project, model: str, at: datetime) -> ModelPrice | None:
    """The price in force for a model at a moment: the project's own price first, else global."""
    prices = ModelPrice.objects.filter(model=model, valid_from__lte=at).filter(
        Q(project=project) | Q(project__isnull=True)
    )
    # Project-specific rows sort first (global NULLs last), then the most recent.
    return prices.order_by(F("project_id").asc(nulls_last=True), "-valid_from").first()


class PriceBook:
    """All prices that apply to one project, loaded once: bulk imports estimate thousands of
    costs without a query each."""

    def __init__(self, *, project: Project):
        self.project = project
        self._prices: dict[str, list[ModelPrice]] = {}
        for price in ModelPrice.objects.filter(
            Q(project=project) | Q(project__isnull=True)
        ).order_by(F("project_id").asc(nulls_last=True), "-valid_from"):
            self._prices.setdefault(price.model, []).append(price)

    def lookup(self, *, model: str, at: datetime) -> ModelPrice | None:
        return next((p for p in self._prices.get(model, ()) if p.valid_from <= at), None)

    def resolve(self, *, model: str, duration_s, at: datetime, reported: Decimal | None):
        return cost_resolve(
            project=self.project,
            model=model,
            duration_s=duration_s,
            at=at,
            reported=reported,
            price=self.lookup(model=model, at=at),
        )


_UNSET = object()


def cost_resolve(
    *,
    project: Project,
    model: str,
    duration_s,
    at: datetime,
    reported: Decimal | None,
    price=_UNSET,
) -> tuple[Decimal, str, Decimal | None]:
    """(cost, source, price snapshot). A reported cost always wins over an estimate."""
    if reported is not None:
        return Decimal(str(reported)), CostSource.REPORTED, None
    if price is _UNSET:
        price = price_lookup(project=project, model=model, at=at)
    if price is None or duration_s is None:
        return Decimal("0"), CostSource.UNKNOWN, None
    cost = (price.usd_per_second * Decimal(str(duration_s))).quantize(CENT, ROUND_HALF_UP)
    return cost, CostSource.ESTIMATED, price.usd_per_second


def _check_size(upload) -> None:
    if upload.size == 0:
        raise UploadRejected(f"{upload.name}: the file is empty.")
    if upload.size > settings.DAILIES_MAX_UPLOAD_BYTES:
        raise UploadRejected(
            f"{upload.name}: {upload.size / 1_048_576:.1f} MB is over the "
            f"{settings.DAILIES_MAX_UPLOAD_MB} MB limit."
        )


def take_probe_upload(upload) -> media.VideoInfo:
    """Validate one uploaded file by its content. Raises UploadRejected with a clear reason."""
    _check_size(upload)
    upload.seek(0)
    try:
        return media.probe(upload)
    except media.NotAVideo as exc:
        raise UploadRejected(f"{upload.name}: {exc}") from None
    finally:
        upload.seek(0)


def _upload_external_id(filename: str) -> str:
    """Uploads have no provider id: a readable one from the file name, unique by its suffix."""
    stem = slugify(os.path.splitext(os.path.basename(filename))[0])[:60] or "upload"
    return f"{stem}-{uuid.uuid4().hex[:8]}"


def take_register_upload(
    *,
    version: PromptVersion,
    upload,
    model: str,
    uploader,
    pass_number: int | None = None,
    reported_cost: Decimal | None = None,
    seed: int | None = None,
    info: media.VideoInfo | None = None,
    created_at: datetime | None = None,
    external_id: str | None = None,
    parameters: dict | None = None,
    cost: tuple[Decimal, str, Decimal | None] | None = None,
) -> Take:
    """Store a sniffed upload under a generated name and create its take in 'processing'; the
    poster and filmstrip are made by a worker after commit. Generated takes pass the provider's
    id, the parameters sent and their cost (reported, else the batch's estimate). With an
    `external_id` already in the project, raises TakeExists (nothing stored)."""
    project = version.shot.project
    _raise_if_registered(project, external_id)
    info = info or take_probe_upload(upload)
    now = created_at or timezone.now()
    cost, source, price = cost or cost_resolve(
        project=project, model=model, duration_s=info.duration_s, at=now, reported=reported_cost
    )
    take = Take(
        project=project,
        shot=version.shot,
        prompt_version=version,
        pass_number=pass_number or version.number,
        model=model,
        seed=seed,
        parameters=dict(version.parameters) if parameters is None else parameters,
        external_id=external_id or _upload_external_id(upload.name),
        original_filename=os.path.basename(upload.name)[:255],
        media_size=upload.size,
        duration_s=Decimal(str(info.duration_s)),
        fps=Decimal(str(info.fps)),
        width=info.width,
        height=info.height,
        codec=info.codec,
        status=TakeStatus.PROCESSING,
        cost_usd=cost,
        cost_source=source,
        price_usd_per_second=price,
        created_at=now,
    )
    take.full_clean(exclude=["media"])
    with transaction.atomic():
        take.media.save(f"upload.{info.extension}", upload, save=False)
        try:
            with transaction.atomic():
                take.save()
        except Exception as exc:
            # Nothing half-made: a failed insert removes the stored file too.
            take.media.delete(save=False)
            if isinstance(exc, IntegrityError):
                _raise_if_registered(project, external_id)  # registered meanwhile
            raise
        rollups_schedule(project_id=project.pk, take_ids=[take.pk])
        transaction.on_commit(lambda: _enqueue_media(take.pk))
    return take


def take_register_url(
    *,
    version: PromptVersion,
    media_url: str,
    model: str,
    uploader,
    external_id: str | None = None,
    pass_number: int | None = None,
    reported_cost: Decimal | None = None,
    seed: int | None = None,
) -> Take:
    """A take whose media a worker fetches from `media_url` (http(s), public addresses only
    unless DAILIES_ALLOW_PRIVATE_URLS; capped at DAILIES_MAX_UPLOAD_MB), then sniffs and
    processes like an upload. The URL is checked here too, so a refused address is a clear
    error now rather than a broken take later. Raises netsafe.UnsafeURL, or TakeExists for an
    `external_id` already in the project."""
    project = version.shot.project
    _raise_if_registered(project, external_id)
    netsafe.url_check(media_url)
    now = timezone.now()
    take = Take(
        project=project,
        shot=version.shot,
        prompt_version=version,
        pass_number=pass_number or version.number,
        model=model,
        seed=seed,
        parameters=dict(version.parameters),
        external_id=external_id or _upload_external_id(urlsplit(media_url).path or "url"),
        original_filename=os.path.basename(urlsplit(media_url).path)[:255],
        media_url=media_url,
        status=TakeStatus.PROCESSING,
        cost_usd=Decimal(str(reported_cost)) if reported_cost is not None else Decimal("0"),
        cost_source=CostSource.REPORTED if reported_cost is not None else CostSource.UNKNOWN,
        created_at=now,
    )
    take.full_clean()
    with transaction.atomic():
        try:
            with transaction.atomic():
                take.save()
        except IntegrityError:
            _raise_if_registered(project, external_id)
            raise
        rollups_schedule(project_id=project.pk, take_ids=[take.pk])
        transaction.on_commit(lambda: _enqueue_media(take.pk))
    return take


def take_fetch_media(*, take: Take) -> Take | None:
    """Download a URL-registered take's media (claimed by `take_claim_for_processing`), sniff
    it, store it under a generated name with its metadata and cost, still 'processing' for the
    decode that follows. None if the claim was lost meanwhile. Raises netsafe.UnsafeURL,
    netsafe.FetchError or media.NotAVideo (the task marks the take broken with the reason)."""
    with tempfile.TemporaryDirectory(prefix="dailies-fetch-") as folder:
        path = Path(folder) / "download"
        fetched = netsafe.fetch_to_file(
            take.media_url, dest=path, max_bytes=settings.DAILIES_MAX_UPLOAD_BYTES
        )
        info = media.probe(str(path))
        reported = take.cost_usd if take.cost_source == CostSource.REPORTED else None
        cost, source, price = cost_resolve(
            project=take.project,
            model=take.model,
            duration_s=info.duration_s,
            at=take.created_at,
            reported=reported,
        )
        with open(path, "rb") as handle:
            take.media.save(f"upload.{info.extension}", File(handle), save=False)
    values = {
        "media": take.media.name,
        "media_size": fetched.size,
        "duration_s": Decimal(str(info.duration_s)),
        "fps": Decimal(str(info.fps)),
        "width": info.width,
        "height": info.height,
        "codec": info.codec,
        "cost_usd": cost,
        "cost_source": source,
        "price_usd_per_second": price,
    }
    with transaction.atomic():
        applied = Take.objects.filter(
            pk=take.pk,
            status=TakeStatus.PROCESSING,
            processing_claimed_at=take.processing_claimed_at,
        ).update(**values)
        if applied:
            rollups_schedule(project_id=take.project_id, take_ids=[take.pk])
    if not applied:
        take.media.storage.delete(take.media.name)
        return None
    for name, value in values.items():
        if name != "media":
            setattr(take, name, value)
    return take


def _enqueue_media(take_id: int) -> None:
    from ..tasks import take_process_media

    try:
        take_process_media.delay(take_id)
    except Exception:
        # Broker down: the take stays 'processing' until the reconciler re-enqueues it.
        log.warning("could not enqueue media processing for take %s", take_id)


# A claim older than this is presumed lost (its worker died): past the task's hard time limit,
# so a run still decoding is never taken over.
PROCESSING_CLAIM_STALE = timedelta(seconds=getattr(settings, "CELERY_TASK_TIME_LIMIT", 300) + 60)


def take_claim_for_processing(*, take_id: int, now: datetime | None = None) -> Take | None:
    """Claim the take for one processing run with a conditional update; None if it is gone,
    already processed, or claimed by another run whose claim is not stale yet (a redelivered
    task skips instead of working twice). No lock is held afterwards: reviews, deletes and tag
    edits of the take never wait for the decode. The returned take's `processing_claimed_at`
    identifies this run's claim."""
    now = now or timezone.now()
    free = Q(processing_claimed_at__isnull=True) | Q(
        processing_claimed_at__lt=now - PROCESSING_CLAIM_STALE
    )
    claimed = (
        Take.objects.filter(free, pk=take_id, status=TakeStatus.PROCESSING).update(
            processing_claimed_at=now
        )
        == 1
    )
    if not claimed:
        return None
    return Take.objects.filter(pk=take_id, processing_claimed_at=now).first()


def take_release_claim(*, take: Take) -> None:
    """Give the claim back (a transient error): the retry can claim the take again."""
    Take.objects.filter(pk=take.pk, processing_claimed_at=take.processing_claimed_at).update(
        processing_claimed_at=None
    )


PROVENANCE_FIELDS = [
    "provenance_state",
    "provenance_trusted",
    "provenance_generator",
    "provenance_signer",
    "provenance_issuer",
    "provenance_signed_at",
    "provenance_actions",
    "ai_generated",
    "provenance_messages",
    "provenance_manifest",
]


def _apply_provenance(take: Take, found: provenance.Provenance) -> None:
    take.provenance_state = found.state
    take.provenance_trusted = found.trusted
    take.provenance_generator = found.generator
    take.provenance_signer = found.signer
    take.provenance_issuer = found.issuer
    take.provenance_signed_at = found.signed_at
    take.provenance_actions = found.actions
    take.ai_generated = found.ai_generated
    take.provenance_messages = found.messages
    take.provenance_manifest = found.manifest_store


IMAGE_FIELDS = ("poster", "thumbnail", "filmstrip")


def take_process_media(*, take: Take) -> Take | None:
    """Decode once and store poster, thumbnail, filmstrip and flicker signal; read the C2PA
    provenance of the original file; mark ready. `take` comes from `take_claim_for_processing`:
    the decode runs outside any transaction, and the results are written in a short one only if
    the take is still processing under this run's claim (None otherwise: it was deleted, marked
    broken, or taken over after a stale claim; the new images are removed). Raises
    media.NotAVideo for a file that cannot be decoded (the task marks it broken); provenance
    never raises."""
    if not take.media:
        raise media.NotAVideo("The take has no media file.")
    analysis = media.analyse(take.media.path, duration_s=float(take.duration_s or 0))
    # The stored file is the uploaded bytes unchanged, so its manifest still validates.
    found = provenance.read_provenance(take.media.path)
    old_files = [f for f in (getattr(take, name) for name in IMAGE_FIELDS) if f]
    old_names = {f.name for f in old_files}
    stem = uuid.uuid4().hex
    for field, data in zip(
        IMAGE_FIELDS, (analysis.poster, analysis.thumbnail, analysis.filmstrip), strict=True
    ):
        file = getattr(take, field)
        if data:
            file.save(f"{stem}-{field}.jpg", ContentFile(data), save=False)
        else:
            file.name = ""
    new_files = [f for f in (getattr(take, name) for name in IMAGE_FIELDS) if f]
    new_files = [f for f in new_files if f.name not in old_names]
    take.filmstrip_frames = analysis.filmstrip_frames
    take.flicker_score = analysis.flicker_score
    take.flicker_series = analysis.flicker_series
    _apply_provenance(take, found)
    take.status = TakeStatus.READY
    take.status_reason = ""
    values = {
        **{name: getattr(take, name).name or "" for name in IMAGE_FIELDS},
        "filmstrip_frames": take.filmstrip_frames,
        "flicker_score": take.flicker_score,
        "flicker_series": take.flicker_series,
        "status": TakeStatus.READY,
        "status_reason": "",
        **{name: getattr(take, name) for name in PROVENANCE_FIELDS},
    }
    with transaction.atomic():
        applied = Take.objects.filter(
            pk=take.pk,
            status=TakeStatus.PROCESSING,
            processing_claimed_at=take.processing_claimed_at,
        ).update(**values, processing_claimed_at=None)
        if applied:
            webhooks.webhooks_take_ready(take_id=take.pk)
    if not applied:
        for f in new_files:
            f.storage.delete(f.name)
        return None
    for f in old_files:
        f.storage.delete(f.name)
    take.processing_claimed_at = None
    return take


def take_mark_broken(*, take_id: int, reason: str) -> None:
    with transaction.atomic():
        newly = (
            Take.objects.filter(pk=take_id)
            .exclude(status=TakeStatus.BROKEN)
            .update(
                status=TakeStatus.BROKEN, status_reason=reason[:500], processing_claimed_at=None
            )
        )
        if newly:
            webhooks.webhooks_take_broken(take_id=take_id)
        else:  # already broken: keep the latest reason, announce nothing new
            Take.objects.filter(pk=take_id).update(
                status_reason=reason[:500], processing_claimed_at=None
            )


def take_delete(*, take: Take) -> None:
    project_id, take_id = take.project_id, take.pk
    files = [f for f in (take.media, take.poster, take.thumbnail, take.filmstrip) if f]
    with transaction.atomic():
        take.delete()
        rollups_schedule(project_id=project_id, take_ids=[take_id])

        def remove_files() -> None:
            for f in files:
                f.storage.delete(f.name)

        transaction.on_commit(remove_files)


def take_update_cost(*, take: Take, cost_usd: Decimal) -> Take:
    take.cost_usd = cost_usd
    take.cost_source = CostSource.REPORTED
    with transaction.atomic():
        take.save(update_fields=["cost_usd", "cost_source"])
        rollups_schedule(project_id=take.project_id, take_ids=[take.pk])
    return take


def takes_reprice_unknown(*, project: Project, model: str) -> int:
    """Estimate the takes of a model that no price covered (cost "unknown"), now that one may:
    each at the price in force when it was made. Takes older than every price stay unknown.
    Returns how many were priced; the rollups refresh them."""
    book = PriceBook(project=project)
    priced = []
    with transaction.atomic():
        for take in Take.objects.select_for_update().filter(
            project=project, model=model, cost_source=CostSource.UNKNOWN
        ):
            cost, source, snapshot = book.resolve(
                model=take.model, duration_s=take.duration_s, at=take.created_at, reported=None
            )
            if source == CostSource.ESTIMATED:
                take.cost_usd, take.cost_source, take.price_usd_per_second = cost, source, snapshot
                priced.append(take)
        Take.objects.bulk_update(priced, ["cost_usd", "cost_source", "price_usd_per_second"])
        if priced:
            rollups_schedule(project_id=project.pk, take_ids=[t.pk for t in priced])
    return len(priced)
