"""The HTTP client webhooks are sent with: it connects only to an address that was checked.

Checking a host's addresses and then letting the HTTP client resolve the name again leaves a
gap in which DNS can answer differently (DNS rebinding). Here the check happens inside the
connect: each new connection resolves the host once, checks every answer, and connects to a
checked address. The URL is untouched, so the Host header, TLS SNI and the certificate check
are for the host name, and pooled connections stay per host name."""

import ssl

import anyio
import httpcore
import httpx

from core.errors import BlockedAddressError
from core.net import is_public_address
from services.webhooks.endpoints import AddressPolicy, Lookup, resolve_public, system_lookup

# httpx's defaults (httpx.AsyncHTTPTransport) for the pool we build in its place.
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves and checks a host, then connects to one of
    the checked addresses (trying each in turn), never to a name."""

    def __init__(self, *, lookup: Lookup, allowed: AddressPolicy) -> None:
        self._lookup = lookup
        self._allowed = allowed
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: object = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to a checked address of `host`; BlockedAddressError when there is none."""
        addresses = await self._resolve(host, port, timeout)
        failure: Exception = httpcore.ConnectError(f"no address of {host} answered")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,  # type: ignore[arg-type]
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def _resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        """The checked addresses; a slow resolver counts against the connect timeout."""
        try:
            with anyio.fail_after(timeout):
                return await anyio.to_thread.run_sync(
                    self._check, host, port, abandon_on_cancel=True
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None

    def _check(self, host: str, port: int) -> list[str]:
        return resolve_public(host, port, lookup=self._lookup, allowed=self._allowed)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: object = None
    ) -> httpcore.AsyncNetworkStream:
        """Webhooks never go to a Unix socket."""
        raise BlockedAddressError("Webhooks are sent over TCP only.")

    async def sleep(self, seconds: float) -> None:
        """As the default backend does."""
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with the pinned backend underneath.

    httpx 0.28 takes no network backend, so the connection pool it builds is replaced by the
    same pool with ours; if a later httpx builds no such pool, this fails loudly."""

    def __init__(self, *, backend: PinnedBackend, verify: ssl.SSLContext | bool = True) -> None:
        super().__init__(verify=verify, trust_env=False, limits=LIMITS)
        if not isinstance(getattr(self, "_pool", None), httpcore.AsyncConnectionPool):
            raise RuntimeError("httpx no longer exposes its pool; webhooks cannot be pinned")
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=LIMITS.max_connections,
            max_keepalive_connections=LIMITS.max_keepalive_connections,
            keepalive_expiry=LIMITS.keepalive_expiry,
            network_backend=backend,
        )


def is_pinned(client: httpx.AsyncClient) -> bool:
    """Whether `client` sends through the pinned transport (httpx keeps it as `_transport`)."""
    return isinstance(getattr(client, "_transport", None), PinnedTransport)


def webhook_client(
    *,
    timeout: float,
    allow_private: bool,
    lookup: Lookup = system_lookup,
    allowed: AddressPolicy = is_public_address,
    verify: ssl.SSLContext | bool = True,
) -> httpx.AsyncClient:
    """The client deliveries are sent with: pinned to checked public addresses, or, when
    private URLs are allowed (development, tests), a plain client with no address check."""
    if allow_private:
        return httpx.AsyncClient(timeout=timeout, follow_redirects=False, verify=verify)
    backend = PinnedBackend(lookup=lookup, allowed=allowed)
    return httpx.AsyncClient(
        transport=PinnedTransport(backend=backend, verify=verify),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,  # a proxy would resolve the name itself, after our check
    )
