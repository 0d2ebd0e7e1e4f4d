"""Real uvicorn processes on loopback ports, for tests that need real HTTP or several processes."""

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import httpx

from core.config import PROJECT_ROOT
from tests.waiting import eventually


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_answers(url: str = "redis://127.0.0.1:6379/0") -> bool:
    """Whether the local Redis is up."""
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


class ServerProcess:
    """A server process on a free loopback port, ready once `ready_path` answers 200 *from this
    process*.

    A free port is only free until someone binds it: another process (another test run on the
    machine) may take it before the server does. Then the server exits, and a check of the
    port alone would find the other process's server answering; so readiness also checks that
    the listening socket is this process's, and a server that lost its port starts again on
    another."""

    def __init__(
        self,
        command: Callable[[int], list[str]],
        *,
        env: dict[str, str],
        log_path: Path | None,
        ready_path: str = "/healthz",
        new_session: bool = False,
    ) -> None:
        self.command = command
        # In a session (and process group) of its own: stop() then ends its children too
        # (uvicorn's worker processes), even those its supervisor could not.
        self.new_session = new_session
        self.env = env
        self.log_path = log_path
        self.ready_path = ready_path
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the process on a free port (without waiting for it)."""
        self.port = free_port()
        if self.log_path is None:
            self.proc = subprocess.Popen(
                self.command(self.port),
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=self.new_session,
            )
            return
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command(self.port),
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=self.new_session,
            )

    def wait_until_ready(self, timeout: float = 60, attempts: int = 3) -> None:
        """Block until the server answers; start it again on another port if it lost its own."""
        for _ in range(attempts):
            if self._ready(timeout):
                return
            self.start()
        raise RuntimeError(f"the server did not start; see {self.log_path or 'its output'}")

    def _ready(self, timeout: float) -> bool:
        """True once ready; False if the process exited first (its port was taken)."""
        proc = self.proc
        assert proc is not None
        # one client for the whole poll: each new httpx client loads the CA bundle (~50 ms CPU)
        with httpx.Client(timeout=1) as client:

            def answers() -> bool:
                try:
                    return client.get(self.base + self.ready_path).status_code == 200
                except httpx.TransportError:
                    return False

            eventually(
                lambda: proc.poll() is not None or (answers() and _listens(proc.pid, self.port)),
                timeout,
                f"for the server to start; see {self.log_path or 'its output'}",
            )
        return proc.poll() is None

    def stop(self) -> None:
        """Terminate the process and wait for it."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.new_session:
            kill_group(self.proc.pid)


def kill_group(pgid: int) -> None:
    """SIGKILL whatever is left of a process group (nothing, usually)."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _listens(pid: int, port: int) -> bool:
    """Whether process `pid` holds the socket listening on loopback `port` (Linux /proc; where
    there is no /proc, assume it does)."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return True
    listening = set()
    for table in tables:
        try:
            rows = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                listening.add(f"socket:[{inode}]")
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(fd) in listening:
                return True
        except OSError:
            continue
    return False


def _uvicorn(
    database_url: str,
    log_path: Path,
    app: str,
    args: tuple[str, ...],
    env: dict[str, str] | None,
) -> ServerProcess:
    def command(port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *args,
        ]

    environment = {**os.environ, "CLINIC_DATABASE_URL": database_url, **(env or {})}
    return ServerProcess(command, env=environment, log_path=log_path)


@contextmanager
def serving(servers: Sequence[ServerProcess]) -> Iterator[list[str]]:
    """Start the servers all at once, wait until each is ready; yields their base URLs and
    stops them on exit."""
    with ExitStack() as stack:
        for server in servers:
            stack.callback(server.stop)
            server.start()
        for server in servers:
            server.wait_until_ready()
        yield [server.base for server in servers]


@contextmanager
def uvicorn_server(
    database_url: str,
    log_path: Path,
    *,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Serve `main:app` on a free port with CLINIC_* settings; yields the base URL."""
    with uvicorn_process(database_url, log_path, args=args, env=env) as (base, _):
        yield base


@contextmanager
def uvicorn_servers(
    database_url: str,
    log_paths: Sequence[Path],
    *,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Iterator[list[str]]:
    """Serve `main:app` in one process per log path, all booting at once; yields base URLs."""
    servers = [_uvicorn(database_url, log, "main:app", args, env) for log in log_paths]
    with serving(servers) as bases:
        yield bases


@contextmanager
def uvicorn_process(
    database_url: str,
    log_path: Path,
    *,
    app: str = "main:app",
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Iterator[tuple[str, int]]:
    """Serve an ASGI app on a free port; yields its base URL and process id."""
    server = _uvicorn(database_url, log_path, app, args, env)
    with serving([server]) as [base]:
        assert server.proc is not None
        yield base, server.proc.pid
