"""Behind a trusted proxy the client is the right-most untrusted hop of every X-Forwarded-For
line together, and rate limits count canonical addresses (IPv6 per /64)."""

import pytest

from tests.conftest import lead_body

PROXY = {"peer": "10.0.0.1", "trusted_proxies": ["10.0.0.0/8"]}
LEADS = "/v1/consultation-requests"


def _stored_ip(c, reader, lead_id: str):
    return c.get(f"/v1/admin/consultation-requests/{lead_id}", headers=reader).json()["client_ip"]


def test_a_second_header_line_cannot_spoof_the_client(make_client, issue_key):
    c = make_client(**PROXY, leads_rate_limit="none")
    reader = {"Authorization": f"Bearer {issue_key('leads:read')}"}
    # The client forges a line; the proxy appends the real address as a line of its own.
    headers = [("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "203.0.113.9")]
    r = c.post(LEADS, json=lead_body(), headers=headers)
    assert r.status_code == 201, r.text
    assert _stored_ip(c, reader, r.json()["id"]) == "203.0.113.9"
    chained = [("x-forwarded-for", "6.6.6.6, 198.51.100.4"), ("x-forwarded-for", "10.0.0.7")]
    r = c.post(LEADS, json=lead_body(), headers=chained)
    assert _stored_ip(c, reader, r.json()["id"]) == "198.51.100.4"


def test_the_stored_address_is_canonical(make_client, issue_key):
    c = make_client(**PROXY, leads_rate_limit="none")
    reader = {"Authorization": f"Bearer {issue_key('leads:read')}"}
    r = c.post(LEADS, json=lead_body(), headers={"x-forwarded-for": "::ffff:203.0.113.9"})
    assert _stored_ip(c, reader, r.json()["id"]) == "203.0.113.9"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9"),
        ("2001:db8:1:3::1", "2001:0DB8:0001:0003:0000:0000:0000:0001"),
    ],
)
def test_one_client_written_two_ways_is_counted_once(make_client, first, second):
    c = make_client(**PROXY, leads_rate_limit="1/minute")
    assert c.post(LEADS, json=lead_body(), headers={"x-forwarded-for": first}).status_code == 201
    again = c.post(LEADS, json=lead_body(), headers={"x-forwarded-for": second})
    assert again.status_code == 429
    assert again.headers["content-type"] == "application/problem+json"


def test_neighbouring_ipv6_networks_are_counted_apart(make_client):
    c = make_client(**PROXY, leads_rate_limit="1/minute")
    for client in ("2001:db8:1:2::1", "2001:db8:1:3::1"):
        r = c.post(LEADS, json=lead_body(), headers={"x-forwarded-for": client})
        assert r.status_code == 201
