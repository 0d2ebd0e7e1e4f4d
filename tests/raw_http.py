"""Raw sockets for clients no HTTP library would be: ones that stall, trickle or say nothing."""

import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def stalled(port: int, method: str, path: str, *, chunked: bool = False) -> Iterator[socket.socket]:
    """A connection that sent its headers and one byte of a 1,000-byte body, then nothing."""
    framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: 1000"
    head = b"%s %s HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n%s\r\n\r\n" % (
        method.encode(),
        path.encode(),
        framing,
    )
    with sending(port, head + (b"1\r\n{\r\n" if chunked else b"{")) as s:
        yield s


@contextmanager
def sending(port: int, data: bytes) -> Iterator[socket.socket]:
    """A connection that sent `data` (perhaps nothing, perhaps half a request), then nothing."""
    s = socket.create_connection(("127.0.0.1", port))
    try:
        s.sendall(data)
        yield s
    finally:
        s.close()


def unanswered(s: socket.socket) -> bool:
    """Whether the server has sent nothing on `s` yet (and not closed it)."""
    s.setblocking(False)
    try:
        s.recv(1)
    except BlockingIOError:
        return True
    finally:
        s.setblocking(True)
    return False


def read_until_closed(s: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection (socket.timeout if it does
    not close it within `timeout` seconds of silence)."""
    s.settimeout(timeout)
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    return data
