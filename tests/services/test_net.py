"""Client addresses in one canonical form, and the key a client's requests are counted under."""

import pytest

from core.net import canonical_ip, client_ip, parse_networks, rate_limit_key

PROXIES = parse_networks(["10.0.0.0/8", "2001:db8:ffff::/48"])


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("1.2.3.4", "1.2.3.4"),
        ("::ffff:1.2.3.4", "1.2.3.4"),
        ("::FFFF:0102:0304", "1.2.3.4"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        (" 1.2.3.4 ", "1.2.3.4"),
    ],
)
def test_addresses_are_canonical(raw, canonical):
    assert canonical_ip(raw) == canonical


@pytest.mark.parametrize("raw", ["", "not-an-ip", "1.2.3.4.5", "1.2.3.4\x00", "[::1]", "::1%"])
def test_what_is_not_an_address_has_no_canonical_form(raw):
    assert canonical_ip(raw) is None


def test_ipv4_clients_are_counted_per_address():
    assert rate_limit_key("198.51.100.7") == "198.51.100.7"
    assert rate_limit_key("::ffff:198.51.100.7") == "198.51.100.7"


def test_ipv6_clients_are_counted_per_64():
    # One subscriber usually holds a whole /64 and can pick any address in it.
    key = rate_limit_key("2001:db8:1:2::1")
    assert key == "2001:db8:1:2::/64"
    assert rate_limit_key("2001:db8:1:2:ffff:ffff:ffff:fffe") == key
    assert rate_limit_key("2001:0DB8:0001:0002:0000:0000:0000:0009") == key
    assert rate_limit_key("2001:db8:1:3::1") != key


def test_no_address_shares_one_key():
    assert rate_limit_key(None) == rate_limit_key("garbage") == "-"


def test_forwarded_addresses_come_back_canonical():
    assert client_ip("10.1.2.3", "::ffff:198.51.100.1", PROXIES) == "198.51.100.1"
    assert client_ip("10.1.2.3", "2001:DB8::0:1", PROXIES) == "2001:db8::1"


def test_a_mapped_or_differently_written_proxy_is_still_trusted():
    assert client_ip("::ffff:10.1.2.3", "198.51.100.1", PROXIES) == "198.51.100.1"
    assert client_ip("10.1.2.3", "198.51.100.1, ::ffff:10.9.9.9", PROXIES) == "198.51.100.1"
    assert client_ip("2001:DB8:FFFF::1", "198.51.100.1", PROXIES) == "198.51.100.1"


def test_the_peer_comes_back_canonical_too():
    assert client_ip("::ffff:203.0.113.5", "198.51.100.1", PROXIES) == "203.0.113.5"
