"""Reading video with PyAV: sniff and probe an upload, then one decode pass for the poster,
thumbnail, filmstrip sprite and flicker signal. Pure functions over files; no database."""

import io
from dataclasses import dataclass, field
from fractions import Fraction

import av
from PIL import Image

# Containers we accept, by the name FFmpeg's content probe gives (never by file extension).
ACCEPTED_FORMATS = {"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi"}
FILMSTRIP_FRAMES = 10
FILMSTRIP_WIDTH = 160
THUMB_WIDTH = 320
POSTER_MAX_WIDTH = 1280
# Luma is sampled on a small grey image: enough for a brightness signal, cheap to sum.
LUMA_SIZE = (32, 18)


class NotAVideo(ValueError):
    """The file is not a playable video; the message is shown to the user."""


@dataclass
class VideoInfo:
    duration_s: float
    fps: float
    width: int
    height: int
    codec: str
    container: str

    @property
    def extension(self) -> str:
        """The file extension for this container and codec, for storage and content type."""
        if self.container == "avi":
            return "avi"
        if self.container.startswith("matroska"):
            return "webm" if self.codec in {"vp8", "vp9", "av1"} else "mkv"
        return "mp4"


@dataclass
class MediaAnalysis:
    poster: bytes = b""
    thumbnail: bytes = b""
    filmstrip: bytes = b""
    filmstrip_frames: int = 0
    frames_decoded: int = 0
    flicker_score: float | None = None
    flicker_series: list[float] = field(default_factory=list)


def _open(source):
    try:
        return av.open(source, mode="r")
    except (av.FFmpegError, UnicodeDecodeError, OSError) as exc:
        raise NotAVideo("This file is not a video that can be read.") from exc


def probe(source) -> VideoInfo:
    """Sniff a file (path or binary file object) and read its metadata; decode one frame to make
    sure the stream is actually playable. Raises NotAVideo with a user-facing reason."""
    container = _open(source)
    try:
        if container.format.name not in ACCEPTED_FORMATS:
            raise NotAVideo(f"Unsupported container ({container.format.long_name}).")
        if not container.streams.video:
            raise NotAVideo("The file has no video stream.")
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / av.time_base
        else:
            duration = 0.0
        width = stream.codec_context.width
        height = stream.codec_context.height
        codec = stream.codec_context.name or ""
        if duration <= 0 or fps <= 0 or not width or not height:
            raise NotAVideo("The video has no duration, frame rate or size.")
        _check_complete(container, stream)
        container.seek(0)
        try:
            next(container.decode(stream))
        except (StopIteration, av.FFmpegError) as exc:
            raise NotAVideo("The video has no decodable frames (truncated?).") from exc
        return VideoInfo(
            duration_s=round(duration, 3),
            fps=round(fps, 3),
            width=width,
            height=height,
            codec=codec,
            container=container.format.name,
        )
    finally:
        container.close()


def _check_complete(container, stream) -> None:
    """Read every packet (no decoding: milliseconds) so a file cut short is refused. A
    'faststart' MP4 keeps its index up front, so an interrupted download still opens and
    claims its full duration; its last packet then comes back corrupt, or packets are missing."""
    packets = 0
    try:
        for packet in container.demux(stream):
            if not packet.size:
                continue  # the demuxer's end-of-stream marker
            if packet.is_corrupt:
                raise NotAVideo("The video is truncated: its last frames are missing.")
            packets += 1
    except av.FFmpegError as exc:
        raise NotAVideo("The video is truncated or damaged.") from exc
    if stream.frames and packets < stream.frames:
        raise NotAVideo("The video is truncated: its last frames are missing.")


def _jpeg(image: Image.Image, quality: int = 82) -> bytes:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def _fit(image: Image.Image, width: int) -> Image.Image:
    if image.width <= width:
        return image
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def analyse(path: str, *, duration_s: float) -> MediaAnalysis:
    """One sequential decode: poster at a third of the clip (past fade-ins), a filmstrip of
    evenly spaced frames, and the per-frame mean luma for the flicker signal."""
    container = _open(path)
    result = MediaAnalysis()
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        duration = max(duration_s, 0.001)
        poster_at = duration / 3
        strip_times = [duration * (i + 0.5) / FILMSTRIP_FRAMES for i in range(FILMSTRIP_FRAMES)]
        strip: list[Image.Image] = []
        poster: Image.Image | None = None
        last_image: Image.Image | None = None
        lumas: list[float] = []
        try:
            for frame in container.decode(stream):
                result.frames_decoded += 1
                t = float(frame.pts * frame.time_base) if frame.pts is not None else 0.0
                grey = frame.reformat(width=LUMA_SIZE[0], height=LUMA_SIZE[1], format="gray")
                plane = bytes(grey.planes[0])
                # Rows may be padded: take only width bytes per line.
                stride = grey.planes[0].line_size
                pixels = sum(
                    sum(plane[row * stride : row * stride + LUMA_SIZE[0]])
                    for row in range(LUMA_SIZE[1])
                )
                lumas.append(pixels / (LUMA_SIZE[0] * LUMA_SIZE[1]))
                need_poster = poster is None and t >= poster_at
                need_strip = len(strip) < FILMSTRIP_FRAMES and t >= strip_times[len(strip)]
                if need_poster or need_strip:
                    image = frame.to_image()
                    last_image = image
                    if need_poster:
                        poster = image
                    if need_strip:
                        strip.append(_fit(image, FILMSTRIP_WIDTH))
                elif last_image is None:
                    last_image = frame.to_image()
        except av.FFmpegError:
            # A truncated tail still gives a usable poster if we decoded enough frames.
            if result.frames_decoded == 0:
                raise NotAVideo("No frame could be decoded.") from None
        if result.frames_decoded == 0:
            raise NotAVideo("No frame could be decoded.")
        poster = poster or last_image
        result.poster = _jpeg(_fit(poster, POSTER_MAX_WIDTH))
        result.thumbnail = _jpeg(_fit(poster, THUMB_WIDTH), quality=75)
        if strip:
            sprite = Image.new("RGB", (FILMSTRIP_WIDTH * len(strip), strip[0].height))
            for i, image in enumerate(strip):
                sprite.paste(image, (i * FILMSTRIP_WIDTH, 0))
            result.filmstrip = _jpeg(sprite, quality=70)
            result.filmstrip_frames = len(strip)
        deltas = [abs(b - a) for a, b in zip(lumas, lumas[1:], strict=False)]
        if deltas:
            result.flicker_score = round(sum(deltas) / len(deltas), 4)
            result.flicker_series = _downsample(deltas, 120)
        return result
    finally:
        container.close()


def _downsample(values: list[float], points: int) -> list[float]:
    if len(values) <= points:
        return [round(v, 3) for v in values]
    step = Fraction(len(values), points)
    out = []
    for i in range(points):
        chunk = values[int(i * step) : int((i + 1) * step)] or [0.0]
        out.append(round(max(chunk), 3))
    return out


def render_test_clip(
    path,
    *,
    seconds: float = 2.0,
    fps: int = 24,
    size: tuple[int, int] = (320, 180),
    hue: int = 0,
    flicker: bool = False,
    container_format: str = "mp4",
    codec: str = "libx264",
) -> None:
    """Render a small H.264 MP4 with PyAV (demo data and tests: no downloads). A moving bar over
    a gradient, with a frame counter drawn as blocks; `flicker` alternates the brightness."""
    width, height = size
    container = av.open(str(path), mode="w", format=container_format)
    stream = container.add_stream(codec, rate=fps)
    stream.width, stream.height = width, height
    stream.pix_fmt = "yuv420p"
    if codec == "libx264":
        stream.options = {"preset": "ultrafast", "tune": "zerolatency", "g": str(fps)}
    total = max(1, round(seconds * fps))
    base = Image.new("RGB", (width, height))
    for x in range(width):
        shade = int(60 + 120 * x / width)
        colour = ((shade + hue) % 256, (shade + 2 * hue) % 200, (200 - shade + hue) % 256)
        base.paste(colour, (x, 0, x + 1, height))
    for i in range(total):
        image = base.copy()
        bar_x = int((width - 20) * i / max(1, total - 1))
        image.paste((240, 240, 240), (bar_x, height // 3, bar_x + 20, 2 * height // 3))
        for bit in range(10):  # frame number as binary blocks: every frame differs visibly
            if i >> bit & 1:
                image.paste((255, 220, 0), (4 + bit * 10, 4, 12 + bit * 10, 12))
        if flicker and i % 2:
            image = image.point(lambda v: min(255, v + 70))
        frame = av.VideoFrame.from_image(image)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
