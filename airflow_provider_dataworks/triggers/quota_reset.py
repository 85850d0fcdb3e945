"""The trigger a task that met DataWorks' daily quota defers to: it sleeps until the quota's reset, then hands the
task's state back in its event.

The state travels in the event, not in ``defer(kwargs=...)``: ``dag.test()`` of Airflow 2.11 and 3.3 resumes a
deferred task with ``{"event": ...}`` alone (the triggerer of a real deployment merges the two), as the
provider's other deferrals do. Costs no API call; nothing blocks the event loop (``asyncio.sleep``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

#: The ``status`` of the one event it fires.
QUOTA_RESET = "quota_reset"
#: Longest single sleep (seconds): a suspended machine or a changed clock is noticed within it.
_SLEEP_CHUNK_S = 60.0


class DataWorksQuotaResetTrigger(BaseTrigger):
    """Fire once at ``resume_at`` (epoch seconds, UTC) with ``{"status": "quota_reset", "resumed_at": <epoch s>,
    **state}``; ``state`` holds plain JSON values (the try's own, restored when it resumes)."""

    def __init__(self, resume_at: float, state: dict[str, Any]) -> None:
        super().__init__()
        self.resume_at = float(resume_at)
        self.state = dict(state)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"resume_at": self.resume_at, "state": self.state},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while (left := self.resume_at - time.time()) > 0:
            await asyncio.sleep(min(left, _SLEEP_CHUNK_S))
        yield TriggerEvent({**self.state, "status": QUOTA_RESET, "resumed_at": time.time()})
