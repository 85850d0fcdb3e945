"""The trigger a task that met DataWorks' daily quota defers to: it sleeps until the quota's reset, then hands the
task's state back in its event. Also how a quota is named and which quota day a refusal fell in.

The state travels in the event, not in ``defer(kwargs=...)``: ``dag.test()`` of Airflow 2.11 and 3.3 resumes a
deferred task with ``{"event": ...}`` alone (the triggerer of a real deployment merges the two), as the
provider's other deferrals do. Costs no API call; nothing blocks the event loop (``asyncio.sleep``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

if TYPE_CHECKING:
    from airflow_provider_dataworks.exceptions import DataWorksApiError
    from airflow_provider_dataworks.hooks.connection import ConnectionSettings

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


def whose_quota(settings: ConnectionSettings) -> str:
    """``the daily quota of the account of connection 'x' in region cn-hangzhou`` (no key, no secret)."""
    where = f"region {settings.region_id}" if settings.region_id else f"endpoint {settings.endpoint}"
    return f"the daily quota of the account of connection {settings.conn_id!r} in {where}"


def refused_in_quota_day_of(err: DataWorksApiError) -> datetime:
    """The instant whose quota day DataWorks refused ``err`` in: when the refused call was sent (before DataWorks
    counted it), not when the error reached us. A call answered just before the reset and handled just after
    it must wait for this reset, not the next one a day later. Now, if the error does not say."""
    sent_at = err.sent_at if err.sent_at is not None else time.time()
    return datetime.fromtimestamp(sent_at, timezone.utc)
