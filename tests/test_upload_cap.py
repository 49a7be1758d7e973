import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from generations.models import Membership, Role, Take
from generations.services import media

from .factories import PromptVersionFactory, UserFactory


@pytest.mark.django_db
def test_an_oversize_file_is_dropped_while_streaming_and_the_others_land(
    client, settings, tmp_path
):
    version = PromptVersionFactory()
    lead = UserFactory()
    Membership.objects.create(project=version.shot.project, user=lead, role=Role.LEAD)
    client.force_login(lead)
    small, big = tmp_path / "small.mp4", tmp_path / "big.mp4"
    media.render_test_clip(small, seconds=1)
    media.render_test_clip(big, seconds=4, size=(640, 360))
    settings.DAILIES_MAX_UPLOAD_BYTES = (small.stat().st_size + big.stat().st_size) // 2
    assert small.stat().st_size < settings.DAILIES_MAX_UPLOAD_BYTES < big.stat().st_size

    files = [
        SimpleUploadedFile("big.mp4", big.read_bytes(), "video/mp4"),
        SimpleUploadedFile("small.mp4", small.read_bytes(), "video/mp4"),
    ]
    url = f"/projects/{version.shot.project.slug}/versions/{version.pk}/upload/"
    response = client.post(url, {"files": files, "model": "sora-2"})

    assert response.status_code == 400
    assert "big.mp4: over the" in response.content.decode()
    assert list(Take.objects.values_list("original_filename", flat=True)) == ["small.mp4"]
    # Only one video reached storage.
    stored = [p for p in (settings.MEDIA_ROOT / "takes").rglob("*") if p.is_file()]
    assert len(stored) == 1 and stored[0].stat().st_size == small.stat().st_size


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("container_format", "codec", "extension", "content_type"),
    [
        ("webm", "libvpx-vp9", "webm", "video/webm"),
        ("matroska", "libx264", "mkv", "video/x-matroska"),
    ],
)
def test_other_containers_are_stored_and_served_as_what_they_are(
    client, tmp_path, container_format, codec, extension, content_type
):
    version = PromptVersionFactory()
    lead = UserFactory()
    Membership.objects.create(project=version.shot.project, user=lead, role=Role.LEAD)
    client.force_login(lead)
    path = tmp_path / "clip.bin"
    media.render_test_clip(path, seconds=1, container_format=container_format, codec=codec)
    url = f"/projects/{version.shot.project.slug}/versions/{version.pk}/upload/"
    upload = SimpleUploadedFile("clip.mp4", path.read_bytes(), "video/mp4")  # a lying name
    response = client.post(url, {"files": [upload], "model": "sora-2"})
    assert response.status_code == 302
    take = Take.objects.get()
    assert take.media.name.endswith(f".{extension}")
    served = client.get(f"/projects/{version.shot.project.slug}/takes/{take.pk}/media/video/")
    assert served["Content-Type"] == content_type


@pytest.mark.django_db
def test_an_upload_gets_a_readable_unique_external_id(client, tmp_path):
    version = PromptVersionFactory()
    lead = UserFactory()
    Membership.objects.create(project=version.shot.project, user=lead, role=Role.LEAD)
    client.force_login(lead)
    path = tmp_path / "clip.mp4"
    media.render_test_clip(path, seconds=1)
    url = f"/projects/{version.shot.project.slug}/versions/{version.pk}/upload/"
    for _ in range(2):  # the same file twice: two takes, two ids
        upload = SimpleUploadedFile("Street Vendor (take 3).mp4", path.read_bytes(), "video/mp4")
        assert client.post(url, {"files": [upload], "model": "sora-2"}).status_code == 302
    ids = list(Take.objects.values_list("external_id", flat=True))
    assert len(set(ids)) == 2
    assert all(
        i.startswith("street-vendor-take-3-") and len(i) == len("street-vendor-take-3-") + 8
        for i in ids
    )
