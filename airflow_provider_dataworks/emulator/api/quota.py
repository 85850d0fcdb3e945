"""The editions' call limits: QPS (all calls, reads, writes) and the daily quota, per account and region.

A call over a limit is refused with DataWorks' 429 before it takes effect; ``wire.py`` charges each call.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime

from airflow_provider_dataworks.domain.api_limits import EDITIONS, QuotaReset, api_kind, parse_reset
from airflow_provider_dataworks.emulator.backend.errors import ApiError


@dataclass
class Quota:
    """Limits like the editions', per key (the caller says whose quota a call spends: ``"<account>/<region>"``);
    None = unlimited. Enterprise: ``read_qps=50, write_qps=20`` (reads are Get*/List*, writes the rest,
    ``api_limits.api_kind``), no daily cap; Basic: ``qps=5`` (all calls together), ``daily=100``.

    A call over a QPS limit answers 429 ``Throttling.User`` (the account's flow control; ``retry_after_ms`` adds
    ``x-acs-retry-after``, which DataWorks does not document: off by default), one over the daily cap 429
    ``Throttling.Api.Risk``. A refused call is not counted and does not take effect. The daily count is per quota
    day: from one ``reset`` (a wall time in an IANA zone, default 00:00 Asia/Shanghai,
    ``domain/api_limits.py``) to the next, on the emulated clock; the QPS windows (one second, sliding) are real
    (wall) time. ``refused`` counts the 429s per code and kind.
    """

    qps: float | None = None
    daily: int | None = None
    reset: QuotaReset = field(default_factory=lambda: parse_reset(None))
    read_qps: float | None = None
    write_qps: float | None = None
    retry_after_ms: int | None = None
    refused: Counter[tuple[str, str]] = field(default_factory=Counter)
    _recent: dict[tuple[str, str], deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _daily_count: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def configure(
        self,
        *,
        qps: float | None = None,
        daily: int | None = None,
        reset: str | None = None,
        read_qps: float | None = None,
        write_qps: float | None = None,
        edition: str | None = None,
        retry_after_ms: int | None = None,
    ) -> None:
        """Set the limits (each unset one: unlimited, or the ``edition``'s: ``"enterprise"``, ``"basic"``) and the
        reset (``"HH:MM[:SS] Zone"``; None: the default). Clears the QPS windows and the refusal counts."""
        parsed = parse_reset(reset, "quota reset")
        limits: dict[str, float | int | None] = {}
        if edition is not None:
            if edition.lower() not in EDITIONS:
                raise ValueError(f"edition {edition!r}: one of {sorted(EDITIONS)}")
            limits = dict(EDITIONS[edition.lower()])
        given = {"qps": qps, "read_qps": read_qps, "write_qps": write_qps, "daily": daily}
        limits |= {k: v for k, v in given.items() if v is not None}
        for name, value in limits.items():
            if value is not None and value <= 0:
                raise ValueError(f"quota {name}={value!r} must be above 0 (None: unlimited)")
        with self._lock:
            self.qps, self.read_qps, self.write_qps = limits.get("qps"), limits.get("read_qps"), limits.get("write_qps")
            daily_limit = limits.get("daily")
            self.daily = int(daily_limit) if daily_limit is not None else None
            self.reset, self.retry_after_ms = parsed, retry_after_ms
            self._recent.clear()
            self.refused.clear()

    def limits(self) -> dict[str, object]:
        """The limits in force (for the CLI's info line and the control API)."""
        return {
            "qps": self.qps,
            "read_qps": self.read_qps,
            "write_qps": self.write_qps,
            "daily": self.daily,
            "reset": str(self.reset),
        }

    def _day(self, key: str, now: datetime) -> tuple[str, str]:
        return key, self.reset.last_reset(now).isoformat()

    def _refuse(self, code: str, kind: str, message: str) -> ApiError:
        self.refused[(code, kind)] += 1
        headers = {"x-acs-retry-after": str(self.retry_after_ms)} if self.retry_after_ms else None
        return ApiError(429, code, message, headers if code != "Throttling.Api.Risk" else None)

    def _full(self, window: deque[float], limit: float, wall_seconds: float) -> bool:
        while window and window[0] <= wall_seconds - 1.0:
            window.popleft()
        return len(window) >= limit

    def charge(self, key: str, now: datetime, wall_seconds: float, action: str | None = None) -> None:
        """Count one call of ``key`` (``action``: read or write, ``api_limits.api_kind``; None: a read) at emulated
        time ``now``; raise a 429 ApiError when it is over a limit (a refused call is not counted anywhere and does
        not take effect)."""
        kind = api_kind(action) if action else "read"
        kind_qps = self.read_qps if kind == "read" else self.write_qps
        with self._lock:
            day = self._day(key, now)
            if self.daily is not None and self._daily_count[day] >= self.daily:
                message = f"The daily call quota ({self.daily}) of this account in this region is used up."
                raise self._refuse("Throttling.Api.Risk", kind, message)
            windows = [(self._recent[(key, "all")], self.qps, "")] if self.qps is not None else []
            if kind_qps is not None:
                windows.append((self._recent[(key, kind)], kind_qps, f" {kind}"))
            for window, limit, what in windows:
                if self._full(window, limit, wall_seconds):
                    flow = f"{limit:g}{what} QPS of this account in this region"
                    raise self._refuse(
                        "Throttling.User", kind, f"Request was denied due to user flow control ({flow})."
                    )
            for window, _, _ in windows:
                window.append(wall_seconds)
            if self.daily is not None:
                self._daily_count[day] += 1

    def used_today(self, key: str, now: datetime) -> int:
        """Calls ``key`` spent in the quota day of ``now``."""
        with self._lock:
            return self._daily_count.get(self._day(key, now), 0)

    def use_up(self, now: datetime) -> None:
        """Spend what is left of the quota day of ``now`` for every key that has called (tests: the quota runs out
        at a moment they choose); the next reset gives each the whole daily quota again."""
        with self._lock:
            if self.daily is None:
                raise ValueError("use_up needs a daily quota (configure daily=...)")
            for key in {key for key, _ in self._daily_count}:
                self._daily_count[self._day(key, now)] = self.daily
