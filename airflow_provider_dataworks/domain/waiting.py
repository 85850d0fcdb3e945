"""What a wait on DataWorks has reached: pure verdicts over records the caller fetched (no I/O).

A wait has a *target*: the HTTP-trigger instance itself (``instance``), its direct downstream
instances (``downstream``) or its workflow instance (``workflow``). Until the trigger instance is
released, every target waits on it first, so the trigger instance is read until it is past the trigger
(unless the caller knows it was released: triggered while it was WaitTrigger).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import Enum

from airflow_provider_dataworks.domain.api_records import (
    TaskInstance,
    TaskInstanceStatus,
    TriggerRecurrence,
    WorkflowInstance,
)
from airflow_provider_dataworks.domain.hook_calls import HookCall, Steps
from airflow_provider_dataworks.domain.timing import format_in_zone
from airflow_provider_dataworks.domain.wait_state import WaitState
from airflow_provider_dataworks.exceptions import (
    DataWorksApiError,
    DataWorksError,
    InstanceFailedError,
    InstanceNotReleasableError,
)

#: DataWorks keeps a trigger sent before upstream finished for 24 hours, then drops it.
TRIGGER_RETENTION_MS = 24 * 3600 * 1000


class Outcome(str, Enum):
    """What one poll found; a finished outcome's value is also the trigger event's status."""

    DONE = "success"
    FAILED = "failure"
    WAITING = "waiting"
    RETRIGGER = "retrigger"  # our trigger was dropped after DataWorks' 24-hour retention: send it once more


@dataclass(frozen=True)
class Verdict:
    state: Outcome
    message: str
    statuses: dict[str, str] = field(default_factory=dict)  # "<kind> <id> (<name>)" -> status
    #: the failed instances of a downstream or workflow target (what a repair may rerun)
    failed: tuple[TaskInstance, ...] = ()

    @property
    def failed_ids(self) -> tuple[int, ...]:
        return tuple(i.id for i in self.failed)

    @property
    def finished(self) -> bool:
        return self.state != Outcome.WAITING


def _label(inst: TaskInstance) -> str:
    return f"instance {inst.id} ({inst.task_name})"


def trigger_lost(inst: TaskInstance, trigger_sent_at_ms: int | None) -> bool:
    """True when ``inst`` started waiting for its trigger more than 24 h after ours was sent (it was dropped)."""
    return (
        inst.status == TaskInstanceStatus.WAIT_TRIGGER
        and trigger_sent_at_ms is not None
        and inst.waiting_trigger_since_ms is not None
        and inst.waiting_trigger_since_ms > trigger_sent_at_ms + TRIGGER_RETENTION_MS
    )


class Found(str, Enum):
    """What to do with the run's instance once found (:func:`judge_found`)."""

    TRIGGER = "trigger"  # it waits for its trigger (or its time or upstream): send it
    RELEASED = "released"  # past its trigger already: send nothing
    DRY_RUN = "dry_run"  # DataWorks releases it by itself without running: send nothing


def judge_found(inst: TaskInstance) -> Found:
    """Whether the run's instance is to be triggered; raises for one that is not to be triggered or waited on.

    Paused or a manual run: see :func:`check_releasable`. In Failure: :class:`InstanceFailedError` (a retry may
    find it rerun).
    """
    check_releasable(inst)
    if inst.status == TaskInstanceStatus.FAILURE:
        raise InstanceFailedError(
            f"{_label(inst).capitalize()} is in Failure; rerun it in DataWorks before triggering."
        )
    if inst.is_dry_run:
        return Found.DRY_RUN
    if inst.status in TaskInstanceStatus.before_trigger():
        return Found.TRIGGER
    return Found.RELEASED


def check_releasable(inst: TaskInstance) -> None:
    """Raise :class:`InstanceNotReleasableError` (the task fails without retry) for an instance that is paused
    (``Pause``, ``PauseCalendar``: DataWorks fails it) or a manual run (``Manual``: not the daily schedule)."""
    recurrence = inst.trigger_recurrence
    if inst.is_paused:
        raise InstanceNotReleasableError(
            f"{_label(inst).capitalize()} is paused (TriggerRecurrence {recurrence.value}: {recurrence.meaning}): "
            f"DataWorks fails it without running, so nothing was sent. {_PAUSE_FIX[recurrence]}"
        )
    if inst.is_manual:
        raise InstanceNotReleasableError(
            f"{_label(inst).capitalize()} is a manual task's instance (TriggerRecurrence Manual), not an instance of "
            "the node's daily schedule, which is what a DAG run releases. Check dataworks_task_id: a node of a "
            "manual workflow is never scheduled, and an HTTP trigger node must be a scheduled one."
        )


_PAUSE_FIX = {
    TriggerRecurrence.PAUSE: "Resume (unfreeze) the node in DataWorks Operation Center, then clear this task.",
    TriggerRecurrence.PAUSE_CALENDAR: "Change this day in the scheduling calendar the node uses, then clear this "
    "task; or leave the run failed if the day is meant to be paused.",
}


def judge_trigger_instance(inst: TaskInstance, trigger_sent_at_ms: int | None, resent: bool) -> Verdict:
    """The HTTP-trigger instance itself as the target."""
    statuses = {_label(inst): inst.status.value}
    if inst.status == TaskInstanceStatus.SUCCESS:
        recurrence = inst.trigger_recurrence
        note = f" (a dry run, {recurrence.meaning}: DataWorks released it without running)" if inst.is_dry_run else ""
        return Verdict(Outcome.DONE, f"{_label(inst)} succeeded{note}.", statuses)
    if inst.status == TaskInstanceStatus.FAILURE:
        return Verdict(Outcome.FAILED, f"{_label(inst)} ended in {inst.status.value}.", statuses)
    if trigger_lost(inst, trigger_sent_at_ms) and not resent:
        return Verdict(
            Outcome.RETRIGGER, f"{_label(inst)} still waits for a trigger: ours was dropped after 24 h.", statuses
        )
    return Verdict(Outcome.WAITING, f"{_label(inst)} is {inst.status.value}.", statuses)


def judge_release(inst: TaskInstance, trigger_sent_at_ms: int | None, resent: bool) -> Verdict | None:
    """Before a downstream/workflow target: None once ``inst`` is released, else what to do now."""
    if inst.status == TaskInstanceStatus.FAILURE:
        return Verdict(
            Outcome.FAILED,
            f"{_label(inst)} ended in Failure before releasing its downstream.",
            {_label(inst): "Failure"},
        )
    if inst.status not in TaskInstanceStatus.before_trigger():
        return None
    verdict = judge_trigger_instance(inst, trigger_sent_at_ms, resent)
    return Verdict(verdict.state, verdict.message + " Its downstream has not been released yet.", verdict.statuses)


def judge_downstream(instances: list[TaskInstance]) -> Verdict:
    """Every direct downstream instance as the target."""
    statuses = {_label(i): i.status.value for i in instances}
    failed = [i for i in instances if i.status == TaskInstanceStatus.FAILURE]
    if failed:
        names = ", ".join(f"{_label(i)} is {i.status.value}" for i in failed)
        return Verdict(Outcome.FAILED, f"downstream failed: {names}.", statuses, tuple(failed))
    if all(i.status == TaskInstanceStatus.SUCCESS for i in instances):
        what = f"all {len(instances)} downstream instances succeeded" if instances else "it has no downstream instances"
        return Verdict(Outcome.DONE, what + ".", statuses)
    pending = sum(1 for i in instances if i.status != TaskInstanceStatus.SUCCESS)
    return Verdict(Outcome.WAITING, f"{pending} of {len(instances)} downstream instances not finished.", statuses)


def judge_workflow(wfi: WorkflowInstance, failed_members: list[TaskInstance] | None = None) -> Verdict:
    """The workflow instance as the target; ``failed_members`` names what failed, when known."""
    statuses = {f"workflow instance {wfi.id} ({wfi.name})": wfi.status.value}
    if wfi.status == TaskInstanceStatus.SUCCESS:
        return Verdict(Outcome.DONE, f"workflow instance {wfi.id} ({wfi.name}) succeeded.", statuses)
    if wfi.status == TaskInstanceStatus.FAILURE:
        culprits = ", ".join(f"{_label(i)} is {i.status.value}" for i in failed_members or [])
        detail = f": {culprits}" if culprits else ""
        message = f"workflow instance {wfi.id} ({wfi.name}) failed{detail}."
        return Verdict(Outcome.FAILED, message, statuses, tuple(failed_members or ()))
    return Verdict(Outcome.WAITING, f"workflow instance {wfi.id} ({wfi.name}) is {wfi.status.value}.", statuses)


#: How much longer the next poll waits while nothing changes, up to the wait's cap.
BACKOFF_FACTOR = 1.5
#: The cap's default, in poll intervals, when the user sets no ``max_poll_interval``.
DEFAULT_CAP_FACTOR = 4
#: Polls in a row that may fail on a passing cause (after the hook's own retries) before the wait gives up.
MAX_FAILED_POLLS = 5


def poll_cap(poll_interval: float, max_poll_interval: float | None) -> float:
    """Seconds the interval may grow to: ``max_poll_interval``, by default 4 * ``poll_interval``."""
    return float(max_poll_interval) if max_poll_interval else DEFAULT_CAP_FACTOR * float(poll_interval)


def next_cycle(due: float, poll_interval: float) -> float:
    """The first shared poll cycle at or after ``due`` (epoch seconds): cycles are the multiples of
    ``poll_interval`` seconds since the epoch, so every wait of one poll interval, in any trigger of a process,
    polls at the same instants and its reads share one call (``triggers/shared_polling.py``)."""
    return math.ceil(due / poll_interval - 1e-9) * poll_interval


def raise_unless_tolerated(err: DataWorksApiError, failed_in_a_row: int) -> None:
    """Re-raise a poll's error unless its cause passes and fewer than :data:`MAX_FAILED_POLLS` failed in a row."""
    if not err.transient or failed_in_a_row >= MAX_FAILED_POLLS:
        raise err


def next_poll_interval(current: float, poll_interval: float, cap: float, changed: bool) -> float:
    """Seconds to the next poll: ``poll_interval`` again when a status changed, else ``current`` * 1.5 up to
    ``cap``. Never below ``poll_interval``: a wait never polls faster than asked."""
    if changed:
        return poll_interval
    return max(poll_interval, min(cap, current * BACKOFF_FACTOR))


@dataclass
class PollPacer:
    """Seconds until a wait's next poll, from the statuses each poll saw (see :func:`next_poll_interval`)."""

    poll_interval: float
    cap: float
    interval: float = field(init=False)
    _last: dict[str, str] | None = field(default=None, init=False)
    failed_in_a_row: int = field(default=0, init=False)

    @classmethod
    def for_wait(cls, state: WaitState) -> PollPacer:
        return cls(state.poll_interval, poll_cap(state.poll_interval, state.max_poll_interval))

    def __post_init__(self) -> None:
        self.interval = self.poll_interval

    def after(self, statuses: dict[str, str]) -> float:
        """Record a poll's statuses; the pause before the next poll."""
        if self._last is not None:
            changed = statuses != self._last
            self.interval = next_poll_interval(self.interval, self.poll_interval, self.cap, changed)
        self._last = statuses
        self.failed_in_a_row = 0
        return self.interval

    def after_failure(self, err: DataWorksApiError) -> float:
        """Record a poll that failed after the hook's retries; the pause before the next one, or re-raise.

        A passing cause (throttling, 5xx, no answer: DataWorks restarting) costs one poll, up to
        :data:`MAX_FAILED_POLLS` in a row; anything else (authorization, the daily quota) fails the wait.
        """
        self.failed_in_a_row += 1
        raise_unless_tolerated(err, self.failed_in_a_row)
        self.interval = next_poll_interval(self.interval, self.poll_interval, self.cap, changed=False)
        return self.interval


def describe_instance(inst: TaskInstance, zone: str) -> str:
    when = format_in_zone(inst.trigger_time_ms, zone) if inst.trigger_time_ms else "?"
    return f"{_label(inst)} scheduled at {when}, status {inst.status.value}, recurrence {inst.trigger_recurrence.value}"


class WaitPoller:
    """Polls one wait, keeping its :class:`WaitState` up to date; :meth:`poll` yields the hook calls it needs.

    Sans I/O: drive it with :func:`run_sync` (operator, sensor) or :func:`run_async` (trigger).
    """

    def __init__(self, state: WaitState) -> None:
        self.state = state

    def resent_trigger(self, sent_at_ms: int) -> None:
        """Our trigger was sent once more (DataWorks dropped the first after 24 h)."""
        self.state = replace(self.state, trigger_sent_at_ms=sent_at_ms, resent=True)

    def poll(self) -> Steps[Verdict]:
        """One poll: 1 API call (2 while the trigger instance is not yet released; +1 to name a failure)."""
        s = self.state
        if s.wait_for == "instance":
            inst = yield HookCall("get_instance", (s.instance_id,))
            return judge_trigger_instance(inst, s.trigger_sent_at_ms, s.resent)
        if not s.released or (s.wait_for == "workflow" and s.workflow_instance_id is None):
            inst = yield HookCall("get_instance", (s.instance_id,))
            s = self.state = replace(s, workflow_instance_id=s.workflow_instance_id or inst.workflow_instance_id)
            pending = judge_release(inst, s.trigger_sent_at_ms, s.resent)
            if pending is not None:
                return pending
            s = self.state = replace(s, released=True)
        if s.wait_for == "downstream":
            return judge_downstream((yield HookCall("list_downstream", (s.instance_id,))))
        if s.workflow_instance_id is None:
            raise DataWorksError(
                f"instance {s.instance_id} belongs to no workflow instance, so wait_for='workflow' has nothing to "
                "wait for: wait for wait_for='downstream' (the nodes after it) or 'instance' instead"
            )
        wfi = yield HookCall("get_workflow_instance", (s.workflow_instance_id,))
        failed = None
        if wfi.status == TaskInstanceStatus.FAILURE and wfi.project_id and wfi.bizdate_ms:
            members = yield HookCall(
                "list_instances", (wfi.project_id, wfi.bizdate_ms), {"workflow_instance_id": wfi.id}
            )
            failed = [m for m in members if m.status == TaskInstanceStatus.FAILURE]
        return judge_workflow(wfi, failed)
