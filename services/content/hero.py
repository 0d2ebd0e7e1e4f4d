"""A stored hero image as clients see it, with the links the API layer hands in: the
renditions, the `og:image` and the JSON-LD `image`. No URL is built here."""

from dataclasses import dataclass
from typing import Any, Protocol

from schemas.media import HeroImage, ImageRendition, OgImage


class ContentLinks(Protocol):
    """Where clients find media and articles; `api.links.ContentLinkBuilder` implements it."""

    def media(self, name: str) -> str:
        """The absolute URL of a stored rendition."""

    def article(self, slug: str, locale: str) -> str:
        """Where the API serves an article in a locale."""

    def button_label(self, locale: str, own: str) -> str:
        """The consultation button's words in `locale` (the clinic's, else `own`)."""


@dataclass(frozen=True)
class PublicHero:
    """A hero image for the response, and its `og:image`."""

    image: HeroImage
    og: OgImage


def public_hero(stored: dict[str, Any] | None, links: ContentLinks) -> PublicHero | None:
    """The client's view of a stored hero image (None for none)."""
    if not stored or not stored.get("renditions"):
        return None
    renditions = [
        ImageRendition(
            url=links.media(r["name"]),
            width=r["width"],
            height=r["height"],
            mime_type=r["mime_type"],
            size=r["size"],
        )
        for r in stored["renditions"]
    ]
    jpegs = [r for r in stored["renditions"] if r["mime_type"] == "image/jpeg"]
    widest = max(jpegs or stored["renditions"], key=lambda r: r["width"])
    image = HeroImage(
        alt=stored["alt"],
        caption=stored["caption"],
        credit=stored["credit"],
        width=stored["width"],
        height=stored["height"],
        dominant_color=stored["dominant_color"],
        src=links.media(widest["name"]),
        renditions=renditions,
    )
    og = OgImage(
        url=links.media(widest["name"]),
        width=widest["width"],
        height=widest["height"],
        mime_type=widest["mime_type"],
        alt=stored["alt"],
    )
    return PublicHero(image, og)


def json_ld_image(hero: PublicHero | None) -> dict[str, Any] | None:
    """schema.org ImageObject for the page's JSON-LD."""
    if hero is None:
        return None
    return {
        "@type": "ImageObject",
        "url": hero.og.url,
        "width": hero.og.width,
        "height": hero.og.height,
        "caption": hero.image.caption,
    }
