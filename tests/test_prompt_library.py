"""The prompt library as files: export, import into an empty project, export again gives the
same bytes; imports add only new versions, refuse edits, and write nothing on any problem."""

import io
import zipfile
from decimal import Decimal

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from generations.models import Membership, PromptVersion, Role, Shot
from generations.prompt_files import LibraryError, read_zip, zip_bytes
from generations.selectors.prompt_library import prompt_library_files
from generations.services.prompt_library import prompt_library_import

from .factories import ProjectFactory, PromptVersionFactory, ShotFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def library(project):
    """Shots whose lineages are not straight lines: a gap in the numbers, a branch, multi-line
    and non-ASCII prompts, nested parameters, a shot without versions, names with one slug."""
    street = ShotFactory(
        project=project,
        name="opening street",
        description="dawn\nwet asphalt",
        target_duration_s=Decimal("8.00"),
    )
    v1 = PromptVersionFactory(
        shot=street, number=1, text="a street at dawn", parameters={"seed": 7}
    )
    v2 = PromptVersionFactory(
        shot=street,
        number=2,
        parent=v1,
        text="a street at dawn,\nslow dolly-in\n  steam rising",
        negative_prompt="text, logos",
        change_note="dolly instead of pan",
        parameters={"seed": 7, "camera": {"move": "dolly", "speed": 0.25}, "tags": ["a", "b"]},
    )
    PromptVersionFactory(shot=street, number=4, parent=v1, text="Straße im Morgengrauen — 夜明け")
    PromptVersionFactory(shot=street, number=5, parent=v2, text="v5: ‘quotes’: and # hashes")
    ShotFactory(project=project, name="opening-street")  # same slug, no versions
    alley = ShotFactory(project=project, name="alley")
    PromptVersionFactory(shot=alley, number=1, text="- starts with a dash", parameters={})
    return project


def export(project, tmp_path, name):
    out = tmp_path / name
    call_command("prompts_export", project.slug, str(out))
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_export_import_export_gives_identical_files(library, tmp_path):
    first = export(library, tmp_path, "a")
    assert sorted(first) == ["alley.yaml", "opening-street-2.yaml", "opening-street.yaml"]
    empty = ProjectFactory(slug="empty")
    call_command("prompts_import", "empty", str(tmp_path / "a"))
    second = export(empty, tmp_path, "b")
    assert second == first
    street = Shot.objects.get(project=empty, name="opening street")
    numbers = dict(street.versions.values_list("number", "parent__number"))
    assert numbers == {1: None, 2: 1, 4: 1, 5: 2}
    assert street.target_duration_s == Decimal("8.00")
    v2 = street.versions.get(number=2)
    assert v2.text == "a street at dawn,\nslow dolly-in\n  steam rising"
    assert v2.parameters == {
        "camera": {"move": "dolly", "speed": 0.25},
        "seed": 7,
        "tags": ["a", "b"],
    }


def test_a_file_is_diff_friendly(library):
    text = prompt_library_files(project=library)["opening-street.yaml"]
    doc = yaml.safe_load(text)
    assert list(doc) == [
        "dailies_prompt_library",
        "shot",
        "description",
        "target_duration_s",
        "versions",
    ]
    assert list(doc["versions"][1]) == [
        "number",
        "parent",
        "text",
        "negative_prompt",
        "parameters",
        "change_note",
    ]
    # Multi-line prompts are literal blocks, one prompt line per file line.
    assert "  text: |-\n    a street at dawn,\n    slow dolly-in\n      steam rising\n" in text
    assert list(doc["versions"][1]["parameters"]) == ["camera", "seed", "tags"]


def test_importing_twice_adds_nothing_and_a_new_entry_adds_one_version(library, tmp_path):
    files = {k: v.encode() for k, v in prompt_library_files(project=library).items()}
    report = prompt_library_import(project=library, files=files)
    assert (report.created, report.unchanged, report.shots_created) == (0, 5, [])

    doc = yaml.safe_load(files["alley.yaml"])
    doc["versions"].append({"parent": 1, "text": "the alley, now raining", "change_note": "rain"})
    files["alley.yaml"] = yaml.safe_dump(doc, sort_keys=False).encode()
    report = prompt_library_import(project=library, files=files)
    assert report.versions_created == {"alley.yaml": [2]}
    new = PromptVersion.objects.get(shot__project=library, shot__name="alley", number=2)
    assert (new.parent.number, new.text, new.change_note) == (1, "the alley, now raining", "rain")


def test_an_edited_version_or_a_bad_file_imports_nothing(library):
    files = {k: v.encode() for k, v in prompt_library_files(project=library).items()}
    doc = yaml.safe_load(files["opening-street.yaml"])
    doc["versions"][0]["text"] = "rewritten history"
    doc["versions"].append({"text": "a new version that must not land either"})
    files["opening-street.yaml"] = yaml.safe_dump(doc).encode()
    files["alley.yaml"] = files["alley.yaml"].replace(b"versions:", b"versions: [oops")
    files["new-shot.yaml"] = yaml.safe_dump(
        {"dailies_prompt_library": 1, "shot": "new\nshot", "versions": [{"text": "x"}]}
    ).encode()
    before = (Shot.objects.count(), PromptVersion.objects.count())

    with pytest.raises(LibraryError) as caught:
        prompt_library_import(project=library, files=files)

    problems = caught.value.problems
    assert any(p.startswith("alley.yaml: is not valid YAML (line") for p in problems)
    assert any(p.startswith("new-shot.yaml: shot contains a line break") for p in problems)
    assert (Shot.objects.count(), PromptVersion.objects.count()) == before
    # With only the edited version wrong, still nothing is written.
    files = {k: v.encode() for k, v in prompt_library_files(project=library).items()}
    files["opening-street.yaml"] = yaml.safe_dump(doc).encode()
    with pytest.raises(LibraryError, match="v1 differs from the stored v1"):
        prompt_library_import(project=library, files=files)
    assert (Shot.objects.count(), PromptVersion.objects.count()) == before


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"a: &x [1]\nb: *x\n", "aliases"),
        (b"!!python/object:os.system {}\n", "not valid YAML"),
        (b"dailies_prompt_library: 1\nshot: s\nversions:\n- text: ''\n", "text is empty"),
        (b"dailies_prompt_library: 1\nshot: s\nversions:\n- text: x\n  parent: 3\n", "parent v3"),
        (b"dailies_prompt_library: 1\nshot: s\nversions:\n- {text: x, seed: 1}\n", "unknown keys"),
        (b"\xff\xfe", "not UTF-8"),
        (
            ("dailies_prompt_library: 1\nshot: s\nversions:\n- text: " + "x" * 8001).encode(),
            "8,000",
        ),
    ],
)
def test_each_problem_is_named_with_its_file(project, content, reason):
    with pytest.raises(LibraryError) as caught:
        prompt_library_import(project=project, files={"s.yaml": content})
    assert caught.value.problems[0].startswith("s.yaml: ")
    assert reason in caught.value.problems[0]
    assert not Shot.objects.filter(project=project).exists()


def test_the_command_reports_problems_and_exits_non_zero(project, tmp_path):
    (tmp_path / "bad.yaml").write_text("dailies_prompt_library: 2\n")
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("prompts_import", project.slug, str(tmp_path))
    with pytest.raises(CommandError, match="No project"):
        call_command("prompts_export", "nope", str(tmp_path))


def _zip(entries: dict[str, bytes]) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return SimpleUploadedFile("library.zip", buffer.getvalue(), content_type="application/zip")


def test_zip_reading_refuses_traversal_and_bombs():
    with pytest.raises(LibraryError, match="unsafe path"):
        read_zip(_zip({"../../etc/x.yaml": b"a: 1"}))
    with pytest.raises(LibraryError, match="unsafe path"):
        read_zip(_zip({"/abs.yaml": b"a: 1"}))
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.yaml", b"#" * (9 * 1024 * 1024))
    with pytest.raises(LibraryError, match="cap"):
        read_zip(SimpleUploadedFile("b.zip", bomb.getvalue()))
    with pytest.raises(LibraryError, match="not a ZIP"):
        read_zip(SimpleUploadedFile("x.zip", b"PK\x03\x04 but not really"))
    # Folders and other files are skipped; YAML files are read by their base name.
    assert read_zip(_zip({"lib/a.yaml": b"x", "lib/readme.txt": b"y"})) == {"a.yaml": b"x"}


def test_the_zip_round_trips_through_the_pages(client, library, members):
    client.force_login(members["viewer"])
    response = client.get(reverse("prompt_library_download", args=[library.slug]))
    assert response["Content-Disposition"] == 'attachment; filename="neon-market-prompts.zip"'
    data = response.content
    assert data == zip_bytes(prompt_library_files(project=library))  # same library, same bytes

    other = ProjectFactory(slug="copy")
    lead = members["lead"]
    Membership.objects.create(project=other, user=lead, role=Role.LEAD)
    client.force_login(lead)
    upload = SimpleUploadedFile("lib.zip", data, content_type="application/zip")
    response = client.post(reverse("prompt_library", args=["copy"]), {"library": upload})
    assert response.status_code == 302
    assert zip_bytes(prompt_library_files(project=other)) == data

    bad = _zip({"a.yaml": b"dailies_prompt_library: 1\nversions: 3\n"})
    response = client.post(reverse("prompt_library", args=["copy"]), {"library": bad})
    assert response.status_code == 400
    assert "a.yaml: shot is empty" in response.text or "a.yaml: shot must be text" in response.text


def test_a_viewer_cannot_upload(client, library, members):
    client.force_login(members["viewer"])
    upload = _zip({"a.yaml": b"x"})
    response = client.post(reverse("prompt_library", args=[library.slug]), {"library": upload})
    assert response.status_code == 403
