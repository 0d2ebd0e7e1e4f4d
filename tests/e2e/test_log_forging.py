"""Nothing a request controls can start a log line: the API behind a real uvicorn, its log
read back as an operator's log shipper would read it, in both formats."""

import json
import logging
import re
import sys

import httpx
import pytest

from core.logging import JsonFormatter, SingleLineFormatter, logfmt
from tests.servers import uvicorn_server

FORGED = "level=CRITICAL logger=clinic.security forged=yes"
FORGED_JSON = '{"level":"critical","logger":"clinic.security","event":"forged"}'
TEXT_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} level=")


def _forging_paths() -> list[str]:
    injected = "%0A" + FORGED.replace(" ", "%20")
    injected_json = "%0A" + FORGED_JSON.replace('"', "%22")
    return [
        f"/v1/nope{injected}",
        f"/v1/nope{injected.replace('%0A', '%0D')}",
        f"/v1/nope{injected.replace('%0A', '%0D%0A')}",
        f"/v1/nope{injected.replace('%0A', '%C2%85')}",  # U+0085, a line break to some
        f"/v1/nope{injected.replace('%0A', '%E2%80%A8')}",  # U+2028 LINE SEPARATOR
        f"/v1/nope{injected_json}",
        f"/v1/nope%ED%A0%80{injected_json}",  # a lone surrogate, once percent-decoded
        f"/v1/articles?q={injected}",
        f"/v1/articles?therapy=x{injected}",
    ]


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_line_breaks_in_path_and_query_do_not_forge_log_lines(seeded, tmp_path, log_format):
    log = tmp_path / "server.log"
    env = {"CLINIC_LOG_LEVEL": "INFO", "CLINIC_LOG_FORMAT": log_format}
    with uvicorn_server(seeded.url, log, env=env) as base:
        for path in _forging_paths():
            r = httpx.get(base + path, headers={"X-Request-ID": "forged level=CRITICAL"})
            assert r.status_code < 500
            assert r.headers["x-request-id"] != "forged level=CRITICAL"  # replaced, not echoed
    text = log.read_text(encoding="utf-8")
    lines = text.splitlines()  # splits on \r, \x85 and \u2028 as well as \n
    if log_format == "json":
        records = [json.loads(line) for line in lines]  # every line is one whole object
        assert all(isinstance(r, dict) and "event" in r for r in records)
        assert not [r for r in records if r.get("logger") == "clinic.security"]
        access = [r for r in records if r["event"] == "request" and "/v1/nope" in r["path"]]
        assert len(access) == 7
        assert access[0]["path"].startswith("/v1/nope\n" + FORGED.split(" ")[0])  # readable
    else:
        assert not [line for line in lines if not TEXT_RECORD.match(line)], text
        access = [line for line in lines if "logger=clinic.http" in line and "/v1/nope" in line]
        assert len(access) == 7
        assert "\\n" + FORGED.split(" ")[0] in access[0]  # escaped, still readable


def test_a_traceback_cannot_pass_for_a_record():
    formatter = SingleLineFormatter("%(asctime)s level=%(levelname)s %(message)s")
    try:
        raise ValueError(f"bad value\n2026-01-01 00:00:00,000 level=CRITICAL {FORGED}")
    except ValueError:
        record = logging.LogRecord(
            "t", logging.ERROR, __file__, 1, "got %s", ("a\u2028b",), sys.exc_info()
        )
    first, *rest = formatter.format(record).split("\n")
    assert TEXT_RECORD.match(first) and first.endswith("got a\\u2028b")
    assert rest and all(line.startswith("    | ") for line in rest)
    line = JsonFormatter().format(record)
    assert len(line.splitlines()) == 1
    assert json.loads(line)["exception"].startswith("Traceback")


def test_fields_are_written_in_either_format_without_forging():
    record = logging.LogRecord("clinic.http", logging.INFO, __file__, 1, "request", None, None)
    record.path = '/v1/"x\r\n\u2028'
    record.status = 404
    assert 'path="/v1/\\"x\\r\\n\\u2028" status=404' in SingleLineFormatter("%(message)s").format(
        record
    )
    line = JsonFormatter().format(record)
    assert len(line.splitlines()) == 1
    assert json.loads(line)["path"] == '/v1/"x\r\n\u2028'


def test_values_are_quoted_when_they_could_pose_as_keys():
    assert logfmt("/v1/articles/iv-ketamine") == "/v1/articles/iv-ketamine"
    assert logfmt("/v1/a b=c") == '"/v1/a b=c"'
    assert logfmt('/v1/"x\\y\r\n') == '"/v1/\\"x\\\\y\\r\\n"'
