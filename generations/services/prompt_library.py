"""Importing a prompt library (generations.prompt_files): creates the shots and versions the
files hold that the project does not have yet, and nothing else. Versions are never edited: a
stored version whose file entry differs is reported, not overwritten. Every file is checked
before anything is written, and everything is written in one transaction, so an import either
happens whole or not at all."""

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from ..models import Project, PromptVersion, Shot
from ..prompt_files import LibraryError, ShotFile, VersionEntry, read_files


@dataclass
class LibraryImport:
    shots_created: list[str] = field(default_factory=list)
    # File name -> numbers of the versions created from it.
    versions_created: dict[str, list[int]] = field(default_factory=dict)
    unchanged: int = 0  # versions already stored exactly as in the files

    @property
    def created(self) -> int:
        return sum(len(v) for v in self.versions_created.values())


def _same(stored: PromptVersion, entry: VersionEntry, parent_number) -> bool:
    return (
        stored.text.strip() == entry.text
        and stored.negative_prompt.strip() == entry.negative_prompt
        and (stored.parameters or {}) == entry.parameters
        and stored.change_note.strip() == entry.change_note
        and parent_number == entry.parent
    )


def _plan(shot_file: ShotFile, stored: dict[int, PromptVersion], problems: list[str]):
    """The entries to create, each with its number, or problems."""
    by_pk = {v.pk: v.number for v in stored.values()}
    new: list[tuple[int, VersionEntry]] = []
    unchanged = 0
    for entry in shot_file.versions:
        if entry.number is None:
            continue
        if entry.number in stored:
            version = stored[entry.number]
            if _same(version, entry, by_pk.get(version.parent_id)):
                unchanged += 1
            else:
                problems.append(
                    f"{shot_file.name}: v{entry.number} differs from the stored v{entry.number} "
                    "(versions are never edited: add a new version with a parent instead)"
                )
        else:
            new.append((entry.number, entry))
    latest = max([*stored, *(n for n, _ in new), 0])
    for entry in shot_file.versions:
        if entry.number is None:
            latest += 1
            new.append((latest, entry))
    known = set(stored) | {n for n, _ in new}
    for number, entry in new:
        if entry.parent is not None and (entry.parent not in known or entry.parent >= number):
            problems.append(
                f"{shot_file.name}: v{number}'s parent v{entry.parent} is not an earlier "
                "version of this shot"
            )
    return sorted(new, key=lambda item: item[0]), unchanged


def prompt_library_import(
    *, project: Project, files: dict[str, bytes], author=None, dry_run: bool = False
) -> LibraryImport:
    """Import files (name -> bytes). Raises LibraryError listing every problem, per file."""
    shot_files = read_files(files)
    report = LibraryImport()
    with transaction.atomic():
        # Locked: two imports of the same shots take turns instead of racing for numbers.
        shots = {
            s.name: s
            for s in Shot.objects.select_for_update().filter(
                project=project, name__in=[f.shot for f in shot_files]
            )
        }
        stored: dict[int, dict[int, PromptVersion]] = {}
        for version in PromptVersion.objects.filter(shot__in=shots.values()):
            stored.setdefault(version.shot_id, {})[version.number] = version
        problems: list[str] = []
        plans = []
        for shot_file in shot_files:
            shot = shots.get(shot_file.shot)
            versions = stored.get(shot.pk, {}) if shot else {}
            new, unchanged = _plan(shot_file, versions, problems)
            report.unchanged += unchanged
            plans.append((shot_file, shot, versions, new))
        if problems:
            raise LibraryError(problems)
        for shot_file, shot, versions, new in plans:
            if shot is None:
                report.shots_created.append(shot_file.shot)
            if new:
                report.versions_created[shot_file.name] = [n for n, _ in new]
            if dry_run:
                continue
            if shot is None:
                shot = Shot(
                    project=project,
                    name=shot_file.shot,
                    description=shot_file.description,
                    target_duration_s=shot_file.target_duration_s,
                )
                shot.full_clean()
                shot.save()
            by_number = dict(versions)
            for number, entry in new:
                version = PromptVersion(
                    shot=shot,
                    number=number,
                    parent=by_number.get(entry.parent) if entry.parent else None,
                    text=entry.text,
                    negative_prompt=entry.negative_prompt,
                    parameters=entry.parameters,
                    change_note=entry.change_note,
                    author=author,
                )
                version.full_clean(exclude=["shot", "parent", "author"], validate_unique=False)
                try:
                    with transaction.atomic():
                        version.save()
                except IntegrityError:
                    raise LibraryError(
                        [f"{shot_file.name}: v{number} was just created by someone else; retry"]
                    ) from None
                by_number[number] = version
    return report
