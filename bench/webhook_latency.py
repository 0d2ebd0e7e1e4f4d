"""Commit-to-receipt latency of webhook deliveries, through a real uvicorn app and receiver.

    .venv/bin/python -m bench.webhook_latency [--events 300] [--database-url URL] [--workers N]

POSTs leads one after another; each lead's event is delivered by the in-app dispatcher (or by N
separate `cli worker` processes) to a receiver on loopback that verifies the signature.
"Upper" is from the moment the POST was sent, "lower" from the moment its 201 arrived (the
commit happened between the two)."""

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from core.config import PROJECT_ROOT
from db.migrate import upgrade
from db.session import make_engine, unit_of_work
from services.access.api_keys import create_key
from services.content.importer import import_content
from tests.conftest import lead_body
from tests.servers import uvicorn_server
from tests.webhook_receiver import Receiver, serve_receiver


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    """Run the measurement and print p50/p99."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workers", type=int, default=0, help="0: the in-app dispatcher")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        import_content(session=session, content_dir=PROJECT_ROOT / "content")
    with unit_of_work(engine) as session:
        _, token = create_key(session=session, name="bench", scopes=["webhooks:manage"])
    engine.dispose()
    env = {
        "CLINIC_LEADS_RATE_LIMIT": "none",
        "CLINIC_WEBHOOK_ALLOW_PRIVATE_URLS": "true",
        "CLINIC_WEBHOOK_POLL_SECONDS": "0.25",
        "CLINIC_WEBHOOK_DISPATCHER_ENABLED": "false" if args.workers else "true",
    }
    workers: list[subprocess.Popen[bytes]] = []
    with (
        serve_receiver(Receiver()) as receiver,
        uvicorn_server(url, tmp / "server.log", env=env) as base,
        httpx.Client() as client,
    ):
        auth = {"Authorization": f"Bearer {token}"}
        made = client.post(
            f"{base}/v1/admin/webhook-endpoints",
            headers=auth,
            json={"url": receiver.url, "event_types": ["consultation_request.created"]},
        )
        receiver.secrets.append(made.json()["secret"])
        for _ in range(args.workers):
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "cli", "worker"],
                    cwd=PROJECT_ROOT,
                    env={**os.environ, **env, "CLINIC_DATABASE_URL": url},
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
            )
        for w in workers:  # process start-up is not delivery latency
            assert w.stdout is not None and b"started" in w.stdout.readline()
        # warm up: a ping must arrive before the measured events are sent
        endpoint_id = made.json()["id"]
        client.post(f"{base}/v1/admin/webhook-endpoints/{endpoint_id}/test", headers=auth)
        receiver.wait_for(lambda r: len(r.received) >= 1, timeout=60)
        time.sleep(1)
        receiver.received.clear()
        sent: dict[str, tuple[float, float]] = {}
        for _ in range(args.events):
            before = time.monotonic()
            r = client.post(f"{base}/v1/consultation-requests", json=lead_body())
            sent[r.json()["id"]] = (before, time.monotonic())
        receiver.wait_for(lambda r: len(r.received) >= args.events, timeout=120)
        for w in workers:
            w.terminate()
            w.wait()
    got = {r.payload["data"]["id"]: r.at for r in receiver.received}
    upper = [(got[i] - s[0]) * 1000 for i, s in sent.items()]
    lower = [max(0.0, (got[i] - s[1]) * 1000) for i, s in sent.items()]
    mode = f"{args.workers} worker process(es)" if args.workers else "in-app dispatcher"
    print(f"webhook commit-to-receipt, {len(sent)} events, {mode}, {url.split(':')[0]}")
    for name, values in (("upper (from POST sent)", upper), ("lower (from 201 received)", lower)):
        print(
            f"  {name:26} p50 {_percentile(values, 50):7.1f} ms   p99 "
            f"{_percentile(values, 99):7.1f} ms   mean {statistics.mean(values):7.1f} ms"
        )


if __name__ == "__main__":
    main()
