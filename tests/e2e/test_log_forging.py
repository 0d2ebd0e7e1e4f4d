"""Nothing a request controls can start a log line: the API behind a real uvicorn, its log
read back as an operator's log shipper would read it."""

import logging
import re
import sys

import httpx

from core.logging import SingleLineFormatter, logfmt
from tests.servers import uvicorn_server

FORGED = "level=CRITICAL logger=clinic.security forged=yes"
STARTS_A_RECORD = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} level=|INFO:|WARNING:|ERROR:)"  # ours, uvicorn's
)


def test_line_breaks_in_path_and_query_do_not_forge_log_lines(seeded, tmp_path):
    log = tmp_path / "server.log"
    injected = "%0A" + FORGED.replace(" ", "%20")
    with uvicorn_server(seeded.url, log, env={"CLINIC_LOG_LEVEL": "INFO"}) as base:
        for path in (
            f"/v1/nope{injected}",
            f"/v1/nope{injected.replace('%0A', '%0D')}",
            f"/v1/nope{injected.replace('%0A', '%0D%0A')}",
            f"/v1/nope{injected.replace('%0A', '%C2%85')}",  # U+0085, a line break to some
            f"/v1/nope{injected.replace('%0A', '%E2%80%A8')}",  # U+2028 LINE SEPARATOR
            f"/v1/articles?q={injected}",
            f"/v1/articles?therapy=x{injected}",
        ):
            assert httpx.get(base + path).status_code < 500
    text = log.read_text(encoding="utf-8")
    lines = text.splitlines()  # splits on \r, \x85 and \u2028 as well as \n
    assert not [line for line in lines if not STARTS_A_RECORD.match(line)], text
    access = [line for line in lines if "logger=clinic.http" in line and "/v1/nope" in line]
    assert len(access) == 5
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
    assert STARTS_A_RECORD.match(first) and first.endswith("got a\\u2028b")
    assert rest and all(line.startswith("    | ") for line in rest)


def test_values_are_quoted_when_they_could_pose_as_keys():
    assert logfmt("/v1/articles/iv-ketamine") == "/v1/articles/iv-ketamine"
    assert logfmt("/v1/a b=c") == '"/v1/a b=c"'
    assert logfmt('/v1/"x\\y\r\n') == '"/v1/\\"x\\\\y\\r\\n"'
