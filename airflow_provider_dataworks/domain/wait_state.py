"""Where a wait on DataWorks stands: the one record that the trigger, its event, XCom and the sync wait carry.

    state = WaitState(instance_id=10000000002, wait_for="workflow", poll_interval=60.0)
    state = replace(state, released=True)
    WaitState.from_json(state.to_json()) == state  # True: plain JSON, as Airflow stores it

A field added here travels everywhere at once: the trigger's serialised arguments, its event, the task state
store (Airflow 3.3+ re-attach) and the sync wait all hold one ``WaitState``. Times are epoch milliseconds
(``*_ms``) or epoch seconds (``deadline``, intervals in seconds); ``zone`` is the IANA scheduling zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from airflow_provider_dataworks.domain.timing import bizdate_ms

#: The fields of a release the operator pushes to XCom, one key each (its console address goes under the extra
#: link's key, ``links/dataworks.py``); OpenLineage reads them back where the task kept no wait state.
XCOM_FIELDS = (
    "instance_id",
    "trigger_time_ms",
    "scheduled_time",
    "dataworks_task_id",
    "env_type",
    "project_id",
    "workflow_instance_id",
)


@dataclass(frozen=True)
class WaitState:
    """One wait: the instance it is on, how far it got, how it polls and when it gives up."""

    # The instance, and for the operator, what names it: the HTTP trigger node, its TriggerTime, where it runs.
    instance_id: int
    wait_for: str = "instance"  # instance, downstream or workflow
    dataworks_task_id: int | None = None
    trigger_time_ms: int | None = None
    zone: str | None = None
    scheduled_time: str | None = None  # the console's format, with the offset in force then
    env_type: str | None = None
    project_id: int | None = None
    bizdate_ms: int | None = None  # the instance's business date; with project_id, reads are shared
    console_url: str | None = None
    # How far it got.
    workflow_instance_id: int | None = None
    released: bool = False  # the instance is known to be past its trigger
    trigger_sent_at_ms: int | None = None  # when our trigger was sent (None: not ours to send)
    resent: bool = False  # the trigger was sent once more after DataWorks dropped it (never a third time)
    repaired: bool = False  # a try of this run reran failed instances of the target (rerun_failed)
    # How it polls and when it gives up.
    poll_interval: float = 60.0
    max_poll_interval: float | None = None  # None: waiting.poll_cap's default
    deadline: float | None = None
    deadline_by: str | None = None  # what set the deadline: timeout or execution_timeout
    cancel_on_kill: bool = False  # a kill or timeout may stop what the wait targets

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values (XCom, the trigger table and events keep JSON)."""
        return asdict(self)

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> WaitState:
        """The state from :meth:`to_json`'s dict; keys it does not know are ignored (an older or newer writer)."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: item for key, item in value.items() if key in known})

    @property
    def released_by_run(self) -> bool:
        """This run sent the trigger or reran what failed: what runs now is its own, so ``cancel_on_kill`` may stop
        it. (False: the instance was found already released, by another run or by hand.)"""
        return self.trigger_sent_at_ms is not None or self.repaired

    def with_bizdate(self) -> WaitState:
        """The state with ``bizdate_ms`` filled in from the TriggerTime and zone, when both are known."""
        if self.bizdate_ms is not None or not (self.zone and self.trigger_time_ms):
            return self
        return replace(self, bizdate_ms=bizdate_ms(self.trigger_time_ms, self.zone))
