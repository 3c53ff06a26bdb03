"""DataSpace: the free space of the volume that holds the hub's data (the hub-data volume: SQLite
database, lockouts, user providers), against the reserve the hub keeps on it (hub.dataReserveMiB).

Below the reserve the hub refuses the changes it would have to save (gmap_hub.write_guard), so a
full disk never leaves an operation half-done: a server stopped on Docker but still running in the
database, which JupyterHub would then route to and report as running until its next restart. The
state changes are logged once each (low: a warning, full: an error, space back: info), and whoever
waits for the space to come back (the hub: gmap_hub.app) is called then.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections.abc import Callable
from typing import Any

MiB = 1024 * 1024

#: Refused changes answer this (HTTP 503); the hub's log says more (which volume, how much is free).
FULL_MESSAGE = (
    "The hub cannot save changes right now: the volume that holds its data is full. Nothing was changed; "
    "servers that are running keep running. Try again later (the operator is told in the hub's log)."
)


def disk_full(error: BaseException | None) -> bool:
    """Whether an exception (or one it was raised from, e.g. SQLAlchemy's wrapped driver error) says
    that the disk is full: SQLite's "database or disk is full", PostgreSQL's "No space left on
    device", an OSError ENOSPC or EDQUOT."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(error)
        if "database or disk is full" in text or "No space left on device" in text or "Disk quota exceeded" in text:
            return True
        error = getattr(error, "orig", None) or error.__cause__ or error.__context__
    return False


class DataSpace:
    """The hub-data volume's free space against the reserve: ``full`` once it is below."""

    #: A periodic check runs this often (seconds); requests that change something check at most
    #: once per ``recheck`` seconds in between.
    interval = 5.0
    recheck = 1.0

    def __init__(
        self,
        path: str,
        reserve_bytes: int,
        log: logging.Logger,
        *,
        statvfs: Callable[[str], Any] = os.statvfs,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.path = path
        self.reserve = reserve_bytes
        self.log = log
        self._statvfs = statvfs
        self._clock = clock
        self.full = False
        self._low = False
        self._checked = float("-inf")
        #: until when a failed write keeps the state full whatever the free space says
        self._held_until = float("-inf")
        self._on_space_back: list[Callable[[], None]] = []

    def on_space_back(self, callback: Callable[[], None]) -> None:
        """Calls ``callback`` each time the state goes from full back to writable."""
        self._on_space_back.append(callback)

    def free_bytes(self) -> int | None:
        """Free space for the hub's writes, or None when it cannot be read (then nothing is refused)."""
        try:
            st = self._statvfs(self.path)
        except OSError as e:
            self.log.warning("Cannot read the free space of %s: %s", self.path, e)
            return None
        return st.f_bavail * st.f_frsize

    def check(self) -> bool:
        """Reads the free space, logs a change of state and returns whether changes are refused."""
        self._checked = self._clock()
        if self.reserve <= 0 and self._held_until < self._checked:
            self._set(full=False, free=None)
            return False
        free = self.free_bytes()
        held = self._held_until >= self._checked
        full = held or (free is not None and free < self.reserve)
        low = free is not None and free < 2 * self.reserve
        if low and not self._low and not full:
            self.log.warning(
                "The hub's data volume (%s) has %s free; below the reserve of %s the hub stops saving changes (hub.dataReserveMiB)",
                self.path,
                _mib(free),
                _mib(self.reserve),
            )
        self._low = low
        self._set(full=full, free=free)
        return full

    def refuses_writes(self) -> bool:
        """Whether a change must be refused now (the free space read at most once per ``recheck``)."""
        if self._clock() - self._checked >= self.recheck:
            return self.check()
        return self.full

    def write_failed(self, error: BaseException) -> None:
        """A write failed for want of space while the check said there was some (a race, a reserve of
        0, a database on another volume): changes are refused until a check after ``interval``."""
        self._held_until = self._clock() + self.interval
        if not self.full:
            self.log.error("The hub could not save a change, the disk is full: %s", error)
        self.check()

    def _set(self, *, full: bool, free: int | None) -> None:
        was = self.full
        self.full = full
        if full and not was:
            self.log.error(
                "The hub's data volume (%s) is full: %s free, reserve %s. Sign-ins, server starts and stops and other "
                "changes are refused (HTTP 503) until space is freed there; pages and running servers keep working",
                self.path,
                "unknown" if free is None else _mib(free),
                _mib(self.reserve),
            )
        elif was and not full:
            self.log.info("The hub's data volume (%s) has space again (%s free): changes are accepted", self.path, _mib(free))
            for callback in self._on_space_back:
                callback()


def _mib(value: int | None) -> str:
    return "unknown" if value is None else f"{value / MiB:.1f} MiB"
