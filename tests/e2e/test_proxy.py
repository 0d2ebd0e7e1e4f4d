"""deploy/nginx.conf, as compose.yaml runs it, in front of a real uvicorn: it ends the
connections uvicorn cannot (a request line or headers that never finish, a connection that says
nothing), ends a trickled body, and forwards the client's address as the API expects.

Only the upstream address and the listening port are rewritten (compose.yaml's `api:8000` and
`8080` are no addresses on this machine); every timeout is the shipped one."""

import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from core.config import PROJECT_ROOT
from tests.conftest import lead_body
from tests.raw_http import read_until_closed, sending, stalled, unanswered
from tests.servers import ServerProcess, serving, uvicorn_server

CONF = PROJECT_ROOT / "deploy" / "nginx.conf"
# `make test` installs Debian's nginx-light when it is missing.
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def proxy_conf(upstream_port: int, port: int) -> str:
    """The shipped file, pointed at this machine's upstream and port."""
    text = CONF.read_text()
    for old, new in (
        ("server api:8000;", f"server 127.0.0.1:{upstream_port};"),
        ("listen 8080;", f"listen 127.0.0.1:{port};"),
    ):
        assert text.count(old) == 1, f"deploy/nginx.conf no longer says {old!r}"
        text = text.replace(old, new)
    return text


@contextmanager
def nginx_in_front(base: str, folder: Path) -> Iterator[int]:
    """nginx with the shipped configuration in front of `base`; yields its port."""
    upstream = urlsplit(base).port
    assert upstream is not None

    def command(port: int) -> list[str]:
        conf = folder / f"nginx-{port}.conf"
        conf.write_text(proxy_conf(upstream, port))
        settings = f"daemon off; pid {folder}/nginx.pid; error_log {folder}/error.log info;"
        return [NGINX, "-p", str(folder), "-c", str(conf), "-g", settings]

    proxy = ServerProcess(command, env={}, log_path=folder / "nginx.out", new_session=True)
    with serving([proxy]):
        yield proxy.port


def test_the_proxy_ends_slow_and_silent_connections_while_serving_everyone_else(
    seeded, tmp_path, issue_key
):
    reader = {"Authorization": f"Bearer {issue_key('leads:read')}"}
    env = {
        "CLINIC_LEADS_RATE_LIMIT": "none",
        "CLINIC_TRUSTED_PROXIES": '["127.0.0.1/32"]',
        "CLINIC_BODY_TIMEOUT": "120",  # the proxy's deadline is the one under test
    }
    with (
        uvicorn_server(seeded.url, tmp_path / "server.log", env=env) as base,
        nginx_in_front(base, tmp_path) as port,
        ExitStack() as held,
    ):
        silent = held.enter_context(sending(port, b""))
        half_headers = held.enter_context(sending(port, b"GET /v1/articles HTTP/1.1\r\nHost: a"))
        trickled = held.enter_context(stalled(port, "POST", "/v1/consultation-requests"))
        started = time.monotonic()
        proxied = f"http://127.0.0.1:{port}"
        # The client comes from another loopback address than the proxy's own.
        transport = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(base_url=proxied, timeout=60, transport=transport) as client:
            lead = client.post(
                "/v1/consultation-requests",
                json=lead_body(message="Through the proxy."),
                headers={"X-Forwarded-For": "203.0.113.9"},  # the client's own claim
            )
            assert lead.status_code == 201, lead.text
            read = client.get(
                f"/v1/admin/consultation-requests/{lead.json()['id']}", headers=reader
            )
        # The address the proxy saw, not the one the client wrote.
        assert read.json()["client_ip"] == "127.0.0.2"
        waiting = [s for s in (silent, half_headers, trickled) if unanswered(s)]
        answers = [read_until_closed(s, timeout=60) for s in (silent, half_headers, trickled)]
        ended_after = time.monotonic() - started
    # Told nothing, or a 408, and the connection closed: never the request served.
    assert all(a == b"" or a.startswith(b"HTTP/1.1 408") for a in answers), answers
    print(f"nginx ended the slow connections {ended_after:.1f} s after they began")
    assert len(waiting) == 3, "the slow connections were still open while the lead went in"
