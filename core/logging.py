"""Logging setup: one line per event, never personal data."""

import logging
import sys


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
