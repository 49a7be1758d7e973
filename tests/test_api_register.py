"""Registering takes through the API: multipart upload (sniffed, capped), by media URL (refused
for loopback and private addresses; fetched by a real worker from a 127.0.0.1 server when the
setting allows it), idempotent on external_id and on the Idempotency-Key header."""

import http.server
import threading
import time

import pytest
from django.test import Client

from generations.models import IdempotencyKey, Take, TakeStatus
from generations.services.tokens import api_token_create

from .clips import clip_bytes, mp4_upload, upload

API = "/api/v1/projects/neon-market/takes"


@pytest.fixture
def lead(members):
    return {"Authorization": f"Bearer {api_token_create(user=members['lead'], name='t')[1]}"}


def post_file(client, headers, version, *, file=None, **fields):
    data = {"version_id": version.pk, "model": "Sora-2", **fields}
    data["file"] = file if file is not None else mp4_upload("street.mp4")
    return client.post(API, data, headers=headers)


def media_files(settings) -> list:
    root = settings.MEDIA_ROOT / "takes"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_an_upload_registers_a_processing_take(client, lead, version, settings):
    response = post_file(client, lead, version, external_id="gen-0042", cost_usd="1.25")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["external_id"], body["model"], body["status"]) == (
        "gen-0042",
        "sora-2",
        "processing",
    )
    assert body["cost_usd"] == 1.25 and body["cost_source"] == "reported"
    take = Take.objects.get(pk=body["id"])
    assert take.duration_s == 1 and take.width == 160 and take.media
    assert len(media_files(settings)) == 1


def test_the_same_external_id_gives_back_the_same_take(client, lead, version, settings):
    first = post_file(client, lead, version, external_id="gen-7")
    again = post_file(client, lead, version, external_id="gen-7")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Take.objects.filter(external_id="gen-7").count() == 1
    assert len(media_files(settings)) == 1  # the repeat stored nothing


def test_an_idempotency_key_replays_the_first_answer(client, lead, version, settings):
    headers = {**lead, "Idempotency-Key": "upload-1"}
    file_bytes = clip_bytes()
    first = post_file(client, headers, version, file=upload("a.mp4", file_bytes))
    again = post_file(client, headers, version, file=upload("a.mp4", file_bytes))
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Take.objects.count() == 1 and len(media_files(settings)) == 1
    other = post_file(client, headers, version, file=upload("b.mp4", file_bytes))
    assert other.status_code == 422 and "different request" in other.json()["message"]
    assert Take.objects.count() == 1


def test_an_idempotency_key_on_a_json_post(client, lead, version, settings):
    settings.DAILIES_ALLOW_PRIVATE_URLS = True
    headers = {**lead, "Idempotency-Key": "url-1"}
    data = {"version_id": version.pk, "model": "veo-3", "media_url": "http://127.0.0.1:9/a.mp4"}
    first = client.post(f"{API}/from-url", data, content_type="application/json", headers=headers)
    again = client.post(f"{API}/from-url", data, content_type="application/json", headers=headers)
    assert first.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert Take.objects.count() == 1
    assert IdempotencyKey.objects.get(key="url-1").status_code == 201


def test_a_failed_request_frees_its_key(client, lead, version):
    headers = {**lead, "Idempotency-Key": "retry-me"}
    bad = post_file(client, headers, version, file=upload("notes.mp4", b"not a video at all"))
    assert bad.status_code == 400 and "file" in bad.json()["errors"]
    assert not IdempotencyKey.objects.exists()
    good = post_file(client, headers, version)
    assert good.status_code == 201


def test_a_non_video_is_refused_and_nothing_is_stored(client, lead, version, settings):
    response = post_file(client, lead, version, file=upload("x.mp4", b"<html>hello</html>" * 50))
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["file"]
    assert not Take.objects.exists() and media_files(settings) == []


def test_an_oversize_upload_is_refused_with_the_reason(client, lead, version, settings):
    settings.DAILIES_MAX_UPLOAD_BYTES = 1000
    settings.DAILIES_MAX_UPLOAD_MB = 0.001
    response = post_file(client, lead, version)
    assert response.status_code == 400
    assert "limit" in response.json()["errors"]["file"][0]
    assert not Take.objects.exists()


def test_a_version_of_another_project_is_a_field_error(client, lead, outsider):
    from .factories import PromptVersionFactory, ShotFactory

    foreign = PromptVersionFactory(shot=ShotFactory(project=outsider.memberships.get().project))
    response = post_file(client, lead, foreign)
    assert response.status_code == 400 and list(response.json()["errors"]) == ["version_id"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/take.mp4",
        "http://localhost/take.mp4",
        "http://10.1.2.3/take.mp4",
        "http://192.168.0.10/take.mp4",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/take.mp4",
        "ftp://example.com/take.mp4",
        "file:///etc/passwd",
    ],
)
def test_url_registration_refuses_loopback_and_private_addresses(
    client, lead, version, url, settings
):
    settings.DAILIES_ALLOW_PRIVATE_URLS = False
    data = {"version_id": version.pk, "model": "veo-3", "media_url": url}
    response = client.post(f"{API}/from-url", data, content_type="application/json", headers=lead)
    assert response.status_code == 400
    assert response.json()["errors"]["media_url"]
    assert not Take.objects.exists()


class _ClipServer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        if self.path != "/clip.mp4":
            self.send_error(404)
            return
        body = clip_bytes(seconds=2.0)
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def clip_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ClipServer)
    # shutdown() waits for serve_forever to notice it: poll every 10 ms, not every 0.5 s.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def wait_for_status(take_id: int, timeout: float = 30.0) -> Take:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        take = Take.objects.get(pk=take_id)
        if take.status != TakeStatus.PROCESSING:
            return take
        time.sleep(0.1)
    return Take.objects.get(pk=take_id)


@pytest.mark.worker
def test_a_worker_fetches_a_url_take_from_a_local_server(
    celery_worker, clip_server, settings, members, version
):
    settings.DAILIES_ALLOW_PRIVATE_URLS = True
    client = Client()
    secret = api_token_create(user=members["lead"], name="t")[1]
    headers = {"Authorization": f"Bearer {secret}"}
    data = {
        "version_id": version.pk,
        "model": "veo-3",
        "media_url": f"{clip_server}/clip.mp4",
        "external_id": "veo-op-1",
    }
    response = client.post(
        f"{API}/from-url", data, content_type="application/json", headers=headers
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "processing"
    take = wait_for_status(response.json()["id"])
    assert take.status == TakeStatus.READY, take.status_reason
    assert take.media and take.poster and float(take.duration_s) == 2.0
    assert take.media_size == len(clip_bytes(seconds=2.0))

    missing = {**data, "media_url": f"{clip_server}/gone.mp4", "external_id": "veo-op-2"}
    response = client.post(
        f"{API}/from-url", missing, content_type="application/json", headers=headers
    )
    broken = wait_for_status(response.json()["id"])
    assert broken.status == TakeStatus.BROKEN and "404" in broken.status_reason
