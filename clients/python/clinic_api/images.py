"""Responsive images from a hero image's renditions: one `srcset` per format, for a
`<picture>` with a `<source type>` per format and the JPEG as the `<img>` every browser shows."""

from collections.abc import Sequence
from dataclasses import dataclass

from clinic_api_client.models import HeroImage, ImageRendition

# A browser takes the first <source> whose type it knows: the smaller formats go first.
PREFERRED = ("image/avif", "image/webp")


def srcset(renditions: Sequence[ImageRendition], mime_type: str) -> str:
    """`url 480w, url 960w, ...` of the renditions in `mime_type`, narrowest first."""
    chosen = sorted((r for r in renditions if r.mime_type == mime_type), key=lambda r: r.width)
    return ", ".join(f"{r.url} {r.width}w" for r in chosen)


@dataclass(frozen=True)
class Picture:
    """What a `<picture>` needs: each format's `(type, srcset)`, then the JPEG `<img>`."""

    sources: list[tuple[str, str]]
    src: str
    img_srcset: str
    width: int
    height: int
    alt: str


def picture_sources(image: HeroImage) -> Picture:
    """The `<source>`s (AVIF and WebP, where present) and the JPEG `<img>` of a hero image."""
    present = {r.mime_type for r in image.renditions}
    return Picture(
        sources=[(t, srcset(image.renditions, t)) for t in PREFERRED if t in present],
        src=image.src,
        img_srcset=srcset(image.renditions, "image/jpeg"),
        width=image.width,
        height=image.height,
        alt=image.alt,
    )
