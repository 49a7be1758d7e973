"""What both writers share: projects, reviewers, tags and memberships resolved (created when
missing), take costs priced, and the rollups told what changed."""

from collections.abc import Iterable
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q

from ..models import FailureTag, Membership, Project, Role
from ..models.takes import CostSource
from ..services.rollups import rollups_schedule, rollups_schedule_full
from ..services.takes import PriceBook
from .parse import ParsedTake
from .report import ImportReport

# Above this many changed takes in a project, a full recompute of its rollups is cheaper than
# logging every take for the incremental refresh.
INCREMENTAL_MAX = 5000


class Prices:
    """The price book of each project named in the file, loaded once per project."""

    def __init__(self, report: ImportReport):
        self.report = report
        self.books: dict[str, PriceBook] = {}

    def resolve(self, item: ParsedTake):
        return self.price(
            project=item.project,
            model=item.model,
            duration_s=item.duration_s,
            cost_usd=item.cost_usd,
            created_at=lambda: item.created_at,
        )

    def price(self, *, project: str, model: str, duration_s, cost_usd, created_at):
        """(cost, source, price snapshot); `created_at` is called only when there is a price to
        look up (the COPY writer's rows carry it as text)."""
        if cost_usd is not None:
            # A reported cost always wins (services.takes.cost_resolve): no price to look up.
            return Decimal(str(cost_usd)), CostSource.REPORTED, None
        book = self.books.get(project)
        if book is None:
            found = Project.objects.filter(slug=project).first()
            book = self.books[project] = PriceBook(project=found)
        cost, source, price = book.resolve(
            model=model, duration_s=duration_s, at=created_at(), reported=None
        )
        if source == "unknown":
            self.report.unpriced[model] += 1
        return cost, source, price


def projects_resolve(slugs: Iterable[str], *, owner, report: ImportReport) -> dict[str, Project]:
    found = {p.slug: p for p in Project.objects.filter(slug__in=set(slugs))}
    for slug in sorted(set(slugs) - set(found)):
        try:
            with transaction.atomic():
                found[slug] = Project.objects.create(
                    slug=slug, name=slug.replace("-", " ").title(), created_by=owner
                )
            report.projects_created.append(slug)
        except IntegrityError:  # created by a concurrent import just now
            found[slug] = Project.objects.get(slug=slug)
    if owner is not None:
        for project in found.values():
            membership, created = Membership.objects.get_or_create(
                project=project, user=owner, defaults={"role": Role.LEAD, "is_owner": True}
            )
            if not created and not membership.is_owner:
                Membership.objects.filter(pk=membership.pk).update(is_owner=True)
    report.projects |= set(found)
    return found


def users_resolve(emails: set[str], report: ImportReport) -> dict[str, int]:
    """Reviewers by e-mail (matched on username or e-mail, case-insensitively); unknown ones
    become users without a password (SPEC §3)."""
    User = get_user_model()
    if not emails:
        return {}

    def fetch() -> dict[str, int]:
        found: dict[str, int] = {}
        lookup = Q()
        for email in emails:
            lookup |= Q(username__iexact=email) | Q(email__iexact=email)
        rows = User.objects.filter(lookup).order_by("pk").values_list("pk", "username", "email")
        for pk, username, email in rows:
            for key in (username.lower(), (email or "").lower()):
                if key in emails:
                    found.setdefault(key, pk)
        return found

    users = fetch()
    missing = sorted(emails - set(users))
    if missing:
        new = []
        for email in missing:
            user = User(username=email, email=email)
            user.set_unusable_password()
            new.append(user)
        User.objects.bulk_create(new, ignore_conflicts=True)
        report.users_created.extend(missing)
        users = fetch()
    return users


def tags_resolve(slugs: set[str], report: ImportReport) -> dict[str, int]:
    """Failure tags by slug; unknown slugs join the taxonomy marked as imported, so an owner
    can merge or rename them."""
    tags = dict(FailureTag.objects.filter(slug__in=slugs).values_list("slug", "pk"))
    missing = sorted(slugs - set(tags))
    if missing:
        FailureTag.objects.bulk_create(
            [
                FailureTag(slug=s, name=s.replace("-", " ").capitalize(), is_imported=True)
                for s in missing
            ],
            ignore_conflicts=True,
        )
        report.tags_created.extend(missing)
        tags = dict(FailureTag.objects.filter(slug__in=slugs).values_list("slug", "pk"))
    return tags


def reviewers_join(pairs: set[tuple[int, int]]) -> None:
    """A reviewer must be able to open the project they reviewed: they become editors."""
    Membership.objects.bulk_create(
        [Membership(project_id=p, user_id=u, role=Role.EDITOR) for p, u in sorted(pairs)],
        ignore_conflicts=True,
    )


def rollups_mark(changed: dict[int, list[int] | int]) -> None:
    """Mark each project dirty once: the changed takes for the incremental refresh, or, past
    INCREMENTAL_MAX of them, a full recompute (cheaper than logging every take)."""
    full = []
    for project_id, takes in sorted(changed.items()):
        if isinstance(takes, int) or len(takes) > INCREMENTAL_MAX:
            full.append(project_id)
        elif takes:
            rollups_schedule(project_id=project_id, take_ids=takes)
    if full:
        rollups_schedule_full(project_ids=full)
