"""Clips for the demo that look like footage: a textured scene, the camera move the prompt asks
for (dolly-in, pan, static), subjects that move, the duration the prompt states, and on purpose
some of the defects reviewers tag (flicker bursts, warping). Rendered with PyAV and Pillow only:
no downloads, a fraction of a second per clip at the demo's size."""

import math
import random

import av
from PIL import Image, ImageChops, ImageDraw, ImageFilter

SIZE = (320, 180)
FPS = 24


def _scene(width: int, height: int, hue: int, rng: random.Random) -> Image.Image:
    """A scene twice the frame size, so the camera can move over it: a dusk gradient, film-grain
    texture, neon signs and lanterns, and a street."""
    sky = Image.linear_gradient("L").resize((width, height))
    colour = Image.merge(
        "RGB",
        (
            sky.point(lambda v: 20 + (v * 80 // 255 + hue) % 120),
            sky.point(lambda v: 15 + v * 50 // 255),
            sky.point(lambda v: 60 + (120 - v * 60 // 255 + hue // 2) % 140),
        ),
    )
    grain = Image.effect_noise((width, height), 18).convert("RGB")
    scene = ImageChops.add(
        ImageChops.multiply(colour, grain.point(lambda v: 155 + v // 3)),
        grain.point(lambda v: v // 12),
    )
    draw = ImageDraw.Draw(scene)
    street_y = int(height * 0.68)
    draw.rectangle((0, street_y, width, height), fill=(28, 26, 34))
    for x in range(0, width, 24):  # paving joints: texture that shows motion
        draw.line((x, street_y, x - 40, height), fill=(44, 40, 52), width=1)
    for _ in range(14):  # stalls with neon signs
        x, w = rng.randrange(0, width - 60), rng.randrange(30, 70)
        top = rng.randrange(int(height * 0.3), int(height * 0.5))
        draw.rectangle((x, top, x + w, street_y), fill=(40 + rng.randrange(40), 30, 45))
        neon = [(255, 60, 140), (60, 220, 255), (255, 190, 60), (120, 255, 120)][rng.randrange(4)]
        draw.rectangle((x + 4, top + 4, x + w - 4, top + 10), fill=neon)
    for _ in range(30):  # lanterns
        x, y = rng.randrange(width), rng.randrange(int(height * 0.05), int(height * 0.3))
        draw.ellipse((x, y, x + 7, y + 9), fill=(255, 150 + rng.randrange(80), 60))
    return scene.filter(ImageFilter.SMOOTH)


def render_demo_clip(
    path,
    *,
    seconds: float,
    camera: str = "static",
    hue: int = 0,
    seed: int = 0,
    flicker: bool = False,
    warp: bool = False,
    size: tuple[int, int] = SIZE,
    fps: int = FPS,
) -> None:
    """An H.264 MP4 of `seconds` at `fps`. camera: dolly-in, pan-left or static."""
    rng = random.Random(seed)
    width, height = size
    scene = _scene(width * 2, height * 2, hue, rng)
    walkers = [
        (rng.uniform(0, 2 * width), rng.uniform(1.2, 3.5), rng.choice([1, -1]), rng.randrange(60))
        for _ in range(9)
    ]
    container = av.open(str(path), mode="w", format="mp4")
    stream = container.add_stream("libx264", rate=fps)
    stream.width, stream.height = width, height
    stream.pix_fmt = "yuv420p"
    stream.options = {"preset": "ultrafast", "g": str(fps)}
    total = max(1, round(seconds * fps))
    for i in range(total):
        t = i / max(1, total - 1)
        frame = scene.copy()
        draw = ImageDraw.Draw(frame)
        street = int(height * 2 * 0.68)
        for x0, speed, direction, shade in walkers:  # people walking along the street
            x = (x0 + direction * speed * i) % (2 * width)
            bob = 2 * math.sin(i * 0.6 + x0)
            body = (70 + shade, 60 + shade // 2, 80)
            draw.ellipse((x, street - 52 + bob, x + 12, street - 40 + bob), fill=(210, 170, 140))
            draw.rectangle((x - 2, street - 40 + bob, x + 14, street - 8 + bob), fill=body)
        steam = int(40 * t)  # rising steam over a wok
        draw.ellipse(
            (width - 10, street - 90 - steam, width + 50, street - 50 - steam),
            fill=(200, 200, 210),
        )
        # The camera move over the scene: crop a window and bring it to the frame size.
        if camera == "dolly-in":
            zoom = 1.0 + 0.35 * t
            w, h = 2 * width / (1.4 * zoom), 2 * height / (1.4 * zoom)
            cx, cy = width, height * 1.05
        elif camera == "pan-left":
            w, h = width * 1.2, height * 1.2
            cx, cy = width * 1.4 - width * 0.8 * t, height
        else:
            w, h = width * 1.2, height * 1.2
            cx, cy = width, height
        box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        image = frame.resize(size, Image.BILINEAR, box=box)
        if warp:
            # Geometry that breathes: a shear that grows and shrinks (the "warping" defect).
            shear = 0.18 * math.sin(i * 0.35) * t
            image = image.transform(
                size, Image.AFFINE, (1, shear, -shear * height / 2, 0, 1, 0), Image.BILINEAR
            )
        if flicker and (i // 3) % 4 == 1:
            # Bursts of brightness in static regions (the "flicker" defect).
            image = image.point(lambda v: min(255, v + 60))
        video = av.VideoFrame.from_image(image)
        for packet in stream.encode(video):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
