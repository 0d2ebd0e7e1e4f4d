"""The SSRF guard judges an IPv6 address that carries an IPv4 address by that IPv4 address,
and a webhook connects to the very address that was checked: one look-up per connection,
the host name kept for the Host header, SNI and the certificate check."""

import asyncio
import ipaddress
import shutil
import ssl
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route

from api.links import event_links_builder
from core import special_addresses
from core.errors import BlockedAddressError
from core.net import is_public_address, parse_ip
from services.webhooks import attempts, sending
from services.webhooks.endpoints import new_secret, resolve_public
from services.webhooks.transport import webhook_client
from tests.servers import free_port
from tests.vault_helpers import ring
from tests.waiting import eventually
from tests.webhook_receiver import Receiver, serve_receiver

BLOCKED = [
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254 (cloud metadata)
    "64:ff9b:1::808:808",  # local-use NAT64: only a local translator answers
    "64:ff9b:1:a00:1::808:808",
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "::10.0.0.1",  # IPv4-compatible
    "::127.0.0.1",
    "::ffff:10.0.0.1",  # IPv4-mapped
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:0:7f00:1",  # IPv4-translated (RFC 2765) 127.0.0.1
    "::ffff:0:a9fe:a9fe",  # IPv4-translated 169.254.169.254
    "::ffff:0:a00:1",  # IPv4-translated 10.0.0.1
    "fec0::1",  # deprecated site-local
    "3fff::1",  # documentation (RFC 9637)
    "5f00::1",  # segment routing SIDs
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "224.0.0.1",  # multicast
    "ff02::1",
    "::1",
    "::",
    "0.0.0.0",
    "100.64.0.1",  # carrier-grade NAT
    "fd00::1",
    "fe80::1",
]
PUBLIC = [
    "8.8.8.8",
    "::ffff:0:808:808",  # IPv4-translated 8.8.8.8
    "1.1.1.1",
    "64:ff9b::808:808",
    "2002:808:808::1",
    "2606:4700:4700::1111",
    "192.0.1.1",  # beside 192.0.0.0/24, and public
    "2001:200::1",  # beside 2001::/23, and public
]


@pytest.mark.parametrize("address", BLOCKED)
def test_addresses_that_lead_inside_are_not_public(address):
    ip = parse_ip(address)
    assert ip is not None and not is_public_address(ip)
    with pytest.raises(BlockedAddressError):
        resolve_public(address, 443)


def _edges(block: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[str]:
    """A block's first, middle and last address."""
    first, last = int(block.network_address), int(block.broadcast_address)
    kind = type(block.network_address)
    return [str(kind(n)) for n in (first, (first + last) // 2, last)]


BLOCKS: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = [
    *special_addresses.IPV4_SPECIAL,
    *special_addresses.IPV6_SPECIAL,
]
SPECIAL = [address for block in BLOCKS for address in _edges(block)]


@pytest.mark.parametrize("address", ["192.0.0.8", "192.0.0.9", "192.0.0.170", "192.31.196.1"])
def test_what_pythons_is_global_calls_public_the_registry_does_not(address):
    """Security III, 9: 192.0.0.8, the IPv4 dummy address (RFC 7600), passed as public."""
    ip = parse_ip(address)
    assert ip is not None and not is_public_address(ip)


@pytest.mark.parametrize("address", SPECIAL)
def test_no_address_of_a_special_purpose_block_is_public(address):
    ip = parse_ip(address)
    assert ip is not None and not is_public_address(ip), address
    if isinstance(ip, ipaddress.IPv4Address):  # and no IPv6 spelling of it either
        for spelling in (
            f"::ffff:{ip}",
            f"64:ff9b::{ip}",
            f"2002:{ip.packed.hex()[:4]}:{ip.packed.hex()[4:]}::1",
        ):
            embedded = parse_ip(spelling)
            assert embedded is not None and not is_public_address(embedded), spelling


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    ip = parse_ip(address)
    assert ip is not None and is_public_address(ip)
    assert resolve_public(address, 443) == [str(ip)]


def test_one_private_answer_blocks_the_host():
    answers = {"mixed.test": ["8.8.8.8", "64:ff9b::a00:1"]}
    with pytest.raises(BlockedAddressError):
        resolve_public("mixed.test", 443, lookup=lambda host, port: answers[host])


CFG = attempts.DispatchConfig(
    timeout=5,
    schedule=[10],
    disable_after=timedelta(hours=1),
    links=event_links_builder("https://api.example"),
    ring=ring(),
    allow_private=False,
    batch_size=10,
    poll_seconds=1,
    lease_margin=5,
)


def _job(url: str, secret: str) -> attempts.Job:
    return attempts.Job(
        delivery_id=uuid.uuid4(),
        endpoint_id=uuid.uuid4(),
        msg_id=f"msg_{uuid.uuid4().hex}",
        url=url,
        secrets=[secret],
        body='{"type":"ping","timestamp":"2026-01-01T00:00:00+00:00","data":{}}',
    )


class Lookups:
    """A DNS that answers from a table and counts questions; later answers may differ."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        replies = self.answers[host]
        return replies[min(len(self.asked), len(replies)) - 1]


def _loopback_only(ip) -> bool:
    """The address policy with this test's loopback receiver standing in for the internet."""
    return str(ip) == "127.0.0.1"


def _send(job: attempts.Job, **client_options) -> attempts.AttemptOutcome:
    async def run() -> attempts.AttemptOutcome:
        client = webhook_client(
            timeout=CFG.timeout, allow_private=CFG.allow_private, **client_options
        )
        async with client:
            return await sending.send(client, job, CFG)

    return asyncio.run(run())


def test_http_connects_to_the_checked_address_with_the_original_host():
    with serve_receiver(Receiver()) as receiver:
        secret = new_secret()
        receiver.secrets.append(secret)
        url = receiver.url.replace("127.0.0.1", "hooks.test")
        # The name would rebind to an address nothing listens on, if it were asked again.
        dns = Lookups({"hooks.test": [["127.0.0.1"], ["127.0.0.2"]]})
        outcome = _send(_job(url, secret), lookup=dns, allowed=_loopback_only)
    assert outcome.succeeded, outcome
    assert dns.asked == ["hooks.test"]  # asked once; the checked answer was the one used
    assert receiver.received[0].headers["host"] == httpx.URL(url).netloc.decode()


def test_a_private_answer_is_never_connected_to():
    with serve_receiver(Receiver()) as receiver:
        url = receiver.url.replace("127.0.0.1", "hooks.test")
        dns = Lookups({"hooks.test": [["127.0.0.1"]]})
        outcome = _send(_job(url, new_secret()), lookup=dns)
    assert outcome.status_code is None and outcome.error and outcome.error.startswith("blocked")
    assert receiver.received == [] and receiver.rejected == 0


def test_the_dispatcher_blocks_a_private_address_at_send_time():
    """With private URLs refused, the dispatcher's own client checks (real DNS: 127.0.0.1)."""
    with serve_receiver(Receiver()) as receiver:
        outcome = _send(_job(receiver.url, new_secret()))
    assert outcome.error and outcome.error.startswith("blocked")
    assert receiver.received == [] and receiver.rejected == 0


def test_a_client_that_does_not_pin_is_refused_when_private_urls_are_not_allowed():
    async def run() -> attempts.AttemptOutcome:
        async with httpx.AsyncClient() as plain:
            return await sending.send(plain, _job("https://example.com/h", new_secret()), CFG)

    outcome = asyncio.run(run())
    assert outcome.status_code is None and outcome.error


# HTTPS: a throwaway certificate authority and server certificates made with openssl.


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=Test CA",
        "-keyout", "ca.key", "-out", "ca.pem", cwd=folder,
    )  # fmt: skip
    for name in ("hooks.test", "other.test"):
        (folder / f"{name}.ext").write_text(f"subjectAltName=DNS:{name}\n")
        _openssl(
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=folder,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "1", "-extfile", f"{name}.ext", "-out", f"{name}.pem",
            cwd=folder,
        )  # fmt: skip
    return folder


@contextmanager
def _tls_receiver(receiver: Receiver, certificates: Path, name: str) -> Iterator[int]:
    """The receiver under uvicorn with TLS, presenting the certificate for `name`."""
    port = free_port()
    app = Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ssl_certfile=str(certificates / f"{name}.pem"),
        ssl_keyfile=str(certificates / f"{name}.key"),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    eventually(lambda: server.started, 10, "for the TLS receiver to start")
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _trusting(certificates: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificates / "ca.pem"))


def test_https_checks_the_certificate_for_the_host_name_not_the_address(certificates):
    receiver = Receiver()
    secret = new_secret()
    receiver.secrets.append(secret)
    with _tls_receiver(receiver, certificates, "hooks.test") as port:
        dns = Lookups({"hooks.test": [["127.0.0.1"]]})
        outcome = _send(
            _job(f"https://hooks.test:{port}/hook", secret),
            lookup=dns,
            allowed=_loopback_only,
            verify=_trusting(certificates),
        )
    assert outcome.succeeded, outcome
    assert dns.asked == ["hooks.test"]
    assert receiver.received[0].headers["host"] == f"hooks.test:{port}"


def test_https_refuses_a_certificate_for_another_name(certificates):
    receiver = Receiver()
    with _tls_receiver(receiver, certificates, "other.test") as port:
        outcome = _send(
            _job(f"https://hooks.test:{port}/hook", new_secret()),
            lookup=Lookups({"hooks.test": [["127.0.0.1"]]}),
            allowed=_loopback_only,
            verify=_trusting(certificates),
        )
    assert outcome.status_code is None and outcome.error and "ConnectError" in outcome.error
    assert receiver.received == []
