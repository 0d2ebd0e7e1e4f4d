"""Addresses and URLs: the client's address (X-Forwarded-For only from trusted proxies) and
absolute http(s) URLs as the client that sends our webhooks reads them."""

import ipaddress
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from core.special_addresses import is_special

if TYPE_CHECKING:
    import httpx


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# IPv6 clients are counted per /64: one subscriber usually holds a whole /64 (SLAAC, privacy
# addresses) and could otherwise pick a fresh address for every request.
IPV6_CLIENT_PREFIX = 64


def parse_networks(entries: Sequence[str]) -> list[IPNetwork]:
    """Trusted proxies as networks; a bare address is a /32 or /128."""
    return [ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip()]


def parse_ip(text: str) -> IPAddress | None:
    """An address in one form whatever its spelling: an IPv4-mapped IPv6 address is its IPv4
    address, and a zone (`%eth0`) is dropped; None when `text` is not an address."""
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.scope_id is not None:
            return ipaddress.IPv6Address(ip.packed)
    return ip


def canonical_ip(text: str) -> str | None:
    """`text` as canonical address text (`::ffff:1.2.3.4` → `1.2.3.4`, compressed lowercase
    IPv6), or None when it is not an address."""
    ip = parse_ip(text)
    return None if ip is None else str(ip)


def rate_limit_key(address: str | None) -> str:
    """What a client's requests are counted under: its IPv4 address, or its IPv6 /64."""
    ip = parse_ip(address) if address else None
    if ip is None:
        return "-"
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, IPV6_CLIENT_PREFIX), strict=False))
    return str(ip)


# IPv6 ranges that carry an IPv4 address in their last 32 bits (the NAT64 well-known prefix,
# RFC 6052, and IPv4-compatible addresses, RFC 4291) or in bits 16-47 (6to4, RFC 3056).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
# IPv4-translated addresses (SIIT, RFC 2765: ::ffff:0:a.b.c.d), a translator's view of an
# IPv4 host, distinct from IPv4-mapped ::ffff:a.b.c.d.
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4, IPv4-compatible)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE or ip in _IPV4_TRANSLATED:
        return ipaddress.IPv4Address(ip.packed[-4:])
    return None


def is_public_address(ip: IPAddress) -> bool:
    """Whether a connection to `ip` leaves for the public internet: in no block of the IANA
    special-purpose registries (core/special_addresses.py, multicast included) and global by
    Python's reckoning too; an IPv6 address that carries an IPv4 address is that address."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            return is_public_address(inner)
    return not is_special(ip) and ip.is_global


def is_trusted(ip: IPAddress, networks: Sequence[IPNetwork]) -> bool:
    """Whether `ip` is one of the trusted proxies (CLINIC_TRUSTED_PROXIES)."""
    return any(ip in net for net in networks)


def client_ip(
    peer: str | None, forwarded_for: str | None, trusted: Sequence[IPNetwork]
) -> str | None:
    """The first address, from the right, that is not a trusted proxy, in canonical form.

    `forwarded_for` is every X-Forwarded-For line joined with commas, in order: a proxy may
    append a line of its own rather than extend the client's."""
    peer_ip = parse_ip(peer) if peer else None
    if peer_ip is None:
        return peer  # not an address (a test client's name, a Unix socket): kept as given
    if not is_trusted(peer_ip, trusted) or not forwarded_for:
        return str(peer_ip)
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    parsed = [parse_ip(h) for h in hops]
    for hop in reversed(parsed):
        if hop is None:
            return str(peer_ip)  # a malformed header is not believed
        if not is_trusted(hop, trusted):
            return str(hop)
    return str(parsed[0]) if parsed else str(peer_ip)


# Printable ASCII without the space: anything else must be percent-encoded, so no parser reads
# the URL differently and no character in it can end a log line or an HTTP header.
_URL_TEXT = re.compile(r"[\x21-\x7e]+")
# A host name: dot-separated labels of letters, digits, hyphens and (as some hosts have)
# underscores. schemas/text.py states the same form in the OpenAPI document.
HOST_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOST_NAME = re.compile(rf"{HOST_LABEL}(?:\.{HOST_LABEL})*")


def authority(url: "httpx.URL") -> str:
    """`host[:port]` of a parsed URL in one spelling: lower case, an IPv6 address in brackets,
    the scheme's default port left out (httpx drops it: http://host:80 is http://host)."""
    host = url.raw_host.decode("ascii").lower()
    shown = f"[{host}]" if ":" in host else host
    return shown if url.port is None else f"{shown}:{url.port}"


def parse_http_url(value: str) -> "httpx.URL":
    """`value` as an absolute http or https URL with a host; ValueError says what is wrong.

    Parsed by httpx, which is what sends our webhooks, so the host checked is the host used.
    (Imported here: httpx takes ~0.2 s to import, which every CLI command would pay.)"""
    import httpx

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
    host = url.raw_host.decode("ascii")  # IDNA-encoded, as sent (`.host` decodes punycode)
    if not _HOST_NAME.fullmatch(host) and parse_ip(host.strip("[]")) is None:
        raise ValueError("The URL's host must be a host name or an IP address.")
    if port is not None and not 0 < port < 65536:
        raise ValueError("The URL's port must be between 1 and 65535.")
    return url
