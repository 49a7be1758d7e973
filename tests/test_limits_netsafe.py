"""The shared text rules (generations.limits) and the outbound URL rules (generations.netsafe)."""

import http.server
import threading

import pytest

from generations import limits, netsafe


@pytest.mark.parametrize(
    ("value", "single", "reason"),
    [
        ("Maria's kitchen", True, None),
        ("two\nlines", True, "line break"),
        ("two\nlines", False, None),
        ("bell\x07", False, "control character"),
        ("nul\x00", False, "NUL"),
        ("lone \ud800", True, "surrogate"),
        ("para\u2029sep", True, "line break"),
        ("x" * 121, True, "121 characters"),
    ],
)
def test_text_problem(value, single, reason):
    problem = limits.text_problem(value, max_length=120, single_line=single)
    if reason is None:
        assert problem is None
    else:
        assert reason in problem


def test_parameters_problem():
    assert limits.parameters_problem({"camera": "dolly", "seed": 3}) is None
    assert "object" in limits.parameters_problem([1, 2])
    deep = {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}
    assert "deeper" in limits.parameters_problem(deep)
    assert "bytes" in limits.parameters_problem({"p": "x" * (limits.PARAMETERS_MAX_BYTES + 1)})
    assert limits.parameters_problem({"k": "\ud800"}) is not None


def test_single_line_strips_controls():
    assert (
        limits.single_line("shot\r\n* FROM CLIP NAME: x\x00 <a>") == "shot * FROM CLIP NAME: x <a>"
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/a.mp4", "http and https"),
        ("file:///etc/passwd", "http and https"),
        ("http://127.0.0.1/a.mp4", "private or reserved"),
        ("http://localhost:8000/a", "private or reserved"),
        ("http://10.1.2.3/a", "private or reserved"),
        ("http://169.254.169.254/latest/meta-data", "private or reserved"),
        ("http://[::1]/a", "private or reserved"),
        ("http://user:pw@example.com/a", "credentials"),
        ("http://no-such-host.invalid/a", "does not resolve"),
    ],
)
def test_url_check_refuses(url, reason, settings):
    settings.DAILIES_ALLOW_PRIVATE_URLS = False
    with pytest.raises(netsafe.UnsafeURL, match=reason):
        netsafe.url_check(url)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        if self.path == "/elsewhere":  # the same server under another host name
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{self.server.server_address[1]}/echo")
            self.end_headers()
            return
        if self.path == "/echo":
            body = (self.headers.get("x-goog-api-key") or "none").encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/file")
            self.end_headers()
            return
        body = b"x" * 5000
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        if self.path != "/nolength":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    # shutdown() waits for serve_forever to notice it: poll every 10 ms, not every 0.5 s.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_fetch_to_file_follows_checked_redirects_and_caps(local_server, settings, tmp_path):
    settings.DAILIES_ALLOW_PRIVATE_URLS = False
    with pytest.raises(netsafe.UnsafeURL):
        netsafe.fetch_to_file(f"{local_server}/file", dest=tmp_path / "a", max_bytes=10_000)
    assert not (tmp_path / "a").exists()

    settings.DAILIES_ALLOW_PRIVATE_URLS = True
    got = netsafe.fetch_to_file(f"{local_server}/redirect", dest=tmp_path / "b", max_bytes=10_000)
    assert (got.size, got.content_type) == (5000, "video/mp4")
    assert got.final_url.endswith("/file")
    assert (tmp_path / "b").stat().st_size == 5000

    for path in ("/file", "/nolength"):  # declared, then discovered while streaming
        with pytest.raises(netsafe.FetchError, match="cap"):
            netsafe.fetch_to_file(f"{local_server}{path}", dest=tmp_path / "c", max_bytes=4000)
        assert not (tmp_path / "c").exists()


def test_fetch_drops_request_headers_on_a_redirect_to_another_host(
    local_server, settings, tmp_path
):
    settings.DAILIES_ALLOW_PRIVATE_URLS = True
    key = {"x-goog-api-key": "secret-key"}
    same = netsafe.fetch_to_file(
        f"{local_server}/echo", dest=tmp_path / "a", max_bytes=100, headers=key
    )
    assert same.path.read_bytes() == b"secret-key"
    moved = netsafe.fetch_to_file(
        f"{local_server}/elsewhere", dest=tmp_path / "b", max_bytes=100, headers=key
    )
    assert moved.final_url.startswith("http://localhost:")
    assert moved.path.read_bytes() == b"none"
