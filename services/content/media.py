"""Hero images: read and check a source file, make its responsive renditions with Pillow, and
store them in the database by content hash, where every API process can read them.

Names only: `api/links.py` turns a rendition's name into its URL."""

import hashlib
import io
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError, features
from sqlalchemy import delete, update
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from db.models import Article, MediaAsset, MediaRendition, Therapy, utcnow

MAX_PIXELS = 20_000_000
MAX_FILE_BYTES = 40 * 1024 * 1024
WIDTHS = (480, 960, 1600)
# Bump when an encoder setting below changes: the bytes change, so do the names.
RECIPE = "r1"
SOURCE_FORMATS = ("PNG", "JPEG", "WEBP")
NAME_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*-[0-9]{1,5}w-[0-9a-f]{16}\.(?:avif|webp|jpg)$"
_NAME = re.compile(NAME_PATTERN)


@dataclass(frozen=True)
class Encoding:
    """One output format: Pillow's name, its MIME type, the file extension, save options."""

    format: str
    mime_type: str
    extension: str
    options: tuple[tuple[str, Any], ...]


JPEG = Encoding(
    "JPEG", "image/jpeg", "jpg", (("quality", 82), ("optimize", True), ("progressive", True))
)
WEBP = Encoding("WEBP", "image/webp", "webp", (("quality", 80), ("method", 4)))
AVIF = Encoding("AVIF", "image/avif", "avif", (("quality", 55), ("speed", 8)))


def encodings() -> list[Encoding]:
    """The formats this Pillow can write, best first (AVIF only when built in)."""
    return [*([AVIF] if features.check("avif") else []), WEBP, JPEG]


@dataclass(frozen=True)
class SourceImage:
    """A checked source file: its bytes, pixel size and SHA-256."""

    file: str
    data: bytes
    width: int
    height: int
    sha256: str


class ImageRefusedError(ValueError):
    """An image that cannot be used; `too_large` when only its size is wrong."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def read_source(path: Path, shown_as: str) -> tuple[SourceImage | None, str | None]:
    """The image at `path`, or why it cannot be used (naming it as `shown_as`)."""
    if not path.is_file():
        return None, f"{shown_as}: file not found"
    if path.stat().st_size > MAX_FILE_BYTES:
        return None, f"{shown_as}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"
    try:
        return check_image(path.read_bytes(), shown_as), None
    except ImageRefusedError as exc:
        return None, str(exc)


def check_image(data: bytes, shown_as: str) -> SourceImage:
    """`data` as a checked source image, or ImageRefusedError naming it as `shown_as`: not a
    PNG, JPEG or WebP Pillow can decode whole, or over MAX_PIXELS (checked from the header,
    before anything is decoded)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=SOURCE_FORMATS) as image:
                width, height = image.size  # the header only: nothing decoded yet
                if width * height > MAX_PIXELS:
                    raise ImageRefusedError(_too_large(shown_as, width, height), too_large=True)
                image.load()  # a truncated or corrupt file fails here
                width, height = ImageOps.exif_transpose(image).size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefusedError(
            f"{shown_as}: image over {MAX_PIXELS // 1_000_000} megapixels", too_large=True
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        if isinstance(exc, ImageRefusedError):
            raise
        raise ImageRefusedError(
            f"{shown_as}: not an image Pillow can read (PNG, JPEG or WebP)"
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    return SourceImage(shown_as, data, width, height, digest)


def without_metadata(source: SourceImage) -> SourceImage:
    """`source` saved again with its pixels only, upright: no EXIF (GPS included), XMP or
    comments. PNG stays lossless; JPEG and WebP are encoded again at a high quality."""
    with Image.open(io.BytesIO(source.data), formats=SOURCE_FORMATS) as opened:
        kind = opened.format or "PNG"
        image = ImageOps.exif_transpose(opened)
        if kind == "JPEG" and image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        # Pillow writes back what `info` keeps (a JPEG comment, PNG text); the colour profile
        # is all that stays.
        profile = image.info.get("icc_profile")
        image.info = {"icc_profile": profile} if profile else {}
        buffer = io.BytesIO()
        options: dict[str, Any] = {"optimize": True} if kind == "PNG" else {"quality": 95}
        image.save(buffer, kind, **options)
    return check_image(buffer.getvalue(), source.file)


def _too_large(shown_as: str, width: int, height: int) -> str:
    return (
        f"{shown_as}: {width}x{height} is {width * height / 1_000_000:.1f} megapixels; "
        f"the limit is {MAX_PIXELS // 1_000_000}"
    )


def rendition_widths(width: int) -> list[int]:
    """Standard widths up to the source's own, plus its own width when it is narrower than the
    largest: never upscaled, and the sharpest version is always offered."""
    widths = [w for w in WIDTHS if w <= width]
    if width < WIDTHS[-1] and width not in widths:
        widths.append(width)
    return widths


def dominant_colour(image: Image.Image) -> str:
    """The most common of a few representative colours, as `#rrggbb`."""
    small = image.convert("RGB").resize((64, 64), Image.Resampling.BOX)
    palette = small.quantize(colors=5, method=Image.Quantize.MEDIANCUT)
    counts: list[tuple[int, int]] = sorted(palette.getcolors() or [], reverse=True)  # type: ignore[arg-type]
    index = counts[0][1] if counts else 0
    rgb = (palette.getpalette() or [0, 0, 0])[index * 3 : index * 3 + 3]
    return "#" + "".join(f"{c:02x}" for c in rgb)


def _flat_rgb(source: SourceImage) -> Image.Image:
    with Image.open(io.BytesIO(source.data), formats=SOURCE_FORMATS) as opened:
        image = ImageOps.exif_transpose(opened)
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            return flat
        return image.convert("RGB")


def render(source: SourceImage, stem: str) -> tuple[list[MediaRendition], str]:
    """Every rendition of `source` (named `<stem>-<width>w-<hash>.<ext>`, the hash of the
    rendition's own bytes) and its dominant colour. Metadata is not copied into them."""
    image = _flat_rgb(source)
    colour = dominant_colour(image)
    out: list[MediaRendition] = []
    for width in rendition_widths(image.width):
        height = max(1, round(image.height * width / image.width))
        resized = (
            image
            if width == image.width
            else image.resize((width, height), Image.Resampling.LANCZOS)
        )
        for enc in encodings():
            buffer = io.BytesIO()
            resized.save(buffer, enc.format, **dict(enc.options))
            data = buffer.getvalue()
            digest = hashlib.sha256(data).hexdigest()[:16]
            out.append(
                MediaRendition(
                    name=f"{stem}-{width}w-{digest}.{enc.extension}",
                    source_sha256=source.sha256,
                    recipe=RECIPE,
                    mime_type=enc.mime_type,
                    width=width,
                    height=height,
                    dominant_color=colour,
                    size=len(data),
                    data=data,
                )
            )
    return out, colour


def file_stem(file: str) -> str:
    """A slug-like stem for rendition names from a source file name."""
    stem = re.sub(r"[^a-z0-9]+", "-", Path(file).stem.lower()).strip("-")
    return stem[:60].strip("-") or "image"


def store(
    *,
    session: Session,
    source: SourceImage,
    file_name: str | None = None,
    uploaded: MediaAsset | None = None,
) -> dict[str, Any]:
    """The source kept whole (once per hash: `uploaded` is a new upload's row) and its
    renditions (made once per source hash and recipe), as the description an article or
    therapy keeps: the asset's id, names, sizes, types, dominant colour."""
    asset = session.exec(select(MediaAsset).where(MediaAsset.sha256 == source.sha256)).first()
    if asset is None:
        asset = uploaded or MediaAsset(
            sha256=source.sha256,
            file_name=file_name or Path(source.file).name,
            mime_type=mime_of(source),
            width=source.width,
            height=source.height,
            size=len(source.data),
            data=source.data,
            source="import",
        )
        session.add(asset)
        session.flush()
    rows = _renditions(session, source.sha256)
    if not _complete(rows):
        made, _ = render(source, file_stem(source.file))
        known = {r.name for r in rows}
        for row in made:
            if row.name not in known:
                session.add(row)
        session.flush()
        rows = made
    return _described(asset, rows)


def _renditions(session: Session, sha256: str) -> list[MediaRendition]:
    """A source's stored renditions under the current recipe (their bytes are not loaded)."""
    return list(
        session.exec(
            select(MediaRendition)
            .where(MediaRendition.source_sha256 == sha256, MediaRendition.recipe == RECIPE)
            .options(defer(MediaRendition.data))  # type: ignore[arg-type]
            .order_by(col(MediaRendition.name))
        )
    )


def _complete(rows: list[MediaRendition]) -> bool:
    return bool(rows) and {r.mime_type for r in rows} == {e.mime_type for e in encodings()}


def stored_description(session: Session, asset: MediaAsset) -> dict[str, Any]:
    """An asset's description as `store` gives it, rendered again only when its renditions
    were collected (the source's bytes are read only then)."""
    rows = _renditions(session, asset.sha256)
    if _complete(rows):
        return _described(asset, rows)
    return store(session=session, source=source_of(asset))


def _described(asset: MediaAsset, rows: list[MediaRendition]) -> dict[str, Any]:
    order = {e.mime_type: n for n, e in enumerate(encodings())}
    rows = sorted(rows, key=lambda r: (order.get(r.mime_type, 99), r.width))
    return {
        "media_id": str(asset.id),
        "sha256": asset.sha256,
        "width": asset.width,
        "height": asset.height,
        "dominant_color": rows[0].dominant_color,
        "renditions": [
            {
                "name": r.name,
                "width": r.width,
                "height": r.height,
                "mime_type": r.mime_type,
                "size": r.size,
            }
            for r in rows
            if r.mime_type in order
        ],
    }


def mime_of(source: SourceImage) -> str:
    """The MIME type of a checked image's bytes."""
    with Image.open(io.BytesIO(source.data), formats=SOURCE_FORMATS) as image:
        return Image.MIME.get(image.format or "", "application/octet-stream")


def source_of(asset: MediaAsset) -> SourceImage:
    """A stored asset as a source image (checked when it was stored)."""
    return SourceImage(asset.file_name, asset.data, asset.width, asset.height, asset.sha256)


def find(*, session: Session, name: str) -> MediaRendition | None:
    """A stored rendition by its name (None for any other string)."""
    if len(name) > 200 or not _NAME.match(name):
        return None
    return session.get(MediaRendition, name)


def collect(*, session: Session, keep: timedelta, now: datetime | None = None) -> int:
    """Mark the renditions no article or therapy names (any status: drafts are previewed,
    archived rows may come back) as orphaned, unmark those named again, and delete those
    orphaned for longer than `keep`; returns how many went.

    An orphan stays servable for `keep`, the change feed's retention: a page or an app that
    synced the article before its image changed still finds the old image, and a client whose
    sync cursor is older than that resyncs from scratch (410) and gets the new names."""
    now = now or utcnow()
    named = set(_names_in(session.scalars(select(col(Article.hero_image)))))
    named.update(_names_in(session.scalars(select(col(Therapy.hero_image)))))
    stored = session.exec(select(MediaRendition.name, MediaRendition.orphaned_at)).all()
    back = [name for name, since in stored if since is not None and name in named]
    gone = [name for name, since in stored if since is None and name not in named]
    for names, since in ((back, None), (gone, now)):
        for chunk in _chunks(names):
            session.execute(
                update(MediaRendition)
                .where(col(MediaRendition.name).in_(chunk))
                .values(orphaned_at=since)
            )
    removed = session.execute(
        delete(MediaRendition).where(col(MediaRendition.orphaned_at) < now - keep)
    )
    return int(removed.rowcount)  # type: ignore[attr-defined]


def _names_in(heroes: Iterable[Mapping[str, Any] | None]) -> Iterable[str]:
    for hero in heroes:
        for rendition in (hero or {}).get("renditions", []):
            yield rendition["name"]


def _chunks(names: list[str], size: int = 500) -> Iterable[list[str]]:
    """Bounded IN lists: SQLite caps the parameters of one statement."""
    for start in range(0, len(names), size):
        yield names[start : start + size]
