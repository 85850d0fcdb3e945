"""Acting on what a run released: stop it (``cancel_on_kill``) and pick what a repair reruns (``rerun_failed``).

The cancel is written once, sans I/O (``domain/hook_calls.py``), and driven in the worker (operator ``on_kill``,
a timeout) or in the triggerer (the trigger's ``on_kill``), each bounded by :data:`CANCEL_TIMEOUT_S`. It is best
effort: it logs what it stopped, what DataWorks refused and why, and never raises. It stops only what the run
released: the HTTP-trigger instance while it is not released yet (so DataWorks never releases anything), else
the wait's target (the instance, its unfinished downstream, or its workflow instance).

Calls: 1-3 per cancel, 1 RerunTaskInstances per repair (see docs/concepts/api-calls.md).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from airflow_provider_dataworks.domain.api_calls import BatchOutcome
from airflow_provider_dataworks.domain.api_records import RerunMode, TaskInstance, TaskInstanceStatus
from airflow_provider_dataworks.domain.hook_calls import HookCall, Steps, run_async, run_sync
from airflow_provider_dataworks.domain.waiting import Verdict
from airflow_provider_dataworks.exceptions import DataWorksError

#: Seconds a cancel may take in all, its calls and their retries included: in the triggerer (below its
#: ``[triggerer] on_kill_timeout``, 30 s) and after a wait's own ``timeout``.
CANCEL_TIMEOUT_S = 20.0
#: ... and in a worker's ``on_kill``: Airflow 3.3's supervisor sends SIGKILL 5 s after SIGTERM (2.11 waits
#: ``[core] killed_task_cleanup_time``, 60 s).
ON_KILL_TIMEOUT_S = 4.0
#: The comments DataWorks keeps with each stop and rerun (shown in Operation Center).
CANCEL_COMMENT = "Stopped by Airflow (cancel_on_kill): the task waiting on it was killed, marked or timed out."
RERUN_COMMENT = "Rerun by Airflow (rerun_failed): a new try of the task waiting on it."


@dataclass(frozen=True)
class Stopped:
    """What a cancel asked DataWorks to stop (``what``) and its answer; ``outcome`` None: nothing was unfinished."""

    what: str
    outcome: BatchOutcome | None = None

    def describe(self) -> str:
        if self.outcome is None:
            return f"nothing to stop: {self.what}."
        done = ", ".join(str(i) for i in self.outcome.done)
        said = "; ".join(f"{i}: {why}" for i, why in self.outcome.refused.items())
        parts = [f"stopped {self.what} {done}" if done else f"stopped nothing of {self.what}"]
        if said:
            parts.append(f"DataWorks refused {said}")
        return "; ".join(parts) + "."


def cancel(instance_id: int, wait_for: str, workflow_instance_id: int | None = None) -> Steps[Stopped]:
    """Stop what a wait on HTTP-trigger instance ``instance_id`` targets, and nothing this run did not release."""
    inst = yield HookCall("get_instance", (instance_id,))
    unreleased = inst.status in TaskInstanceStatus.before_trigger()
    if unreleased or (wait_for == "instance" and not inst.status.is_terminal):
        outcome = yield HookCall("stop_instances", ([inst.id], CANCEL_COMMENT))
        what = "the HTTP-trigger instance (not released yet)" if unreleased else "the HTTP-trigger instance"
        return Stopped(what, outcome)
    if inst.status == TaskInstanceStatus.FAILURE:
        return Stopped(f"instance {inst.id} is in Failure and released nothing")
    if wait_for == "instance":
        return Stopped(f"instance {inst.id} is {inst.status.value}")
    if wait_for == "downstream":
        downstream = yield HookCall("list_downstream", (inst.id,))
        unfinished = [d.id for d in downstream if not d.status.is_terminal]
        if not unfinished:
            return Stopped(f"every downstream instance of {inst.id} has finished")
        return Stopped("downstream instances", (yield HookCall("stop_instances", (unfinished, CANCEL_COMMENT))))
    workflow_id = workflow_instance_id or inst.workflow_instance_id
    if workflow_id is None:
        return Stopped(f"instance {inst.id} belongs to no workflow instance")
    return Stopped("workflow instance", (yield HookCall("stop_workflow_instances", ([workflow_id], CANCEL_COMMENT))))


def cancel_in_worker(hook: Any, log: logging.Logger | Any, within_s: float, **target: Any) -> Stopped | None:
    """Run :func:`cancel` with the sync hook, for at most ``within_s`` seconds; log the outcome.

    Returns what was stopped, None when it failed or ran out of time (a call still in flight then may still land).
    The calls run on a helper thread so that the bound holds whatever a call does (``on_kill`` may run in a signal
    handler, where no alarm can interrupt it).
    """
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            result["stopped"] = run_sync(cancel(**target), hook)
        except DataWorksError as err:
            result["error"] = err

    worker = threading.Thread(target=work, name="dataworks-cancel", daemon=True)
    worker.start()
    worker.join(within_s)
    return _log_cancel_outcome(
        log, result.get("stopped"), result.get("error"), timed_out=within_s if worker.is_alive() else None
    )


async def cancel_in_triggerer(hook: Any, log: logging.Logger | Any, **target: Any) -> Stopped | None:
    """:func:`cancel` with the async hook, for at most :data:`CANCEL_TIMEOUT_S`; logs like :func:`cancel_in_worker`."""
    try:
        stopped = await asyncio.wait_for(run_async(cancel(**target), hook), CANCEL_TIMEOUT_S)
    except asyncio.TimeoutError:
        return _log_cancel_outcome(log, None, None, timed_out=CANCEL_TIMEOUT_S)
    except DataWorksError as err:
        return _log_cancel_outcome(log, None, err, timed_out=None)
    return _log_cancel_outcome(log, stopped, None, timed_out=None)


def _log_cancel_outcome(
    log: Any, stopped: Stopped | None, error: Exception | None, *, timed_out: float | None
) -> Stopped | None:
    if timed_out is not None:
        log.warning(
            "cancel_on_kill: DataWorks did not answer within %.0f s; what was released may keep running: "
            "check it in the console.",
            timed_out,
        )
        return None
    if error is not None:
        log.warning("cancel_on_kill: stopping failed (%s); what was released may keep running.", error)
        return None
    assert stopped is not None
    log.warning("cancel_on_kill: %s", stopped.describe())
    return stopped


def rerunnable(verdict: Verdict, trigger_instance_id: int) -> tuple[TaskInstance, ...]:
    """The failed instances a repair reruns: those of the target, never the HTTP-trigger instance (a rerun of it
    would wait for a new trigger, and a repair never sends one)."""
    return tuple(i for i in verdict.failed if i.id != trigger_instance_id)


def rerun_refusals(failed: Iterable[TaskInstance]) -> dict[int, str]:
    """Why DataWorks would refuse to rerun each of ``failed`` (its node's ``RerunMode``), by instance id.

    ``AllDenied`` refuses every rerun; ``FailureAllowed`` only one that did not fail; ``AllAllowed`` none. A record
    without ``RerunMode`` is taken as allowed (DataWorks then answers for itself).
    """
    refusals = {}
    for inst in failed:
        if inst.rerun_mode == RerunMode.ALL_DENIED:
            refusals[inst.id] = "its node's RerunMode is AllDenied: DataWorks reruns none of its instances"
        elif inst.rerun_mode == RerunMode.FAILURE_ALLOWED and inst.status != TaskInstanceStatus.FAILURE:
            refusals[inst.id] = f"its node's RerunMode is FailureAllowed and it is {inst.status.value}, not Failure"
    return refusals
