"""/docs and /redoc work offline (issue 26, item 3): Swagger UI and ReDoc come from the app's own
files, every URL the pages name is on this server, and their CSP allows no other host, so a
browser cannot load anything from elsewhere even if a script asked. (tests/browser/docs.test.mjs
loads both pages in Chromium and records every request.)"""

import re

import pytest

URL_ATTRIBUTE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
SCRIPT_URL = re.compile(r"""(?:url|spec-url)\s*[:=]\s*["']([^"']+)["']""")


@pytest.mark.parametrize(
    ("path", "needs"),
    [
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css"}),
        ("/redoc", {"redoc.standalone.js"}),
    ],
)
def test_the_docs_name_only_this_servers_files(client, path, needs):
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    named = URL_ATTRIBUTE.findall(page.text) + SCRIPT_URL.findall(page.text)
    assert named, page.text
    for url in named:
        assert url.startswith("/") and not url.startswith("//"), url
    assert {url.rsplit("/", 1)[-1] for url in named} >= needs
    for url in named:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100, url
        if url.startswith("/docs-assets/"):  # kept a day (Swagger UI's bundle is 1.5 MB)
            assert asset.headers["cache-control"] == "public, max-age=86400", url
            again = client.get(url, headers={"If-None-Match": asset.headers["etag"]})
            assert again.status_code == 304, url
    assert page.headers["cache-control"] == "no-store"
    assert "cdn." not in page.text and "fonts.googleapis" not in page.text

    csp = page.headers["content-security-policy"]
    assert "http" not in csp and "*" not in csp, csp
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp


def test_swagger_ui_does_not_send_the_contract_to_a_validator(client):
    page = client.get("/docs").text
    assert '"validatorUrl": null' in page
