"""brotli and gzip on the wire: cached public bodies are compressed once and served in the
encoding the client accepts, each encoding with its own ETag; 304s work whichever one the
client holds."""

import gzip
import json

import brotli
import pytest

from api.http_cache import accepted_codings, best_coding

ARTICLE = "/v1/articles/iv-ketamine-for-ptsd"


def _raw(client, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and the bytes as sent (httpx would otherwise decode them)."""
    with client.stream("GET", path, headers=headers) as r:
        return r.status_code, dict(r.headers), b"".join(r.iter_raw())


@pytest.mark.parametrize("path", [ARTICLE, "/v1/articles?page_size=3", "/v1/therapies"])
def test_public_bodies_are_gzipped_for_clients_that_accept_it(client, path):
    for _ in range(2):  # the first request builds the cached body, the second is a hit
        status, plain_headers, plain = _raw(client, path, **{"Accept-Encoding": "identity"})
        assert status == 200 and "content-encoding" not in plain_headers
        status, headers, wire = _raw(client, path, **{"Accept-Encoding": "gzip, deflate"})
        assert status == 200 and headers["content-encoding"] == "gzip"
        assert "accept-encoding" in headers["vary"].lower()
        assert "accept-encoding" in plain_headers["vary"].lower()
        assert int(headers["content-length"]) == len(wire) < len(plain)
        assert gzip.decompress(wire) == plain
        assert headers["etag"] != plain_headers["etag"]
        status, br_headers, br_wire = _raw(client, path, **{"Accept-Encoding": "gzip, br"})
        assert status == 200 and br_headers["content-encoding"] == "br"
        assert brotli.decompress(br_wire) == plain
        assert int(br_headers["content-length"]) == len(br_wire) < len(wire)
        assert len({br_headers["etag"], headers["etag"], plain_headers["etag"]}) == 3


def test_the_article_is_a_fifth_of_its_size_on_the_wire(client):
    _, _, plain = _raw(client, ARTICLE, **{"Accept-Encoding": "identity"})
    _, _, wire = _raw(client, ARTICLE, **{"Accept-Encoding": "gzip"})
    json.loads(plain)
    assert len(wire) * 4 < len(plain), (len(plain), len(wire))


def test_a_304_answers_whichever_encoding_the_client_holds(client):
    held_by = {
        accept: _raw(client, ARTICLE, **{"Accept-Encoding": accept})[1]["etag"]
        for accept in ("identity", "gzip", "br")
    }
    for held in held_by.values():
        for accept, etag in held_by.items():
            status, headers, body = _raw(
                client, ARTICLE, **{"Accept-Encoding": accept, "If-None-Match": held}
            )
            assert status == 304 and body == b""
            assert "content-encoding" not in headers
            assert headers["etag"] == etag
    status, _, _ = _raw(client, ARTICLE, **{"If-None-Match": '"something-else"'})
    assert status == 200


def test_a_refused_coding_is_not_sent(client):
    for accept in ("gzip;q=0", "deflate", "*;q=0", "identity, gzip;q=0.0, br;q=0"):
        _, headers, _ = _raw(client, ARTICLE, **{"Accept-Encoding": accept})
        assert "content-encoding" not in headers, accept
    for accept, coding in (("*", "br"), ("br;q=0.5, gzip", "gzip"), ("gzip, *;q=0.1", "gzip")):
        _, headers, _ = _raw(client, ARTICLE, **{"Accept-Encoding": accept})
        assert headers["content-encoding"] == coding, accept


def test_small_bodies_stay_plain_and_other_json_is_gzipped_too(client):
    _, headers, _ = _raw(client, "/healthz", **{"Accept-Encoding": "gzip"})
    assert "content-encoding" not in headers
    _, headers, wire = _raw(client, "/openapi.json", **{"Accept-Encoding": "gzip"})
    assert headers["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(wire))["openapi"].startswith("3.")
    _, headers, wire = _raw(client, "/openapi.json", **{"Accept-Encoding": "br, gzip"})
    assert headers["content-encoding"] == "br"
    assert json.loads(brotli.decompress(wire))["openapi"].startswith("3.")


def test_accept_encoding_is_read_as_rfc_9110_says():
    assert accepted_codings("gzip, deflate, br") == {"gzip": 1, "deflate": 1, "br": 1}
    assert accepted_codings("gzip;q=0.5, *;q=0") == {"gzip": 0.5, "*": 0, "br": 0}
    assert accepted_codings("*;q=0.3")["gzip"] == 0.3
    assert accepted_codings("gzip;q=bogus") == {"gzip": 0}
    assert accepted_codings(None) == {}
    assert best_coding("gzip, br") == "br"  # equal q: ours, best first
    assert best_coding("gzip;q=1, br;q=0.9") == "gzip"
    assert best_coding("br", {"gzip"}) is None
