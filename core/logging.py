"""Logging setup: one line per event, never personal data, and nothing a request sends can
start a line of its own (log forging)."""

import logging
import re
import sys
import traceback

# Characters that end a line somewhere (C0, DEL, C1 with U+0085, U+2028/U+2029), and lone
# surrogates, which cannot even be written as UTF-8.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# A value that needs no quotes in a key=value line.
_BARE = re.compile(r"[A-Za-z0-9_./:@%+~*,;!?&-]+")
_CONTINUATION = "    | "


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


class SingleLineFormatter(logging.Formatter):
    """A record is one line, whatever its arguments hold; a traceback follows on lines that
    start with `    | `, so none of them can pass for a record either."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802  (logging's name)
        return escape_controls(super().formatMessage(record))

    def formatException(self, ei: object) -> str:  # noqa: N802
        return _indent(super().formatException(ei))  # type: ignore[arg-type]

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return _indent(super().formatStack(stack_info))


def _indent(text: str) -> str:
    return "\n".join(_CONTINUATION + escape_controls(line) for line in text.splitlines())


def configure_logging(level: str = "INFO") -> None:
    """Send log records to stderr in a terse key=value format, one line per record."""
    root = logging.getLogger()
    if not any(getattr(h, "_clinic", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            SingleLineFormatter("%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
        )
        handler._clinic = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level.upper())


def describe_exception(exc: BaseException) -> str:
    """The exception's type and where it was raised, without its message.

    Messages can quote the data being processed (a lead's fields), so they stay out of logs."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = " <- ".join(
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in reversed(frames[-6:])
    )
    return f"{type(exc).__module__}.{type(exc).__qualname__} at {where}"
