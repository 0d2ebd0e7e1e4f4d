"""Logging setup: one line per event (JSON by default, key=value for humans), never personal
data, and nothing a request sends can start a line of its own (log forging).

Events carry their data as fields: `log.info("request", extra={"status": 200, ...})`. The
request id of the request (or of the event a webhook delivers) being handled is added to every
line written meanwhile, from a context variable."""

import asyncio
import logging
import os
import re
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

# Characters that end a line somewhere (C0, DEL, C1 with U+0085, U+2028/U+2029), and lone
# surrogates, which cannot even be written as UTF-8.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# What JSON may carry raw but a line reader (Python's splitlines) would still break on.
_JSON_LINE_BREAKS = re.compile(r"[\x85\u2028\u2029]")
# A value that needs no quotes in a key=value line.
_BARE = re.compile(r"[A-Za-z0-9_./:@%+~*,;!?&-]+")
_CONTINUATION = "    | "
# A request id a client may choose: what proxies and tracing systems generate (UUIDs, hex,
# base64), bounded, and nothing that could end a line or a header.
REQUEST_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:+/=-]{0,127}$"
_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)
# The attributes every LogRecord has: anything else on a record is an event field.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured copy of its message
}

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

LogFormat = Literal["json", "text"]


def accepted_request_id(offered: str | None) -> str:
    """The client's `X-Request-ID` when it is a plausible id, else a new one."""
    if offered is not None and _REQUEST_ID.fullmatch(offered):
        return offered
    return os.urandom(16).hex()  # 128 random bits, as uuid4().hex, in a quarter of the time


def current_request_id() -> str | None:
    """The id of the request (or delivered event) this code runs for, if any."""
    return _request_id.get()


class request_context:  # noqa: N801  (used as a function: `with request_context(id):`)
    """Lines logged inside carry `request_id`. A class, not a generator: every request
    enters one."""

    __slots__ = ("request_id", "token")

    def __init__(self, request_id: str | None) -> None:
        self.request_id = request_id

    def __enter__(self) -> None:
        self.token = _request_id.set(self.request_id)

    def __exit__(self, *_: object) -> None:
        _request_id.reset(self.token)


def escape_controls(text: str) -> str:
    """`text` with every line-ending and control character written as an escape (`\\n`)."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def logfmt(value: object) -> str:
    """A value for a key=value line: bare when safe, else quoted with `\\`, `"` and control
    characters escaped, so it can neither end the line nor pose as another key."""
    text = str(value)
    if _BARE.fullmatch(text):
        return text
    quoted = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escape_controls(quoted)}"'


def event_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's fields: its `extra` values, and the request id it was written under."""
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRIBUTES}


class RequestIdFilter(logging.Filter):
    """Tags each record our handler takes with the request id in force where it was logged
    (a handler's filters run in the logging call, before anything formats the record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = _request_id.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `ts`, `level`, `logger`, `event`, then the event's fields.

    It formats every access line, so it is kept cheap (~1.5 us a line): the time is formatted
    once per millisecond (its second once per second), and the line-break scan runs only over
    non-ASCII lines."""

    # (second, its text) and (millisecond, the whole time), each replaced as one value:
    # threads (the dispatcher's) format lines too.
    _second: tuple[int, str] = (-1, "")
    _millisecond: tuple[int, str] = (-1, "")

    def _timestamp(self, created: float) -> str:
        millisecond = int(created * 1000)
        last, stamp = self._millisecond
        if millisecond == last:  # a busy server writes many lines a millisecond
            return stamp
        second, text = self._second
        if millisecond // 1000 != second:
            second = millisecond // 1000
            text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = (second, text)
        stamp = f"{text}.{millisecond % 1000:03d}+00:00"
        self._millisecond = (millisecond, stamp)
        return stamp

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self._timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **event_fields(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return self.line(entry)

    def event_line(self, created: float, logger: str, event: str, fields: dict[str, Any]) -> str:
        """The line `format` writes for an INFO record of `logger` made at `created` whose
        message is `event` and whose fields are `fields` (in the record's order: the request
        id first, then the `extra` values)."""
        return self.line(
            {
                "ts": self._timestamp(created),
                "level": "info",
                "logger": logger,
                "event": event,
                **fields,
            }
        )

    def line(self, entry: dict[str, Any]) -> str:
        """`entry` as one line of JSON that no line reader can split."""
        try:
            line = orjson.dumps(entry, default=str)
        except TypeError:  # a lone surrogate (from a percent-decoded path): not UTF-8
            line = orjson.dumps(_escaped(entry), default=str)
        if line.isascii():
            return line.decode("ascii")
        return _JSON_LINE_BREAKS.sub(lambda m: f"\\u{ord(m.group()):04x}", line.decode())


def _escaped(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: escape_controls(v) if isinstance(v, str) else v for k, v in entry.items()}


class SingleLineFormatter(logging.Formatter):
    """A record is one line, whatever its arguments hold; its fields follow as key=value; a
    traceback follows on lines that start with `    | `, so none of them can pass for a
    record either."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802  (logging's name)
        fields = "".join(f" {k}={logfmt(v)}" for k, v in event_fields(record).items())
        return escape_controls(super().formatMessage(record)) + fields

    def formatException(self, ei: object) -> str:  # noqa: N802
        return _indent(super().formatException(ei))  # type: ignore[arg-type]

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return _indent(super().formatStack(stack_info))


def _indent(text: str) -> str:
    return "\n".join(_CONTINUATION + escape_controls(line) for line in text.splitlines())


TEXT_FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"


def configure_logging(level: str = "INFO", log_format: LogFormat = "json") -> None:
    """Send every record (uvicorn's too) to stderr, one line each, in `log_format`."""
    root = logging.getLogger()
    formatter = JsonFormatter() if log_format == "json" else SingleLineFormatter(TEXT_FORMAT)
    handler = next((h for h in root.handlers if isinstance(h, ClinicHandler)), None)
    if handler is None:
        root.addHandler(ClinicHandler(sys.stderr, formatter))
    else:
        handler.setFormatter(formatter)
    root.setLevel(level.upper())
    # uvicorn's loggers write through the root handler, in the same format, even when uvicorn
    # set up its own (`uvicorn main:app`); its access log is silenced: the app writes one line
    # per request, without the query string uvicorn's would carry (it may hold an email).
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    # httpx logs every request with its full URL: a webhook URL may carry a token in its path
    # or query. The dispatcher writes its own line per delivery, without the URL.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Alembic says at INFO which database dialect and plugins it set up, at every readiness
    # probe: nothing an operator acts on. Its warnings still come through.
    logging.getLogger("alembic").setLevel(logging.WARNING)


# Lines that wait for the end of an event-loop turn at most (a turn serving many requests).
_MAX_PENDING_LINES = 256
# What POSIX lets one write to a pipe carry whole, whoever else writes to it (PIPE_BUF).
_ATOMIC_WRITE_BYTES = 4096


class AccessLog:
    """The access log: one `request` line per answered request (method, path, route, status,
    duration; never bodies or queries), on the `clinic.http` logger.

    It runs for every request, and was half the CPU of a cached GET (a 304: ~5.5 us without
    it, ~10-15 us with it, in process). So when the line would only go to our own JSON
    handler (the default set-up) it is formatted by that handler's formatter (the same bytes
    as any record's) without a LogRecord and the handler chain, and the lines of one
    event-loop turn (at most 256) are written together when the turn ends, in writes of whole
    lines of at most 4 KiB (what a pipe shared by several worker processes takes whole): a
    process killed mid-turn loses at most that turn's lines, never half a line (of up to
    4 KiB). When anything else listens (another handler or a filter, such as a test's
    `caplog`) or the format is text, the line goes through `logging` as any other."""

    def __init__(self, name: str = "clinic.http") -> None:
        self.logger = logging.getLogger(name)
        self._lock = threading.Lock()  # apps in several threads (tests) share this log
        self._pending: list[str] = []
        self._handler: logging.StreamHandler[Any] | None = None
        self._scheduled = False

    def write(
        self,
        request_id: str,
        method: str,
        path: str,
        route: str | None,
        status: int,
        seconds: float,
    ) -> None:
        """Write the line of one request (from inside its `request_context`)."""
        logger = self.logger
        if not logger.isEnabledFor(logging.INFO):
            return
        duration_ms = round(seconds * 1000, 2)
        handler = _sole_json_handler(logger)
        if handler is None:
            fields = {
                "method": method,
                "path": path,
                "route": route,
                "status": status,
                "duration_ms": duration_ms,
            }
            logger.info("request", extra={"request_id": request_id, **fields})
            return
        # The fields in a record's order: its request id first, then `extra`'s.
        line = handler.formatter.event_line(  # type: ignore[union-attr]
            time.time(),
            logger.name,
            "request",
            {
                "request_id": request_id,
                "method": method,
                "path": path,
                "route": route,
                "status": status,
                "duration_ms": duration_ms,
            },
        )
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop in this thread: write it now
            self._write(handler, [line])
            return
        with self._lock:
            if self._handler is not handler and self._pending:
                self._write(self._handler, self._take())  # logging was set up anew
            self._pending.append(line)
            self._handler = handler
            if len(self._pending) >= _MAX_PENDING_LINES:  # a turn that runs long
                self._write(handler, self._take())
            if self._scheduled:
                return
            self._scheduled = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write the lines waiting for the end of the loop turn (the app's shutdown calls it
        too, for a turn that never ended)."""
        with self._lock:
            self._scheduled = False
            handler, lines = self._handler, self._take()
        if lines:
            self._write(handler, lines)

    def _take(self) -> list[str]:
        lines, self._pending = self._pending, []
        return lines

    @staticmethod
    def _write(handler: logging.StreamHandler[Any] | None, lines: list[str]) -> None:
        """The lines in writes of whole lines of at most PIPE_BUF bytes: a pipe (stderr under
        honcho, Docker, systemd) shared by several worker processes takes such a write whole,
        while a longer one may be split and have another process's bytes land inside a line."""
        if handler is None:
            return
        try:
            with handler.lock:  # type: ignore[union-attr]
                for chunk in _whole_lines(lines, _ATOMIC_WRITE_BYTES):
                    handler.stream.write(chunk)
                    handler.stream.flush()
        except Exception:  # a closed or broken stream: logging reports it its own way
            handler.handleError(logging.makeLogRecord({"msg": "access log lines not written"}))


def _whole_lines(lines: list[str], limit: int) -> Iterator[str]:
    """`lines`, each ended by a newline, joined into texts of at most `limit` UTF-8 bytes (a
    longer line alone)."""
    chunk: list[str] = []
    size = 0
    for line in lines:
        length = (len(line) if line.isascii() else len(line.encode())) + 1
        if chunk and size + length > limit:
            yield "\n".join(chunk) + "\n"
            chunk, size = [], 0
        chunk.append(line)
        size += length
    if chunk:
        yield "\n".join(chunk) + "\n"


def _sole_json_handler(logger: logging.Logger) -> logging.StreamHandler[Any] | None:
    """Our JSON stream handler on the root when a line of `logger`'s reaches it and nothing
    else (no other handler, no filter on the way), else None."""
    current: logging.Logger | None = logger
    while current is not None and current.parent is not None:  # up to, not including, the root
        if current.handlers or current.filters or not current.propagate:
            return None
        current = current.parent
    root = logging.getLogger()
    if root.filters or len(root.handlers) != 1:
        return None
    handler = root.handlers[0]
    if (
        not isinstance(handler, ClinicHandler)
        or len(handler.filters) != 1
        or handler.level > logging.INFO
        or not isinstance(handler.formatter, JsonFormatter)
    ):
        return None
    return handler


class ClinicHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The one handler `configure_logging` installs on the root: one line a record on
    `stream`, each tagged with its request id."""

    def __init__(self, stream: Any, formatter: logging.Formatter) -> None:
        super().__init__(stream)
        self.addFilter(RequestIdFilter())
        self.setFormatter(formatter)


def describe_exception(exc: BaseException) -> str:
    """The exception's type and where it was raised, without its message.

    Messages can quote the data being processed (a lead's fields), so they stay out of logs."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = " <- ".join(
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in reversed(frames[-6:])
    )
    return f"{type(exc).__module__}.{type(exc).__qualname__} at {where}"
