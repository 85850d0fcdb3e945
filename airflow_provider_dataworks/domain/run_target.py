"""The operator's records of a run (pure): which instance it names, and what was released for it.

Times are epoch milliseconds; ``zone`` is the IANA scheduling zone the TriggerTime was read in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from airflow_provider_dataworks.domain.timing import bizdate_ms


@dataclass(frozen=True)
class RunTarget:
    """The instance a DAG run names: the HTTP trigger node's task and its TriggerTime, in a workspace and env.

    ``source`` says where the TriggerTime came from (``trigger_time``, ``data_interval_end``, ``logical_date``).
    """

    task_id: int
    trigger_time_ms: int
    source: str
    zone: str
    env_type: str
    project_id: int
    region_id: str | None


@dataclass(frozen=True)
class ReleaseRecord:
    """What the operator found and released for a run.

    Kept in the task state store (``to_xcom``), so that a retry re-attaches instead of triggering again, and
    read back with ``from_xcom``; its ids also go to XCom one key each.
    """

    instance_id: int
    dataworks_task_id: int
    trigger_time_ms: int
    env_type: str
    project_id: int | None = None
    zone: str | None = None
    scheduled_time: str | None = None  # the console's format, with the offset in force then
    workflow_instance_id: int | None = None
    console_url: str | None = None
    trigger_sent_at_ms: int | None = None  # when our trigger was sent (None: it was not ours to send)
    released: bool = False  # the instance is known to be past its trigger
    resent: bool = False  # the trigger was sent once more after DataWorks dropped it (never a third time)
    repaired: bool = False  # a try of this run reran failed instances of the target (rerun_failed)

    def to_xcom(self) -> dict[str, Any]:
        """A JSON-serialisable dict (the task state store and XCom keep JSON)."""
        return asdict(self)

    @classmethod
    def from_xcom(cls, value: Mapping[str, Any]) -> ReleaseRecord:
        """The record from :meth:`to_xcom`'s dict; keys it does not know are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: item for key, item in value.items() if key in known})

    @property
    def released_by_run(self) -> bool:
        """This run sent the trigger or reran what failed: what is running now is its own, so ``cancel_on_kill``
        may stop it. (False: the instance was found already released, by another run or by hand.)"""
        return self.trigger_sent_at_ms is not None or self.repaired

    @property
    def bizdate_ms(self) -> int | None:
        """The instance's business date (epoch ms), when its zone is known."""
        return bizdate_ms(self.trigger_time_ms, self.zone) if self.zone and self.trigger_time_ms else None
