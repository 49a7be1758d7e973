"""Real video files for the tests, rendered with PyAV (no downloads), once per session."""

import functools
import io
import tempfile
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from generations.services.media import render_test_clip

_DIR = Path(tempfile.mkdtemp(prefix="dailies-test-clips-"))


@functools.cache
def clip_bytes(seconds: float = 1.0, fps: int = 24, size: tuple[int, int] = (160, 96)) -> bytes:
    path = _DIR / f"clip-{seconds}-{fps}-{size[0]}x{size[1]}.mp4"
    render_test_clip(path, seconds=seconds, fps=fps, size=size)
    return path.read_bytes()


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 36), (200, 40, 40)).save(buf, format="PNG")
    return buf.getvalue()


def upload(name: str, data: bytes, content_type: str = "video/mp4") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def mp4_upload(name: str = "take.mp4", **clip) -> SimpleUploadedFile:
    return upload(name, clip_bytes(**clip))
