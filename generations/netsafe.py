"""Outbound HTTP that a user can aim: media URLs registered through the API, provider outputs and
webhook deliveries. One set of address rules for all of them:

- http and https only;
- the host must resolve, and every address it resolves to must be public: loopback, private,
  link-local (cloud metadata at 169.254.169.254), multicast, reserved and unspecified addresses
  are refused unless `DAILIES_ALLOW_PRIVATE_URLS` is set (tests and fake providers on 127.0.0.1);
- redirects are followed by hand, at most a few, each target checked by the same rules;
- a timeout per call and a byte cap on every download, enforced while streaming.

The check resolves the name just before the request; a DNS answer that changes between the two
(rebinding) is a residual risk that a deployment closes with an egress proxy."""

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
from django.conf import settings

MAX_REDIRECTS = 5


class UnsafeURL(ValueError):
    """The URL may not be fetched; the message says why, in words a user can act on."""


class FetchError(Exception):
    """The fetch was allowed but failed: HTTP error, timeout, oversize body."""


@dataclass(frozen=True)
class Fetched:
    path: Path
    size: int
    content_type: str
    final_url: str


def _allow_private() -> bool:
    return bool(getattr(settings, "DAILIES_ALLOW_PRIVATE_URLS", False))


def url_check(url: str) -> None:
    """Raise UnsafeURL unless `url` is http(s) to a host whose every address is public."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise UnsafeURL(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("only http and https URLs are allowed")
    host = parts.hostname
    if not host:
        raise UnsafeURL("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeURL("URLs with credentials in them are not allowed")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeURL("the URL's port is not a number between 0 and 65535") from None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeURL(f"the host {host!r} does not resolve") from None
    if _allow_private():
        return
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if getattr(address, "ipv4_mapped", None):
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            raise UnsafeURL(
                f"the host {host!r} resolves to a private or reserved address ({address}); "
                "only public addresses are allowed"
            )


def _client(timeout: float) -> httpx.Client:
    return httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False)


def fetch_to_file(
    url: str, *, dest: Path, max_bytes: int, timeout: float = 30.0, headers=None
) -> Fetched:
    """Download `url` into `dest` (created or truncated), checking every hop and capping the
    body at `max_bytes` while it streams. On any failure `dest` is removed."""
    dest = Path(dest)
    try:
        with _client(timeout) as client:
            for _ in range(MAX_REDIRECTS + 1):
                url_check(url)
                with client.stream("GET", url, headers=headers or {}) as response:
                    if response.is_redirect:
                        target = urljoin(url, response.headers.get("location", ""))
                        if _origin(target) != _origin(url):
                            headers = None  # a provider's key never follows to another host
                        url = target
                        continue
                    if response.status_code >= 400:
                        raise FetchError(f"the server answered HTTP {response.status_code}")
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise FetchError(_too_big(int(declared), max_bytes))
                    size = 0
                    with open(dest, "wb") as out:
                        for chunk in response.iter_bytes(64 * 1024):
                            size += len(chunk)
                            if size > max_bytes:
                                raise FetchError(_too_big(size, max_bytes, at_least=True))
                            out.write(chunk)
                    return Fetched(
                        path=dest,
                        size=size,
                        content_type=response.headers.get("content-type", ""),
                        final_url=url,
                    )
            raise FetchError(f"more than {MAX_REDIRECTS} redirects")
    except httpx.TimeoutException:
        dest.unlink(missing_ok=True)
        raise FetchError(f"no answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        dest.unlink(missing_ok=True)
        raise FetchError(f"the download failed: {exc.__class__.__name__}") from None
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


def post(url: str, *, content: bytes, headers: dict, timeout: float = 10.0) -> httpx.Response:
    """One POST to a checked URL, redirects not followed (a webhook receiver answers itself)."""
    url_check(url)
    with _client(timeout) as client:
        return client.post(url, content=content, headers=headers)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme, (parts.hostname or "").lower(), port


def _too_big(size: int, cap: int, at_least: bool = False) -> str:
    more = "more than " if at_least else ""
    return f"the file is {more}{size / 1e6:.1f} MB, over the {cap / 1e6:.1f} MB cap"
