"""The one event ``DataWorksTaskInstanceTrigger`` fires, and its check in ``execute_complete`` (pure)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

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
    """The trigger event's payload. ``deadline`` is epoch seconds and ``deadline_by`` what set it (``timeout`` or
    ``execution_timeout``); ``cancel_on_kill`` says the run may stop what it released. The wait's state
    (``released`` and on) comes with every event, so that a re-deferral or a cancel carries on from it."""

    status: TriggerEventStatus
    message: str
    instance_id: int
    wait_for: str
    deadline: float | None = None
    statuses: dict[str, str] = field(default_factory=dict)
    released: bool | None = None
    workflow_instance_id: int | None = None
    trigger_sent_at_ms: int | None = None
    resent: bool | None = None
    deadline_by: str | None = None
    cancel_on_kill: bool = False

    def to_payload(self) -> dict[str, Any]:
        """The ``TriggerEvent`` payload: plain JSON types."""
        return {**asdict(self), "status": self.status.value}


def validate_event(event: Any) -> WaitEvent:
    """The trigger's event as ``execute_complete`` expects it, or a clear error."""
    statuses = {s.value for s in TriggerEventStatus}
    if (
        not isinstance(event, dict)
        or event.get("status") not in statuses
        or "message" not in event
        or "instance_id" not in event
    ):
        raise DataWorksError(f"unexpected event from DataWorksTaskInstanceTrigger: {event!r}")
    return WaitEvent(
        status=TriggerEventStatus(event["status"]),
        message=str(event["message"]),
        instance_id=int(event["instance_id"]),
        wait_for=str(event.get("wait_for") or "instance"),
        deadline=event.get("deadline"),
        statuses=dict(event.get("statuses") or {}),
        released=event.get("released"),
        workflow_instance_id=event.get("workflow_instance_id"),
        trigger_sent_at_ms=event.get("trigger_sent_at_ms"),
        resent=event.get("resent"),
        deadline_by=event.get("deadline_by"),
        cancel_on_kill=bool(event.get("cancel_on_kill")),
    )
