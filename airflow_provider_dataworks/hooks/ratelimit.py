"""A per-connection, process-wide client-side rate limit (calls per second), for sync and async callers.

DataWorks limits each account per region (Enterprise: 50 reads and 20 writes a second), shared by every process of
every deployment on that account; a process knows nothing of the others. So each process spaces its calls at most
``qps`` a second per kind (reads and writes have their own limiter: a throttled write does not slow the reads), and
adapts (AIMD): a throttled call (429 ``Throttling.*``) halves the process's rate, at most once per current interval
(one burst of refusals is one signal), down to :data:`MIN_QPS`; each call that goes through adds back
:data:`INCREASE_PER_CALL` of the ceiling, so a process alone climbs back to ``qps`` in about 20 calls. Many
processes on one account then settle near their share of the account's QPS instead of each sending at ``qps`` into
refusals. The hook retries throttled calls within a time budget (``hooks/dataworks.py``).
"""

from __future__ import annotations

import asyncio
import threading
import time

#: The slowest a limiter goes after refusals: one call every 20 s.
MIN_QPS = 0.05
#: Additive increase per call that went through, as a share of the ceiling.
INCREASE_PER_CALL = 0.05


class RateLimiter:
    """Spaces calls at least ``1/rate`` seconds apart; ``rate`` starts at ``qps`` (the ceiling) and adapts:
    :meth:`throttled` halves it, :meth:`succeeded` adds a little back. ``reserve`` books a slot and says how long
    to wait."""

    def __init__(self, qps: float) -> None:
        self.ceiling = qps
        self.rate = qps
        self._next = 0.0
        self._last_cut = -1e9
        self._lock = threading.Lock()
        #: Refusals seen and halvings made (the load benchmark reads them).
        self.refusals = 0
        self.cuts = 0

    @property
    def interval(self) -> float:
        """Seconds between two calls at the current rate."""
        return 1.0 / self.rate

    def reserve(self) -> float:
        """Book the next slot; seconds to wait before using it."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
            return slot - now

    def throttled(self) -> None:
        """DataWorks refused a call for its QPS: halve the rate (once per interval at the current rate)."""
        with self._lock:
            self.refusals += 1
            now = time.monotonic()
            if now - self._last_cut < self.interval:
                return
            self._last_cut = now
            self.rate = max(MIN_QPS, min(self.rate, self.ceiling) / 2)
            self.cuts += 1
            self._next = max(self._next, now + self.interval)

    def succeeded(self) -> None:
        """A call went through: creep back towards the ceiling."""
        with self._lock:
            if self.rate < self.ceiling:
                self.rate = min(self.ceiling, self.rate + self.ceiling * INCREASE_PER_CALL)

    def wait(self) -> None:
        delay = self.reserve()
        if delay > 0:
            time.sleep(delay)

    async def await_slot(self) -> None:
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)


_LIMITERS: dict[tuple[str, str, float, str], RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(conn_id: str, endpoint: str, qps: float, kind: str = "read") -> RateLimiter:
    """The limiter shared by every hook of this process on the same connection and endpoint, for ``kind`` of call
    (``"read"`` or ``"write"``, ``quota.api_kind``)."""
    key = (conn_id, endpoint, qps, kind)
    with _LIMITERS_LOCK:
        if key not in _LIMITERS:
            _LIMITERS[key] = RateLimiter(qps)
        return _LIMITERS[key]
