"""The emulator's clock (real time by default; tests freeze, set and advance it) and the one reading of an
instant given as text (scenario files, the control API), which must carry a UTC offset.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from airflow_provider_dataworks.domain.timing import plain_utc


class EmulatorClock:
    """Time as the emulated DataWorks sees it (aware UTC datetimes).

    Running (the default) it follows the real clock plus an offset, so ``set`` and ``advance`` shift it
    and it keeps ticking; frozen it stays where it is put until moved.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen_at: datetime | None = None

    def now(self) -> datetime:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return datetime.now(timezone.utc) + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def freeze(self, at: datetime | None = None) -> datetime:
        """Stop the clock at ``at`` (aware), or where it is now."""
        moment = _utc(at) if at is not None else self.now()
        with self._lock:
            self._frozen_at = moment
        return moment

    def unfreeze(self) -> None:
        """Let the clock run again from where it stands."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - datetime.now(timezone.utc)
                self._frozen_at = None

    def set(self, at: datetime) -> datetime:
        """Move the clock to ``at`` (aware); a frozen clock stays frozen, a running one keeps running."""
        moment = _utc(at)
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = moment
            else:
                self._offset = moment - datetime.now(timezone.utc)
        return moment

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta``."""
        return self.set(self.now() + delta)

    def reset(self) -> None:
        """Back to real time."""
        with self._lock:
            self._offset = timedelta(0)
            self._frozen_at = None


def parse_instant(text: str, what: str) -> datetime:
    """``text`` as an ISO-8601 instant; a ValueError naming ``what`` when it has no UTC offset."""
    moment = datetime.fromisoformat(text)
    if not _is_aware(moment):
        raise ValueError(f"{what}={text!r} needs a UTC offset, e.g. 2026-11-24T16:31:00+00:00")
    return moment


def _is_aware(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.utcoffset() is not None


def _utc(moment: datetime) -> datetime:
    """``moment`` in plain UTC, as the clock keeps time; a ValueError when it is naive."""
    if not _is_aware(moment):
        raise ValueError(f"the clock needs an aware datetime, got naive {moment.isoformat()}")
    return plain_utc(moment)
