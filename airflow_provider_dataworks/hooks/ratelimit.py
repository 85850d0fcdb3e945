"""A per-connection, process-wide client-side rate limit (calls per second), for sync and async callers."""

from __future__ import annotations

import asyncio
import threading
import time


class RateLimiter:
    """Spaces calls at least ``1/qps`` seconds apart. ``reserve`` books a slot and says how long to wait."""

    def __init__(self, qps: float) -> None:
        self.interval = 1.0 / qps
        self._next = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Book the next slot; seconds to wait before using it."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
            return slot - now

    def wait(self) -> None:
        delay = self.reserve()
        if delay > 0:
            time.sleep(delay)

    async def await_slot(self) -> None:
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)


_LIMITERS: dict[tuple[str, str, float], RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(conn_id: str, endpoint: str, qps: float) -> RateLimiter:
    """The limiter shared by every hook of this process on the same connection and endpoint."""
    key = (conn_id, endpoint, qps)
    with _LIMITERS_LOCK:
        if key not in _LIMITERS:
            _LIMITERS[key] = RateLimiter(qps)
        return _LIMITERS[key]
