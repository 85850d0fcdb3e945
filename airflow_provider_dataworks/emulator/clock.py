"""The emulator's clock: real time by default; tests freeze, set and advance it."""

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
        moment = _aware(at) if at is not None else self.now()
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
        moment = _aware(at)
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


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"the clock needs an aware datetime, got naive {moment.isoformat()}")
    return plain_utc(moment)
