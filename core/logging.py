"""Logging setup: one line per event, never personal data."""

import logging
import sys
import traceback


def configure_logging(level: str = "INFO") -> None:
    """Send log records to stderr in a terse key=value format."""
    root = logging.getLogger()
    if not any(getattr(h, "_clinic", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter("%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
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
