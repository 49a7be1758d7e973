"""The prompt library's file format: one YAML file per shot holding its lineage, written so that
a git diff shows exactly what changed (fixed key order, parameters sorted, no line folding,
multi-line prompts as block scalars), and read back with a safe loader that also refuses YAML
aliases (a few lines of aliases expand into gigabytes). Also the ZIP container of the web
download and upload, with size caps; nothing is ever extracted to disk.

    dailies_prompt_library: 1
    shot: opening-street
    description: ''
    target_duration_s: '8.00'
    versions:
    - number: 1
      parent: null
      text: a street food vendor, slow dolly-in, golden hour
      negative_prompt: ''
      parameters: {}
      change_note: ''
"""

import io
import posixpath
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import yaml
from django.utils.text import slugify

from . import limits

FORMAT_VERSION = 1
SUFFIXES = (".yaml", ".yml")
# Caps for one import (ZIP upload or directory): a shot of 500 versions at the prompt limit is
# about 6 MB of YAML.
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_FILES = 5000
MAX_TOTAL_BYTES = 64 * 1024 * 1024
MAX_ZIP_BYTES = 16 * 1024 * 1024  # the upload itself
MAX_VERSIONS_PER_FILE = 2000
VERSION_KEYS = ("number", "parent", "text", "negative_prompt", "parameters", "change_note")


class LibraryError(ValueError):
    """A library cannot be read; `problems` lists each as "file: what is wrong"."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class VersionEntry:
    number: int | None  # None: a new version, numbered after the shot's latest
    parent: int | None
    text: str
    negative_prompt: str
    parameters: dict
    change_note: str


@dataclass(frozen=True)
class ShotFile:
    name: str  # the file's name, for messages
    shot: str
    description: str
    target_duration_s: Decimal | None
    versions: list[VersionEntry] = field(default_factory=list)


# --- writing ---------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, value: str):
    # Multi-line prompts as literal blocks: a changed line is a changed line in the diff.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _sorted(value):
    if isinstance(value, dict):
        return {str(k): _sorted(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def shot_document(*, shot, versions) -> str:
    """The YAML text of one shot and its versions (ordered by number)."""
    data = {
        "dailies_prompt_library": FORMAT_VERSION,
        "shot": shot.name,
        "description": shot.description,
        "target_duration_s": (
            str(shot.target_duration_s) if shot.target_duration_s is not None else None
        ),
        "versions": [
            {
                "number": v.number,
                "parent": v.parent_number,
                "text": v.text,
                "negative_prompt": v.negative_prompt,
                "parameters": _sorted(v.parameters or {}),
                "change_note": v.change_note,
            }
            for v in sorted(versions, key=lambda v: v.number)
        ],
    }
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=float("inf"),
    )


def file_names(shot_names: list[str]) -> dict[str, str]:
    """Shot name -> file name: its slug, made unique in name order (the same names always give
    the same files, on any instance)."""
    taken: set[str] = set()
    out = {}
    for name in sorted(shot_names):
        base = slugify(name)[:80] or "shot"
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}-{n}", n + 1
        taken.add(candidate)
        out[name] = candidate + ".yaml"
    return out


def zip_bytes(files: dict[str, str]) -> bytes:
    """The files in a ZIP, in name order, with fixed timestamps (the same library, the same
    bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name].encode("utf-8"))
    return buffer.getvalue()


# --- reading ---------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)


def _text(value, what: str, *, max_length: int, single_line: bool, required: bool = False):
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text")
    problem = limits.text_problem(value, max_length=max_length, single_line=single_line)
    if problem:
        raise ValueError(f"{what} {problem}")
    if required and not value.strip():
        raise ValueError(f"{what} is empty")
    return value


def _int(value, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a whole number from 1")
    return value


def _version(raw, index: int) -> VersionEntry:
    where = f"versions[{index}]"
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be a mapping")
    unknown = set(raw) - {
        "number",
        "parent",
        "text",
        "negative_prompt",
        "parameters",
        "change_note",
    }
    if unknown:
        raise ValueError(f"{where} has unknown keys: {', '.join(sorted(map(str, unknown)))}")
    parameters = raw.get("parameters") or {}
    problem = limits.parameters_problem(parameters)
    if problem:
        raise ValueError(f"{where}.parameters {problem}")
    return VersionEntry(
        number=_int(raw.get("number"), f"{where}.number"),
        parent=_int(raw.get("parent"), f"{where}.parent"),
        text=_text(
            raw.get("text"),
            f"{where}.text",
            max_length=limits.PROMPT_MAX,
            single_line=False,
            required=True,
        ).strip(),
        negative_prompt=_text(
            raw.get("negative_prompt"),
            f"{where}.negative_prompt",
            max_length=limits.NEGATIVE_PROMPT_MAX,
            single_line=False,
        ).strip(),
        parameters=parameters,
        change_note=_text(
            raw.get("change_note"),
            f"{where}.change_note",
            max_length=limits.CHANGE_NOTE_MAX,
            single_line=True,
        ).strip(),
    )


def parse_shot_file(name: str, data: bytes) -> ShotFile:
    """One file's content, checked; raises ValueError with the reason (without the name)."""
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"is {len(data):,} bytes, over the {MAX_FILE_BYTES:,}-byte cap")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("is not UTF-8 text") from None
    try:
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise ValueError(f"is not valid YAML{at}: {reason}") from None
    if not isinstance(doc, dict):
        raise ValueError("is not a Dailies prompt library file (expected a mapping)")
    if doc.get("dailies_prompt_library") != FORMAT_VERSION:
        raise ValueError(f"does not start with 'dailies_prompt_library: {FORMAT_VERSION}'")
    shot = _text(
        doc.get("shot"), "shot", max_length=limits.SHOT_NAME_MAX, single_line=True, required=True
    ).strip()
    description = _text(
        doc.get("description"),
        "description",
        max_length=limits.SHOT_DESCRIPTION_MAX,
        single_line=False,
    )
    duration = doc.get("target_duration_s")
    if duration is not None:
        try:
            duration = Decimal(str(duration)).quantize(Decimal("0.01"))
        except InvalidOperation:
            raise ValueError("target_duration_s must be a number of seconds") from None
        if not (0 <= duration < 100000):
            raise ValueError("target_duration_s is out of range")
    raw_versions = doc.get("versions") or []
    if not isinstance(raw_versions, list):
        raise ValueError("versions must be a list")
    if len(raw_versions) > MAX_VERSIONS_PER_FILE:
        raise ValueError(f"has more than {MAX_VERSIONS_PER_FILE} versions")
    versions = [_version(raw, i) for i, raw in enumerate(raw_versions)]
    numbers = [v.number for v in versions if v.number is not None]
    if len(numbers) != len(set(numbers)):
        raise ValueError("two versions have the same number")
    return ShotFile(name, shot, description, duration, versions)


def read_files(files: dict[str, bytes]) -> list[ShotFile]:
    """Every YAML file, parsed; all problems at once (LibraryError), or the shots."""
    problems, shots = [], []
    names = sorted(n for n in files if n.lower().endswith(SUFFIXES))
    if not names:
        raise LibraryError(["no .yaml files found"])
    if len(names) > MAX_FILES:
        raise LibraryError([f"{len(names):,} files, over the cap of {MAX_FILES:,}"])
    seen: dict[str, str] = {}
    for name in names:
        try:
            shot = parse_shot_file(name, files[name])
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
            continue
        if shot.shot in seen:
            problems.append(f"{name}: shot {shot.shot!r} is also in {seen[shot.shot]}")
            continue
        seen[shot.shot] = name
        shots.append(shot)
    if problems:
        raise LibraryError(problems)
    return shots


def read_zip(upload) -> dict[str, bytes]:
    """The YAML entries of an uploaded ZIP, by base name, read in memory with caps. Entries
    with absolute paths or '..' are refused; folders and other files are skipped."""
    if upload.size > MAX_ZIP_BYTES:
        raise LibraryError([f"the ZIP is over the {MAX_ZIP_BYTES // 1_048_576} MB cap"])
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError):
        raise LibraryError(["the upload is not a ZIP file"]) from None
    out: dict[str, bytes] = {}
    total = 0
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_FILES:
            raise LibraryError([f"the ZIP holds more than {MAX_FILES:,} entries"])
        for info in infos:
            name = info.filename
            parts = name.replace("\\", "/").split("/")
            if name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
                raise LibraryError([f"{name}: unsafe path in the ZIP"])
            if info.is_dir() or not name.lower().endswith(SUFFIXES):
                continue
            base = posixpath.basename(name.replace("\\", "/"))
            if base.startswith("._"):
                continue  # macOS resource forks
            if info.file_size > MAX_FILE_BYTES:
                raise LibraryError([f"{name}: over the {MAX_FILE_BYTES:,}-byte cap"])
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                raise LibraryError(["the ZIP expands to more than the 64 MB cap"])
            if base in out:
                raise LibraryError([f"{name}: two files named {base}"])
            try:
                with archive.open(info) as entry:
                    data = entry.read(MAX_FILE_BYTES + 1)  # never trust the declared size
            except (zipfile.BadZipFile, RuntimeError, OSError, EOFError) as exc:
                raise LibraryError([f"{name}: cannot be read ({exc})"]) from None
            if len(data) > MAX_FILE_BYTES:
                raise LibraryError([f"{name}: over the {MAX_FILE_BYTES:,}-byte cap"])
            out[base] = data
    return out
