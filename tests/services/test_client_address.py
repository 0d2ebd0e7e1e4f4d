"""Which address a request came from, believing X-Forwarded-For only from trusted proxies."""

from core.net import client_ip, parse_networks

PROXIES = parse_networks(["10.0.0.0/8", "192.0.2.10"])


def test_an_untrusted_peer_is_the_client_whatever_it_claims():
    assert client_ip("203.0.113.5", "198.51.100.1", PROXIES) == "203.0.113.5"


def test_behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client():
    assert client_ip("10.1.2.3", "198.51.100.1, 192.0.2.10", PROXIES) == "198.51.100.1"
    # a client-forged left-most entry is not believed
    assert client_ip("10.1.2.3", "1.1.1.1, 198.51.100.1", PROXIES) == "198.51.100.1"


def test_a_malformed_header_falls_back_to_the_peer():
    assert client_ip("10.1.2.3", "not-an-ip", PROXIES) == "10.1.2.3"
    assert client_ip("10.1.2.3", None, PROXIES) == "10.1.2.3"


def test_a_chain_of_only_proxies_yields_its_first_hop():
    assert client_ip("10.1.2.3", "10.9.9.9, 192.0.2.10", PROXIES) == "10.9.9.9"


def test_no_peer_is_no_address():
    assert client_ip(None, "198.51.100.1", PROXIES) is None
