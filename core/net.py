"""Addresses and URLs: the client's address (X-Forwarded-For only from trusted proxies) and
absolute http(s) URLs as the client that sends our webhooks reads them."""

import ipaddress
import re
from collections.abc import Sequence

import httpx

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Sequence[str]) -> list[IPNetwork]:
    """Trusted proxies as networks; a bare address is a /32 or /128."""
    return [ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip()]


def _trusted(address: str, networks: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_ip(
    peer: str | None, forwarded_for: str | None, trusted: Sequence[IPNetwork]
) -> str | None:
    """The first address, from the right, that is not a trusted proxy."""
    if peer is None or not _trusted(peer, trusted) or not forwarded_for:
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a malformed header is not believed
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


# Printable ASCII without the space: anything else must be percent-encoded, so no parser reads
# the URL differently and no character in it can end a log line or an HTTP header.
_URL_TEXT = re.compile(r"[\x21-\x7e]+")


def parse_http_url(value: str) -> httpx.URL:
    """`value` as an absolute http or https URL with a host; ValueError says what is wrong.

    Parsed by httpx, which is what sends our webhooks, so the host checked is the host used."""
    if not _URL_TEXT.fullmatch(value):
        raise ValueError(
            "A URL must be printable ASCII without spaces; percent-encode other characters."
        )
    try:
        url = httpx.URL(value)
        port = url.port
    except httpx.InvalidURL:
        raise ValueError("Not a valid URL.") from None
    if url.scheme not in ("http", "https") or not url.raw_host:
        raise ValueError("The URL must be absolute: http:// or https://, then a host.")
    if port is not None and not 0 < port < 65536:
        raise ValueError("The URL's port must be between 1 and 65535.")
    return url
