"""The ORM writer: SQLite (the embedded demo), and the reference the tests hold the COPY writer
to. Batches of records, each in its own transaction; memory is one batch."""

from collections import defaultdict
from collections.abc import Iterator

from django.db import transaction

from ..models import Note, Project, PromptVersion, Review, Shot, Take
from ..services.rollups import rollups_schedule
from ..services.verdicts import takes_current_refresh
from .parse import ParsedTake
from .report import ImportReport
from .resolve import Prices, projects_resolve, reviewers_join, tags_resolve, users_resolve

CHANGE_NOTE = "Imported from a manifest"


class OrmWriter:
    def __init__(self, *, report: ImportReport, owner):
        self.report = report
        self.owner = owner
        self.prices = Prices(report)
        self.projects: dict[str, Project] = {}
        self.seen: dict[tuple[str, str], int] = {}  # (project, external_id) → first line
        self.changed = 0
        self.pending_links: list[tuple[int, int, int]] = []  # (version, shot, parent number)

    def write(self, records: Iterator[ParsedTake], batch_size: int) -> int:
        batch: list[ParsedTake] = []
        for item in records:
            first = self.seen.setdefault((item.project, item.external_id), item.line)
            if first != item.line:
                self.report.error(item.line, f"duplicate external_id (first on line {first})")
                continue
            batch.append(item)
            if len(batch) >= batch_size:
                self._batch(batch)
                batch = []
        if batch:
            self._batch(batch)
        for version_id, shot_id, parent_number in self.pending_links:
            parent = PromptVersion.objects.filter(shot_id=shot_id, number=parent_number).first()
            if parent is not None:
                PromptVersion.objects.filter(pk=version_id, parent__isnull=True).update(
                    parent=parent
                )
        return self.changed

    def _batch(self, batch: list[ParsedTake]) -> None:
        with transaction.atomic():
            missing = {i.project for i in batch} - set(self.projects)
            if missing:
                self.projects.update(
                    projects_resolve(missing, owner=self.owner, report=self.report)
                )
            emails = {r.reviewer for i in batch for r in i.reviews}
            users = users_resolve(emails, self.report)
            slugs = {t for i in batch for r in i.reviews for t in r.tags}
            slugs |= {n.tag for i in batch for r in i.reviews for n in r.notes if n.tag}
            tags = tags_resolve(slugs, self.report)
            reviewers_join(
                {(self.projects[i.project].pk, users[r.reviewer]) for i in batch for r in i.reviews}
            )
            shots = self._shots(batch)
            versions = self._versions(batch, shots)
            takes, created = self._takes(batch, shots, versions)
            reviewed = self._reviews(batch, takes, users, tags)
            changed: dict[int, set[int]] = defaultdict(set)
            for take in created:
                changed[take.project_id].add(take.pk)
            for take in reviewed:
                changed[take.project_id].add(take.pk)
            for project_id, take_ids in changed.items():
                rollups_schedule(project_id=project_id, take_ids=take_ids)
            self.changed += len(created) + len(reviewed)

    def _shots(self, batch) -> dict[tuple[int, str], Shot]:
        keys = {(self.projects[i.project].pk, i.shot) for i in batch}

        def fetch():
            rows = Shot.objects.filter(
                project_id__in={k[0] for k in keys}, name__in={k[1] for k in keys}
            )
            return {(s.project_id, s.name): s for s in rows}

        found = fetch()
        if keys - set(found):
            Shot.objects.bulk_create(
                [Shot(project_id=p, name=n) for p, n in sorted(keys - set(found))],
                ignore_conflicts=True,
            )
            found = fetch()
        return found

    def _versions(self, batch, shots) -> dict[tuple[int, int], PromptVersion]:
        first: dict[tuple[int, int], ParsedTake] = {}
        parents: dict[tuple[int, int], int] = {}
        for item in batch:
            shot = shots[(self.projects[item.project].pk, item.shot)]
            first.setdefault((shot.pk, item.version), item)
            if item.parent_version:
                parents.setdefault((shot.pk, item.version), item.parent_version)
        shot_ids = {k[0] for k in first}

        def fetch():
            return {
                (v.shot_id, v.number): v for v in PromptVersion.objects.filter(shot_id__in=shot_ids)
            }

        found = fetch()
        missing = set(first) - set(found)
        if missing:
            PromptVersion.objects.bulk_create(
                [
                    PromptVersion(
                        shot_id=shot_id,
                        number=number,
                        text=first[(shot_id, number)].prompt,
                        negative_prompt=first[(shot_id, number)].negative_prompt,
                        parameters=first[(shot_id, number)].parameters,
                        change_note=CHANGE_NOTE,
                    )
                    for shot_id, number in sorted(missing)
                ],
                ignore_conflicts=True,
            )
            found = fetch()
        # Link each version to its parent once both exist (a parent may arrive in a later
        # batch: write() tries those again at the end).
        linked = []
        for key, parent_number in parents.items():
            version, parent = found[key], found.get((key[0], parent_number))
            if parent is None:
                self.pending_links.append((version.pk, key[0], parent_number))
            elif version.parent_id is None:
                version.parent = parent
                linked.append(version)
        if linked:
            PromptVersion.objects.bulk_update(linked, ["parent"])
        return found

    def _takes(self, batch, shots, versions):
        by_project: dict[int, set[str]] = defaultdict(set)
        for item in batch:
            by_project[self.projects[item.project].pk].add(item.external_id)
        existing: dict[tuple[int, str], Take] = {}
        for project_id, ids in by_project.items():
            for take in Take.objects.filter(project_id=project_id, external_id__in=ids).only(
                "id", "project_id", "external_id"
            ):
                existing[(project_id, take.external_id)] = take
        new = []
        for item in batch:
            project = self.projects[item.project]
            if (project.pk, item.external_id) in existing:
                self.report.takes_existing += 1
                continue
            shot = shots[(project.pk, item.shot)]
            cost, source, price = self.prices.resolve(item)
            new.append(
                Take(
                    project=project,
                    shot=shot,
                    prompt_version=versions[(shot.pk, item.version)],
                    pass_number=item.pass_number,
                    model=item.model,
                    parameters=dict(item.parameters),
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
        self.report.takes_created += len(new)
        for take in new:
            existing[(take.project_id, take.external_id)] = take
        takes = {
            item.line: existing[(self.projects[item.project].pk, item.external_id)]
            for item in batch
        }
        return takes, new

    def _reviews(self, batch, takes, users, tags) -> list[Take]:
        """Append the new reviews; returns the takes that got one."""
        take_ids = [takes[i.line].pk for i in batch if i.reviews]
        if not take_ids:
            return []
        known = set(
            Review.objects.filter(take_id__in=take_ids).values_list(
                "take_id", "reviewer_id", "created_at"
            )
        )
        pending = []
        for item in batch:
            take = takes[item.line]
            for parsed in item.reviews:
                key = (take.pk, users[parsed.reviewer], parsed.at)
                if key in known:
                    continue
                known.add(key)
                review = Review(
                    take_id=take.pk,
                    reviewer_id=users[parsed.reviewer],
                    verdict=parsed.verdict,
                    kind=parsed.kind,
                    comment=parsed.comment,
                    created_at=parsed.at,
                )
                pending.append((review, parsed, take))
        if not pending:
            return []
        Review.objects.bulk_create([r for r, _, _ in pending])
        through = Review.failure_tags.through
        through.objects.bulk_create(
            [
                through(review_id=review.pk, failuretag_id=tags[slug])
                for review, parsed, _ in pending
                for slug in parsed.tags
            ],
            ignore_conflicts=True,
        )
        notes = [
            Note(
                take_id=take.pk,
                review_id=review.pk,
                author_id=review.reviewer_id,
                seconds=n.seconds,
                frame=n.frame,
                tag_id=tags[n.tag] if n.tag else None,
                text=n.text,
            )
            for review, parsed, take in pending
            for n in parsed.notes
        ]
        Note.objects.bulk_create(notes)
        self.report.reviews_created += len(pending)
        self.report.notes_created += len(notes)
        touched = {take.pk: take for _, _, take in pending}
        takes_current_refresh(take_ids=touched)
        return list(touched.values())
