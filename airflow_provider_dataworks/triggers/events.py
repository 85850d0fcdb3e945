"""The one event ``DataWorksTaskInstanceTrigger`` fires, and its check in ``execute_complete`` (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from airflow_provider_dataworks.domain.wait_state import WaitState
from airflow_provider_dataworks.exceptions import DataWorksError


class TriggerEventStatus(str, Enum):
    """How a deferred wait ended."""

    SUCCESS = "success"
    FAILURE = "failure"
    RETRIGGER = "retrigger"  # DataWorks dropped our trigger after its 24-hour retention: send it once more
    TIMEOUT = "timeout"  # the deadline passed; DataWorks keeps running
    ERROR = "error"  # a poll failed for good (permission, quota, too many passing failures in a row)


@dataclass(frozen=True)
class WaitEvent:
    """The trigger event's payload: how the wait ended, what it saw, and its :class:`WaitState` as it stands then,
    so that a re-deferral, a repair or a cancel carries on from it."""

    status: TriggerEventStatus
    message: str
    state: WaitState
    statuses: dict[str, str] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        """The ``TriggerEvent`` payload: plain JSON types."""
        return {
            "status": self.status.value,
            "message": self.message,
            "statuses": dict(self.statuses),
            "wait": self.state.to_json(),
        }


def validate_event(event: Any) -> WaitEvent:
    """The trigger's event as ``execute_complete`` expects it, or a clear error."""
    statuses = {s.value for s in TriggerEventStatus}
    wait = event.get("wait") if isinstance(event, dict) else None
    if not isinstance(wait, dict) or "instance_id" not in wait or "message" not in event:
        raise DataWorksError(f"unexpected event from DataWorksTaskInstanceTrigger: {event!r}")
    if event.get("status") not in statuses:
        raise DataWorksError(f"unexpected event from DataWorksTaskInstanceTrigger: {event!r}")
    return WaitEvent(
        status=TriggerEventStatus(event["status"]),
        message=str(event["message"]),
        state=WaitState.from_json(wait),
        statuses=dict(event.get("statuses") or {}),
    )
