"""Import of the generation manifest (SPEC §3): one JSON object per line, one take per object.

Lines are validated one by one (a bad line is reported with its number and reason and never
stops the good ones), then written in batches: a handful of queries per batch, not per row.
`(project, external_id)` is the idempotency key for takes, `(take, reviewer, reviewed_at)` for
reviews, so importing the same file twice changes nothing."""

import copy
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

from ..models import (
    FailureTag,
    Membership,
    Note,
    Project,
    PromptVersion,
    Review,
    ReviewKind,
    Role,
    Shot,
    Take,
    Verdict,
)
from .reviews import frame_at
from .rollups import rollups_schedule
from .takes import PriceBook

BATCH_SIZE = 1000
_RESOLUTION = re.compile(r"^(\d{1,5})x(\d{1,5})$")
_url = URLValidator(schemes=["http", "https"])


class LineInvalid(ValueError):
    pass


@dataclass
class ParsedNote:
    seconds: float
    text: str
    tag: str


@dataclass
class ParsedReview:
    reviewer: str
    verdict: str
    tags: list[str]
    notes: list[ParsedNote]
    at: datetime | None
    comment: str
    kind: str = ReviewKind.VERDICT


@dataclass
class ParsedTake:
    line: int
    project: str
    shot: str
    version: int
    parent_version: int | None
    prompt: str
    negative_prompt: str
    parameters: dict
    pass_number: int
    model: str
    external_id: str
    duration_s: Decimal
    width: int | None
    height: int | None
    fps: Decimal | None
    seed: int | None
    cost_usd: Decimal | None
    created_at: datetime
    media_url: str
    reviews: list[ParsedReview]


@dataclass
class LineError:
    line: int
    reason: str


@dataclass
class ImportReport:
    lines: int = 0
    takes_created: int = 0
    takes_existing: int = 0
    reviews_created: int = 0
    notes_created: int = 0
    projects: set[str] = field(default_factory=set)
    projects_created: list[str] = field(default_factory=list)
    users_created: list[str] = field(default_factory=list)
    tags_created: list[str] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


# --- validation of one line --------------------------------------------------------------------


def _require(obj: dict, key: str):
    if obj.get(key) is None:
        raise LineInvalid(f"missing required field {key!r}")
    return obj[key]


def _text(obj: dict, key: str, *, required: bool = True, max_length: int = 10_000) -> str:
    value = _require(obj, key) if required else obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise LineInvalid(f"{key!r} must be a string")
    value = value.strip()
    if required and not value:
        raise LineInvalid(f"{key!r} is empty")
    if len(value) > max_length:
        raise LineInvalid(f"{key!r} is longer than {max_length} characters")
    return value


# Largest values the columns hold: a bigger number is a bad line, never a failed batch.
MAX_INT = 2**31 - 1
MAX_BIGINT = 2**63 - 1
MAX_DECIMAL = {
    "duration_s": Decimal("999999.999"),
    "fps": Decimal("99999.999"),
    "cost_usd": Decimal("99999999.9999"),
    "t": Decimal("999999.999"),
}
# Clock skew allowed for dates from a provider; later than that is a mistake in the file.
FUTURE_SLACK = timedelta(hours=1)


def _int(
    obj: dict,
    key: str,
    *,
    required: bool = True,
    minimum: int | None = None,
    maximum: int = MAX_INT,
) -> int | None:
    value = _require(obj, key) if required else obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise LineInvalid(f"{key!r} must be an integer")
    if minimum is not None and value < minimum:
        raise LineInvalid(f"{key!r} must be at least {minimum}")
    if value > maximum or (minimum is None and value < -maximum):
        raise LineInvalid(f"{key!r} is out of range ({value})")
    return value


def _decimal(obj: dict, key: str, *, required: bool = True, positive: bool = False):
    value = _require(obj, key) if required else obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LineInvalid(f"{key!r} must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise LineInvalid(f"{key!r} must be a number") from None
    if not number.is_finite() or number < 0 or (positive and number == 0):
        raise LineInvalid(f"{key!r} must be {'positive' if positive else 'zero or more'}")
    if number > MAX_DECIMAL.get(key, Decimal("1e9")):
        raise LineInvalid(f"{key!r} is out of range ({value})")
    return number


def _datetime(value, key: str) -> datetime:
    if not isinstance(value, str):
        raise LineInvalid(f"{key!r} must be an ISO 8601 date-time")
    parsed = parse_datetime(value.replace("Z", "+00:00"))
    if parsed is None:
        raise LineInvalid(f"{key!r} is not an ISO 8601 date-time: {value!r}")
    if parsed.tzinfo is None:
        raise LineInvalid(f"{key!r} needs a time zone (e.g. a trailing Z)")
    if parsed > timezone.now() + FUTURE_SLACK:
        # A future date would outrank every later verdict as "the latest review".
        raise LineInvalid(f"{key!r} is in the future: {value!r}")
    return parsed


def _reviews(raw) -> list[ParsedReview]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise LineInvalid("'reviews' must be a list")
    out = []
    for i, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise LineInvalid(f"review {i} must be an object")
        reviewer = _text(item, "reviewer").lower()
        try:
            validate_email(reviewer)
        except ValidationError:
            raise LineInvalid(f"review {i}: reviewer {reviewer!r} is not an e-mail") from None
        verdict = item.get("verdict")
        if verdict not in (Verdict.ACCEPT, Verdict.REJECT):
            raise LineInvalid(f"review {i}: verdict must be 'accept' or 'reject', not {verdict!r}")
        tags = item.get("failure_tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            raise LineInvalid(f"review {i}: 'failure_tags' must be a list of slugs")
        slugs = []
        for tag in tags:
            slug = slugify(tag)
            if not slug:
                raise LineInvalid(f"review {i}: {tag!r} is not a usable tag slug")
            if slug not in slugs:
                slugs.append(slug)
        notes = []
        for j, note in enumerate(item.get("notes") or [], start=1):
            if not isinstance(note, dict):
                raise LineInvalid(f"review {i} note {j} must be an object")
            seconds = _decimal(note, "t")
            tag = note.get("tag") or ""
            if not isinstance(tag, str):
                raise LineInvalid(f"review {i} note {j}: 'tag' must be a slug")
            notes.append(
                ParsedNote(
                    seconds=float(seconds),
                    text=_text(note, "text", max_length=2000),
                    tag=slugify(tag),
                )
            )
        # Optional (our own exports write it): "undo" or "bulk" for a review an undo or a bulk
        # tag edit wrote, so it stays out of the per-reviewer statistics after a re-import.
        kind = item.get("kind", ReviewKind.VERDICT)
        if kind not in ReviewKind.values:
            allowed = ", ".join(repr(k) for k in ReviewKind.values)
            raise LineInvalid(f"review {i}: kind must be one of {allowed}, not {kind!r}")
        at = item.get("reviewed_at")
        out.append(
            ParsedReview(
                reviewer=reviewer,
                verdict=verdict,
                tags=[] if verdict == Verdict.ACCEPT else slugs,
                notes=notes,
                at=_datetime(at, "reviewed_at") if at is not None else None,
                comment=_text(item, "comment", required=False, max_length=5000),
                kind=kind,
            )
        )
    return out


def parse_line(number: int, raw: str) -> ParsedTake:
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise LineInvalid(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise LineInvalid("a line must be a JSON object")
    project = _text(obj, "project", max_length=100)
    if slugify(project) != project:
        raise LineInvalid(f"'project' must be a slug (lowercase, digits, hyphens): {project!r}")
    version = _int(obj, "prompt_version", minimum=1)
    parent = _int(obj, "parent_version", required=False, minimum=1)
    if parent is not None and parent >= version:
        raise LineInvalid("'parent_version' must be an earlier version than 'prompt_version'")
    width = height = None
    resolution = obj.get("resolution")
    if resolution is not None:
        match = _RESOLUTION.match(str(resolution))
        if not match:
            raise LineInvalid(f"'resolution' must look like 1280x720, not {resolution!r}")
        width, height = int(match.group(1)), int(match.group(2))
    media_url = _text(obj, "media_url", required=False, max_length=1000)
    if media_url:
        try:
            _url(media_url)
        except ValidationError:
            raise LineInvalid(f"'media_url' is not an http(s) URL: {media_url!r}") from None
    parameters = obj.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise LineInvalid("'parameters' must be an object")
    seed = _int(obj, "seed", required=False, maximum=MAX_BIGINT)
    return ParsedTake(
        line=number,
        project=project,
        shot=_text(obj, "shot", max_length=120),
        version=version,
        parent_version=parent,
        prompt=_text(obj, "prompt"),
        negative_prompt=_text(obj, "negative_prompt", required=False),
        parameters=parameters,
        pass_number=_int(obj, "pass", required=False, minimum=1) or version,
        model=_text(obj, "model", max_length=80).lower(),
        external_id=_text(obj, "external_id", max_length=200),
        duration_s=_decimal(obj, "duration_s", positive=True),
        width=width,
        height=height,
        fps=_decimal(obj, "fps", required=False, positive=True),
        seed=seed,
        cost_usd=_decimal(obj, "cost_usd", required=False),
        created_at=_datetime(_require(obj, "created_at"), "created_at"),
        media_url=media_url,
        reviews=_reviews(obj.get("reviews")),
    )


# --- batched writes ----------------------------------------------------------------------------


class _Importer:
    def __init__(self, *, owner, report: ImportReport):
        self.owner = owner
        self.report = report
        self.projects: dict[str, Project] = {}
        self.prices: dict[int, PriceBook] = {}
        self.seen_ids: dict[tuple[str, str], int] = {}  # (project, external_id) → first line
        self.created: list[Take] = []  # the takes the current batch created

    def run(self, batch: list[ParsedTake]) -> None:
        """Write a batch in one transaction. If the database refuses it (a value that passed
        validation still does not fit), undo the batch's bookkeeping and write its lines one by
        one, so only the offending line is reported and every other line lands."""
        saved = (dict(self.seen_ids), copy.deepcopy(self.report))
        try:
            self._run(batch)
        except DatabaseError as exc:
            self.seen_ids, restored = saved[0], saved[1]
            self.report.__dict__.update(restored.__dict__)
            # Objects cached inside the rolled-back transaction may not exist any more.
            self.projects, self.prices = {}, {}
            if len(batch) == 1:
                reason = str(exc).strip().splitlines()[0][:200]
                self.report.errors.append(LineError(batch[0].line, f"not stored: {reason}"))
                return
            for item in batch:
                self.run([item])

    def _run(self, batch: list[ParsedTake]) -> None:
        batch = self._drop_duplicates(batch)
        if not batch:
            return
        with transaction.atomic():
            self._projects(batch)
            shots = self._shots(batch)
            versions = self._versions(batch, shots)
            users = self._users(batch)
            tags = self._tags(batch)
            takes = self._takes(batch, shots, versions)
            reviewed = self._reviews(batch, takes, users, tags)
            # One change-log insert per project and batch: the created takes and the ones
            # that got new reviews (the rest of the batch already existed unchanged).
            changed: dict[int, set[int]] = defaultdict(set)
            for take in self.created:
                changed[take.project_id].add(take.pk)
            for take in reviewed:
                changed[take.project_id].add(take.pk)
            for project_id, take_ids in changed.items():
                rollups_schedule(project_id=project_id, take_ids=take_ids)

    def _drop_duplicates(self, batch):
        kept = []
        for item in batch:
            key = (item.project, item.external_id)
            first = self.seen_ids.setdefault(key, item.line)
            if first != item.line:
                self.report.errors.append(
                    LineError(item.line, f"duplicate external_id (first on line {first})")
                )
            else:
                kept.append(item)
        return kept

    def _projects(self, batch):
        slugs = {item.project for item in batch} - set(self.projects)
        for project in Project.objects.filter(slug__in=slugs):
            self.projects[project.slug] = project
        for slug in sorted(slugs - set(self.projects)):
            project = Project.objects.create(
                slug=slug, name=slug.replace("-", " ").title(), created_by=self.owner
            )
            self.projects[slug] = project
            self.report.projects_created.append(slug)
        for slug in slugs:
            project = self.projects[slug]
            self.prices[project.pk] = PriceBook(project=project)
            if self.owner is not None:
                Membership.objects.get_or_create(
                    project=project,
                    user=self.owner,
                    defaults={"role": Role.LEAD, "is_owner": True},
                )
        self.report.projects |= {item.project for item in batch}

    def _shots(self, batch) -> dict[tuple[int, str], Shot]:
        keys = {(self.projects[i.project].pk, i.shot) for i in batch}

        def fetch():
            rows = Shot.objects.filter(
                project_id__in={k[0] for k in keys}, name__in={k[1] for k in keys}
            )
            return {(s.project_id, s.name): s for s in rows}

        found = fetch()
        missing = keys - set(found)
        if missing:
            Shot.objects.bulk_create(
                [Shot(project_id=p, name=n) for p, n in sorted(missing)], ignore_conflicts=True
            )
            found = fetch()
        return found

    def _versions(self, batch, shots) -> dict[tuple[int, int], PromptVersion]:
        first_line: dict[tuple[int, int], ParsedTake] = {}
        for item in batch:
            shot = shots[(self.projects[item.project].pk, item.shot)]
            first_line.setdefault((shot.pk, item.version), item)
        shot_ids = {k[0] for k in first_line}

        def fetch():
            return {
                (v.shot_id, v.number): v for v in PromptVersion.objects.filter(shot_id__in=shot_ids)
            }

        found = fetch()
        missing = set(first_line) - set(found)
        if missing:
            PromptVersion.objects.bulk_create(
                [
                    PromptVersion(
                        shot_id=shot_id,
                        number=number,
                        text=first_line[(shot_id, number)].prompt,
                        negative_prompt=first_line[(shot_id, number)].negative_prompt,
                        parameters=first_line[(shot_id, number)].parameters,
                        change_note="Imported from a manifest",
                    )
                    for shot_id, number in sorted(missing)
                ],
                ignore_conflicts=True,
            )
            found = fetch()
        # Link each version to its parent once both exist (a parent may arrive in a later line).
        changed = []
        for (shot_id, number), item in first_line.items():
            version = found[(shot_id, number)]
            parent = found.get((shot_id, item.parent_version)) if item.parent_version else None
            if parent is not None and version.parent_id is None:
                version.parent = parent
                changed.append(version)
        if changed:
            PromptVersion.objects.bulk_update(changed, ["parent"])
        return found

    def _users(self, batch) -> dict[str, object]:
        User = get_user_model()
        emails = {r.reviewer for item in batch for r in item.reviews}
        if not emails:
            return {}

        def fetch():
            found = {}
            for user in User.objects.filter(Q(username__in=emails) | Q(email__in=emails)):
                for key in (user.username.lower(), (user.email or "").lower()):
                    if key in emails:
                        found.setdefault(key, user)
            return found

        users = fetch()
        missing = emails - set(users)
        for email in sorted(missing):
            # Reviewers we have not met get an account without a password (SPEC §3).
            user = User(username=email, email=email)
            user.set_unusable_password()
            users[email] = user
            self.report.users_created.append(email)
        if missing:
            User.objects.bulk_create([users[e] for e in missing], ignore_conflicts=True)
            users = fetch()
        # A reviewer must be able to open the project they reviewed: add them as editors.
        pairs = {
            (self.projects[item.project].pk, users[r.reviewer].pk)
            for item in batch
            for r in item.reviews
        }
        Membership.objects.bulk_create(
            [Membership(project_id=p, user_id=u, role=Role.EDITOR) for p, u in pairs],
            ignore_conflicts=True,
        )
        return users

    def _tags(self, batch) -> dict[str, FailureTag]:
        slugs = {t for item in batch for r in item.reviews for t in r.tags}
        slugs |= {n.tag for item in batch for r in item.reviews for n in r.notes if n.tag}
        tags = {t.slug: t for t in FailureTag.objects.filter(slug__in=slugs)}
        missing = slugs - set(tags)
        if missing:
            # Unknown slugs join the taxonomy, marked so an owner can merge or rename them.
            FailureTag.objects.bulk_create(
                [
                    FailureTag(slug=s, name=s.replace("-", " ").capitalize(), is_imported=True)
                    for s in sorted(missing)
                ],
                ignore_conflicts=True,
            )
            self.report.tags_created.extend(sorted(missing))
            tags = {t.slug: t for t in FailureTag.objects.filter(slug__in=slugs)}
        return tags

    def _takes(self, batch, shots, versions) -> dict[tuple[str, str], Take]:
        by_project: dict[int, set[str]] = defaultdict(set)
        for item in batch:
            by_project[self.projects[item.project].pk].add(item.external_id)
        existing: dict[tuple[int, str], Take] = {}
        for project_id, ids in by_project.items():
            for take in Take.objects.filter(project_id=project_id, external_id__in=ids).only(
                "id", "project_id", "external_id", "fps", "current_review_id"
            ):
                existing[(project_id, take.external_id)] = take
        new = []
        for item in batch:
            project = self.projects[item.project]
            if (project.pk, item.external_id) in existing:
                self.report.takes_existing += 1
                continue
            shot = shots[(project.pk, item.shot)]
            cost, source, price = self.prices[project.pk].resolve(
                model=item.model,
                duration_s=item.duration_s,
                at=item.created_at,
                reported=item.cost_usd,
            )
            parameters = dict(item.parameters)
            new.append(
                Take(
                    project=project,
                    shot=shot,
                    prompt_version=versions[(shot.pk, item.version)],
                    pass_number=item.pass_number,
                    model=item.model,
                    parameters=parameters,
                    seed=item.seed,
                    external_id=item.external_id,
                    media_url=item.media_url,
                    duration_s=item.duration_s,
                    fps=item.fps,
                    width=item.width,
                    height=item.height,
                    cost_usd=cost,
                    cost_source=source,
                    price_usd_per_second=price,
                    created_at=item.created_at,
                )
            )
        Take.objects.bulk_create(new)
        self.created = new
        self.report.takes_created += len(new)
        for take in new:
            existing[(take.project_id, take.external_id)] = take
        return {
            (item.project, item.external_id): existing[
                (self.projects[item.project].pk, item.external_id)
            ]
            for item in batch
        }

    def _reviews(self, batch, takes, users, tags) -> list[Take]:
        """Append the new reviews; returns the takes that got one."""
        take_ids = [takes[(i.project, i.external_id)].pk for i in batch if i.reviews]
        if not take_ids:
            return []
        known = set(
            Review.objects.filter(take_id__in=take_ids).values_list(
                "take_id", "reviewer_id", "created_at"
            )
        )
        pending: list[tuple[Review, ParsedReview, Take]] = []
        for item in batch:
            take = takes[(item.project, item.external_id)]
            for index, parsed in enumerate(item.reviews):
                # A review without a time sorts after the take's creation, in file order.
                at = parsed.at or item.created_at.replace(microsecond=index)
                key = (take.pk, users[parsed.reviewer].pk, at)
                if key in known:
                    continue
                known.add(key)
                review = Review(
                    take_id=take.pk,
                    reviewer=users[parsed.reviewer],
                    verdict=parsed.verdict,
                    kind=parsed.kind,
                    comment=parsed.comment,
                    created_at=at,
                )
                pending.append((review, parsed, take))
        if not pending:
            return []
        Review.objects.bulk_create([r for r, _, _ in pending])
        through = Review.failure_tags.through
        through.objects.bulk_create(
            [
                through(review_id=review.pk, failuretag_id=tags[slug].pk)
                for review, parsed, _ in pending
                for slug in parsed.tags
            ],
            ignore_conflicts=True,
        )
        notes = [
            Note(
                take_id=take.pk,
                review=review,
                author=review.reviewer,
                seconds=Decimal(str(round(n.seconds, 3))),
                frame=frame_at(n.seconds, float(take.fps or 24)),
                tag=tags.get(n.tag) if n.tag else None,
                text=n.text,
            )
            for review, parsed, take in pending
            for n in parsed.notes
        ]
        Note.objects.bulk_create(notes)
        self.report.reviews_created += len(pending)
        self.report.notes_created += len(notes)
        self._refresh_current({take.pk for _, _, take in pending})
        return [take for _, _, take in pending]

    def _refresh_current(self, take_ids: set[int]) -> None:
        """The latest review per take becomes its current verdict: one query, one bulk update."""
        latest: dict[int, tuple] = {}
        for review_id, take_id, at, verdict in Review.objects.filter(
            take_id__in=take_ids
        ).values_list("id", "take_id", "created_at", "verdict"):
            if take_id not in latest or (at, review_id) > latest[take_id][:2]:
                latest[take_id] = (at, review_id, verdict)
        updates = []
        for take_id, (_at, review_id, verdict) in latest.items():
            current = verdict if verdict in (Verdict.ACCEPT, Verdict.REJECT) else ""
            updates.append(Take(pk=take_id, current_review_id=review_id, current_verdict=current))
        Take.objects.bulk_update(updates, ["current_review", "current_verdict"])


def manifest_import(
    *,
    lines: Iterable[str],
    owner=None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import manifest lines. Returns a report; never raises for a bad line."""
    report = ImportReport()
    importer = _Importer(owner=owner, report=report)
    batch: list[ParsedTake] = []
    for number, raw in enumerate(lines, start=1):
        report.lines = number
        if progress:
            progress(1)
        if not raw.strip():
            continue
        try:
            batch.append(parse_line(number, raw))
        except LineInvalid as exc:
            report.errors.append(LineError(number, str(exc)))
        if len(batch) >= batch_size:
            importer.run(batch)
            batch = []
    importer.run(batch)
    report.errors.sort(key=lambda e: e.line)
    return report
