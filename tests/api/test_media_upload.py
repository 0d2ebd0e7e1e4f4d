"""Image uploads for the editorial API: checked, stripped of EXIF (GPS included), rendered as
the import renders, listed, and used as an article's hero image."""

import io

from PIL import ExifTags, Image
from sqlmodel import Session, select

from db.models import MediaAsset
from tests.editorial_helpers import Desk

MEDIA = "/v1/admin/media"


def _jpeg_with_gps(width: int = 1200, height: int = 800) -> bytes:
    image = Image.new("RGB", (width, height), (60, 106, 134))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Orientation] = 6  # shown rotated: the stored image is upright
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (52.0, 22.0, 1.5), 3: "E", 4: (4.0, 53.0, 2.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), quality=90)
    return buffer.getvalue()


def _upload(desk: Desk, data: bytes, kind: str = "image/jpeg", **words: str):
    return desk.client.post(
        MEDIA,
        files={"file": ("Clinic Room.JPG", data, kind)},
        data={"alt": "A quiet treatment room", **words},
        headers=desk.writer,
    )


def test_an_upload_is_stored_without_its_metadata_and_rendered(desk: Desk, seeded):
    raw = _jpeg_with_gps()
    assert b"PhoneMaker" in raw
    answer = _upload(desk, raw, caption="Our Austin clinic", credit="Clinic photo")
    assert answer.status_code == 201, answer.text
    asset = answer.json()
    assert (asset["width"], asset["height"]) == (800, 1200), "turned upright by its EXIF"
    assert asset["alt"] == "A quiet treatment room" and asset["credit"] == "Clinic photo"
    assert {r["width"] for r in asset["renditions"]} == {480, 800}
    for rendition in asset["renditions"]:
        served = desk.client.get(rendition["url"])
        assert (
            served.status_code == 200 and served.headers["content-type"] == rendition["mime_type"]
        )
        assert b"PhoneMaker" not in served.content
    engine = seeded.engine()
    try:
        with Session(engine) as s:
            stored = s.exec(select(MediaAsset).where(MediaAsset.sha256 == asset["sha256"])).one()
            data = stored.data
    finally:
        engine.dispose()
    assert b"PhoneMaker" not in data
    with Image.open(io.BytesIO(data)) as kept:
        exif = kept.getexif()
        assert not exif.get_ifd(ExifTags.IFD.GPSInfo) and ExifTags.Base.Make not in exif
    again = _upload(desk, raw)
    assert again.status_code == 201 and again.json()["id"] == asset["id"], "one picture, one asset"
    listed = desk.client.get(MEDIA, headers=desk.reviewer).json()
    assert asset["id"] in [i["id"] for i in listed["items"]]


def test_what_is_not_an_image_or_too_large_is_refused(desk: Desk, make_client, issue_key):
    text = _upload(desk, b"hello", kind="text/plain")
    assert text.status_code == 415
    lying = _upload(desk, b"\x89PNG\r\n\x1a\n not really", kind="image/png")
    assert lying.status_code == 422 and lying.json()["errors"][0]["field"] == "body.file"
    no_alt = desk.client.post(
        MEDIA, files={"file": ("a.jpg", _jpeg_with_gps(40, 30), "image/jpeg")}, headers=desk.writer
    )
    assert no_alt.status_code == 422
    huge = io.BytesIO()
    Image.new("L", (5000, 4100)).save(huge, "PNG")  # 20.5 megapixels, a small file
    assert _upload(desk, huge.getvalue(), kind="image/png").status_code == 413
    small_cap = make_client(media_max_mb=1)
    writer = {"Authorization": f"Bearer {issue_key('content:write')}"}
    noisy = io.BytesIO()
    Image.effect_noise((1200, 1200), 90).convert("RGB").save(noisy, "PNG")
    assert len(noisy.getvalue()) > 1024 * 1024
    over = small_cap.post(
        MEDIA,
        files={"file": ("noise.png", noisy.getvalue(), "image/png")},
        data={"alt": "Noise"},
        headers=writer,
    )
    assert over.status_code == 413
    review_only = desk.client.post(
        MEDIA,
        files={"file": ("a.jpg", _jpeg_with_gps(40, 30), "image/jpeg")},
        data={"alt": "A room"},
        headers=desk.reviewer,
    )
    assert review_only.status_code == 403


def test_an_uploaded_image_is_an_articles_hero(desk: Desk):
    asset = _upload(desk, _jpeg_with_gps(), credit="Clinic photo", caption="The room").json()
    created = desk.create(hero_media_id=asset["id"])
    assert created["content"]["hero_media_id"] == asset["id"]
    assert created["hero_image"]["alt"] == "A quiet treatment room"
    assert desk.approve(created["id"], 1).status_code == 201
    assert desk.publish(created["id"], 1).status_code == 200
    public = desk.client.get("/v1/articles/nad-plus-questions").json()
    assert public["hero_image"]["alt"] == "A quiet treatment room"
    assert public["hero_image"]["credit"] == "Clinic photo"
    # A PUT that names the same image keeps it: no new revision.
    same = desk.put(created, '"r1"', hero_media_id=asset["id"])
    assert same.status_code == 200 and same.json()["revision"] == 1
    unknown = desk.put(created, '"r1"', hero_media_id="00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "body.hero_media_id"
    dropped = desk.put(created, '"r1"')
    assert dropped.json()["revision"] == 2 and dropped.json()["hero_image"] is None
