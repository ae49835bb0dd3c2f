"""Library warnings caught and counted instead of reaching the user's terminal.

GDAL (through pyogrio), shapely, numpy, pandas and openpyxl warn about what they meet in a file
(``RuntimeWarning: invalid value encountered in make_valid``, ``Warning 1: …``). A user should see
an error naming file, row and field, or a count in the load's summary, never a raw warning or a
traceback: :func:`captured` records them (Python warnings and the libraries' log records) for the
duration of a load or a publication.
"""
from __future__ import annotations

import logging
import threading
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

LOGGER = logging.getLogger(__name__)
#: Loggers of libraries that report data problems as log records.
LIBRARY_LOGGERS = ("pyogrio", "pyogrio._err", "fiona", "shapely", "openpyxl")
# ``warnings.catch_warnings`` swaps process-wide state: two threads of a web worker entering and
# leaving it interleaved would leave one's recorder installed for good. One capture at a time.
_LOCK = threading.RLock()


@dataclass
class Caught:
    """What was caught so far: log records, then Python warnings (readable inside the block too)."""

    logged: list[str] = field(default_factory=list)
    raw: list = field(default_factory=list)

    @property
    def messages(self) -> list[str]:
        return self.logged + [f"{w.category.__name__}: {w.message}"[:300] for w in self.raw]

    @property
    def count(self) -> int:
        return len(self.logged) + len(self.raw)

    def summary(self, top: int = 3) -> str:
        """``"5 (RuntimeWarning: invalid value… ×4; UserWarning: … ×1)"``."""
        counts = Counter(self.messages)
        shown = "; ".join(f"{text[:160]} ×{n}" for text, n in counts.most_common(top))
        more = f"; {len(counts) - top} other kinds" if len(counts) > top else ""
        return f"{self.count} ({shown}{more})"


class _Recorder(logging.Handler):
    def __init__(self, caught: Caught):
        super().__init__(logging.DEBUG)
        self.caught = caught

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.caught.logged.append(f"{record.name}: {record.getMessage()}"[:300])


@contextmanager
def captured() -> Iterator[Caught]:
    """Record the Python warnings and the libraries' warning log records raised inside the block."""
    caught = Caught()
    recorder = _Recorder(caught)
    with _LOCK:
        loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
        saved = [(lg, lg.propagate) for lg in loggers]
        for lg in loggers:
            lg.addHandler(recorder)
            lg.propagate = False
        try:
            with warnings.catch_warnings(record=True) as raw:
                warnings.simplefilter("always")
                caught.raw = raw
                yield caught
        finally:
            for lg, propagate in saved:
                lg.removeHandler(recorder)
                lg.propagate = propagate
    for message in caught.messages:
        LOGGER.debug("library warning: %s", message)
