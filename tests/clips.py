"""Real video files for the tests, rendered with PyAV (no downloads), once per session."""

import atexit
import functools
import io
import shutil
import tempfile
from pathlib import Path

import av
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from generations.services.media import render_test_clip

_DIR = Path(tempfile.mkdtemp(prefix="dailies-test-clips-"))
atexit.register(shutil.rmtree, _DIR, ignore_errors=True)


@functools.cache
def clip_bytes(seconds: float = 1.0, fps: int = 24, size: tuple[int, int] = (160, 96)) -> bytes:
    path = _DIR / f"clip-{seconds}-{fps}-{size[0]}x{size[1]}.mp4"
    render_test_clip(path, seconds=seconds, fps=fps, size=size)
    return path.read_bytes()


@functools.cache
def faststart_clip_bytes(seconds: float = 2.0, fps: int = 24) -> bytes:
    """An MP4 with its index ("moov") up front, as providers deliver them for streaming: cut
    short, it still opens and claims its full duration."""
    path = _DIR / f"faststart-{seconds}-{fps}.mp4"
    container = av.open(str(path), mode="w", format="mp4", options={"movflags": "faststart"})
    stream = container.add_stream("libx264", rate=fps)
    stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
    stream.options = {"preset": "ultrafast", "g": str(fps)}
    for i in range(round(seconds * fps)):
        image = Image.new("RGB", (160, 96), ((i * 7) % 256, 90, 160))
        for packet in stream.encode(av.VideoFrame.from_image(image)):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path.read_bytes()


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 36), (200, 40, 40)).save(buf, format="PNG")
    return buf.getvalue()


def upload(name: str, data: bytes, content_type: str = "video/mp4") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def mp4_upload(name: str = "take.mp4", **clip) -> SimpleUploadedFile:
    return upload(name, clip_bytes(**clip))
