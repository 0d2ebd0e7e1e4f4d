"""Real uvicorn processes on loopback ports, for tests that need real HTTP or several processes."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from core.config import PROJECT_ROOT


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
    with ExitStack() as stack:
        started = [
            stack.enter_context(_started(database_url, log, "main:app", args, env))
            for log in log_paths
        ]
        for proc, base, log in started:
            _wait_until_healthy(proc, base, log)
        yield [base for _, base, _ in started]


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
    with _started(database_url, log_path, app, args, env) as (proc, base, _):
        _wait_until_healthy(proc, base, log_path)
        yield base, proc.pid


@contextmanager
def _started(
    database_url: str,
    log_path: Path,
    app: str,
    args: tuple[str, ...],
    env: dict[str, str] | None,
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """Start uvicorn (without waiting for it); stop it on exit."""
    port = free_port()
    environment = {**os.environ, "CLINIC_DATABASE_URL": database_url, **(env or {})}
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                app,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *args,
            ],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc, f"http://127.0.0.1:{port}", log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_until_healthy(proc: subprocess.Popen[bytes], base: str, log_path: Path) -> None:
    """Wait for /healthz to answer 200; fail if the process exits or a minute passes."""
    deadline = time.monotonic() + 60
    # one client for the whole poll: each new httpx client loads the CA bundle (~50 ms of CPU)
    with httpx.Client(timeout=1) as client:
        while True:
            try:
                if client.get(f"{base}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start; see {log_path}")
            time.sleep(0.05)
