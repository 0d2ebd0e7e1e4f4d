"""Draw the demo hero images in content/media/ with Pillow: calm, abstract gradients and soft
shapes, no text, nothing downloaded. Deterministic: the same script draws the same bytes.

    .venv/bin/python -m scripts.draw_media [--out content/media]
"""

import argparse
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 1800, 1000
Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Scene:
    """One picture: a vertical gradient and a few soft, translucent shapes."""

    name: str
    top: Colour
    bottom: Colour
    shapes: tuple[Colour, ...]
    seed: int
    waves: bool = False


SCENES = (
    Scene("iv-ketamine-hero", (28, 62, 94), (126, 168, 190), ((236, 200, 160), (90, 140, 170)), 7),
    Scene(
        "stellate-ganglion-block-hero",
        (40, 78, 72),
        (170, 204, 188),
        ((250, 236, 200), (110, 160, 140)),
        11,
        waves=True,
    ),
    Scene("nad-plus-hero", (70, 52, 96), (206, 180, 200), ((255, 226, 190), (150, 120, 170)), 23),
)


def _gradient(top: Colour, bottom: Colour) -> Image.Image:
    column = Image.new("RGB", (1, HEIGHT))
    for y in range(HEIGHT):
        t = y / (HEIGHT - 1)
        mixed = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        column.putpixel((0, y), mixed)
    return column.resize((WIDTH, HEIGHT))


def draw(scene: Scene) -> Image.Image:
    """The scene as an RGB image, WIDTH by HEIGHT."""
    rng = random.Random(scene.seed)  # noqa: S311 - shapes, not secrets
    base = _gradient(scene.top, scene.bottom)
    layer = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    pen = ImageDraw.Draw(layer)
    for index in range(6):
        colour = scene.shapes[index % len(scene.shapes)]
        r = rng.randint(140, 360)
        x, y = rng.randint(0, WIDTH), rng.randint(HEIGHT // 4, HEIGHT)
        pen.ellipse((x - r, y - r, x + r, y + r), fill=(*colour, rng.randint(50, 95)))
    if scene.waves:
        for band in range(4):
            y0 = 520 + band * 90
            points = [(x, y0 + 40 * ((x // 300) % 2)) for x in range(0, WIDTH + 300, 300)]
            pen.line(points, fill=(*scene.shapes[0], 70), width=26, joint="curve")
    soft = layer.filter(ImageFilter.GaussianBlur(60))
    picture = Image.alpha_composite(base.convert("RGBA"), soft).convert("RGB")
    # A 256-colour palette (dithered) keeps each PNG well under 200 KB; the blur hides the steps.
    return picture.quantize(
        colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG
    )


def main() -> None:
    """Write every scene as <name>.png into the output folder."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("content/media"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for scene in SCENES:
        path = args.out / f"{scene.name}.png"
        draw(scene).save(path, optimize=True)
        print(f"{path}: {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
