"""DataWorksTaskInstanceTrigger: wait in the triggerer for an instance, its downstream or its workflow.

Only async calls: the async SDK methods, the async connection lookup and ``asyncio.sleep``. It fires one
:class:`~airflow_provider_dataworks.triggers.events.WaitEvent`, then ends; ``execute_complete`` validates it.

API calls per poll of one wait on its own: one GetTaskInstance, ListDownstreamTaskInstances or
GetWorkflowInstance; one more GetTaskInstance per poll while the trigger instance is not yet released
(only when the trigger was sent before it was waiting); one ListTaskInstances when a workflow fails, to
name what failed. Waits of the same triggerer share their calls (``shared_polling``): instance reads of one
workspace and business date become one ListTaskInstances per 500 waits and cycle.

A poll that meets the daily quota (``Throttling.Api.Risk``) costs nothing (DataWorks refused it) and the wait
sleeps until the quota resets (the connection's ``daily_quota_reset`` + ``quota.RESUME_MARGIN_S``), then polls
again; its deadline still holds (the timeout event then says when the quota resets).

Polls come every ``poll_interval`` seconds while statuses change; while nothing changes the interval grows
1.5 times per poll up to ``max_poll_interval`` (never below ``poll_interval``).

With ``cancel_on_kill``, :meth:`on_kill` stops what the wait targets (``control.cancel``: 1-3 calls, at most
``control.CANCEL_TIMEOUT_S`` seconds). Airflow 3.3+ calls it when a user marks the deferred task failed or
success or clears it; older versions never call it. It stops nothing when the task instance is still deferred:
the trigger merely moved to another triggerer (apache/airflow#73454); asking Airflow takes at most
:data:`STATE_CHECK_TIMEOUT_S` (the triggerer's first call to its execution API can take seconds).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_dataworks.domain.arguments import default_max_poll_interval
from airflow_provider_dataworks.domain.hook_calls import run_async
from airflow_provider_dataworks.domain.run_control import cancel_in_triggerer
from airflow_provider_dataworks.domain.waiting import PollPacer, WaitPoller, next_cycle
from airflow_provider_dataworks.exceptions import DataWorksApiError, DataWorksError
from airflow_provider_dataworks.triggers.events import TriggerEventStatus, WaitEvent
from airflow_provider_dataworks.triggers.shared_polling import SharedReads, shared_polling

#: Seconds ``on_kill`` waits for Airflow to say whether the task instance is still deferred; then it stops anyway.
STATE_CHECK_TIMEOUT_S = 15.0
#: Stops running in the background: Airflow 3.3.2's triggerer cancels a running ``on_kill`` again at its next
#: loop (about a second later), so the stop is its own task, kept here until it ends (bounded by its timeouts).
_STOPPING: set[asyncio.Task[None]] = set()


class DataWorksTaskInstanceTrigger(BaseTrigger):
    """Poll DataWorks until the target is terminal.

    :param instance_id: the HTTP-trigger (or any) task instance id.
    :param wait_for: ``instance``, ``downstream`` or ``workflow``.
    :param poll_interval: seconds between polls.
    :param deadline: epoch seconds after which the trigger gives up with a ``timeout`` event (None: never).
    :param released: the instance is known to be past its trigger (skips reading it first).
    :param trigger_sent_at_ms: when our trigger was sent (epoch ms), to spot a trigger dropped after 24 h.
    :param resent: the trigger was sent once more already (never a third time).
    :param workflow_instance_id: for ``workflow``; read from the instance when not given.
    :param initial_delay: seconds before the first poll.
    :param max_poll_interval: seconds the interval may grow to while nothing changes (default 4 * poll_interval).
    :param project_id: the instance's workspace and ``bizdate_ms`` its business date (epoch ms): with both,
        the instance is read by the triggerer's shared ListTaskInstances call (in ``env_type``, default Prod).
    :param shared: share calls with the other waits of this triggerer (default True).
    :param cancel_on_kill: stop what the wait targets when Airflow kills the deferred task (:meth:`on_kill`).
    :param deadline_by: what set ``deadline`` (``timeout`` or ``execution_timeout``), echoed in the event.
    """

    def __init__(
        self,
        *,
        dataworks_conn_id: str,
        instance_id: int,
        wait_for: str = "instance",
        poll_interval: float = 60.0,
        deadline: float | None = None,
        released: bool = False,
        trigger_sent_at_ms: int | None = None,
        resent: bool = False,
        workflow_instance_id: int | None = None,
        initial_delay: float = 0.0,
        max_poll_interval: float | None = None,
        project_id: int | None = None,
        bizdate_ms: int | None = None,
        env_type: str | None = None,
        shared: bool = True,
        cancel_on_kill: bool = False,
        deadline_by: str | None = None,
    ) -> None:
        super().__init__()
        self.dataworks_conn_id = dataworks_conn_id
        self.instance_id = int(instance_id)
        self.wait_for = wait_for
        self.poll_interval = float(poll_interval)
        self.deadline = deadline
        self.released = released
        self.trigger_sent_at_ms = trigger_sent_at_ms
        self.resent = resent
        self.workflow_instance_id = workflow_instance_id
        self.initial_delay = float(initial_delay)
        self.max_poll_interval = (
            float(max_poll_interval) if max_poll_interval else default_max_poll_interval(self.poll_interval)
        )
        self.project_id = project_id
        self.bizdate_ms = bizdate_ms
        self.env_type = env_type
        self.shared = shared
        self.cancel_on_kill = bool(cancel_on_kill)
        self.deadline_by = deadline_by
        self._poller: WaitPoller | None = None  # the running wait's state, for on_kill

    @classmethod
    def for_wait(
        cls,
        poller: WaitPoller,
        *,
        dataworks_conn_id: str,
        poll_interval: float,
        max_poll_interval: float | None,
        deadline: float | None,
        project_id: int | None,
        bizdate_ms: int | None,
        env_type: str | None,
        cancel_on_kill: bool = False,
        deadline_by: str | None = None,
    ) -> DataWorksTaskInstanceTrigger:
        """The deferral of a wait the operator or sensor has begun: it carries on from ``poller``'s state and
        polls first after one ``poll_interval`` (the task has just polled, or just triggered)."""
        return cls(
            dataworks_conn_id=dataworks_conn_id,
            instance_id=poller.instance_id,
            wait_for=poller.wait_for,
            poll_interval=poll_interval,
            deadline=deadline,
            released=poller.released,
            trigger_sent_at_ms=poller.trigger_sent_at_ms,
            resent=poller.resent,
            workflow_instance_id=poller.workflow_instance_id,
            initial_delay=poll_interval,
            max_poll_interval=max_poll_interval,
            project_id=project_id,
            bizdate_ms=bizdate_ms,
            env_type=env_type,
            cancel_on_kill=cancel_on_kill,
            deadline_by=deadline_by,
        )

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "dataworks_conn_id": self.dataworks_conn_id,
                "instance_id": self.instance_id,
                "wait_for": self.wait_for,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "released": self.released,
                "trigger_sent_at_ms": self.trigger_sent_at_ms,
                "resent": self.resent,
                "workflow_instance_id": self.workflow_instance_id,
                "initial_delay": self.initial_delay,
                "max_poll_interval": self.max_poll_interval,
                "project_id": self.project_id,
                "bizdate_ms": self.bizdate_ms,
                "env_type": self.env_type,
                "shared": self.shared,
                "cancel_on_kill": self.cancel_on_kill,
                "deadline_by": self.deadline_by,
            },
        )

    def _hook(self) -> Any:
        from airflow_provider_dataworks.hooks.dataworks import DataWorksHook

        return DataWorksHook(dataworks_conn_id=self.dataworks_conn_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = own_hook = self._hook()
        quota_note = ""  # set while the wait sleeps through a used-up daily quota
        if self.shared:
            hook = SharedReads(hook, shared_polling(), self.project_id, self.bizdate_ms, self.env_type)
        pacer = PollPacer(self.poll_interval, self.max_poll_interval)
        poller = self._poller = WaitPoller(
            self.instance_id,
            self.wait_for,
            released=self.released,
            trigger_sent_at_ms=self.trigger_sent_at_ms,
            resent=self.resent,
            workflow_instance_id=self.workflow_instance_id,
        )
        # A shared wait polls on the shared cycles (multiples of poll_interval since the epoch), scheduled from
        # the cycle it polled at, so that thousands of waits stay in step however long handing out results took.
        # An unshared wait keeps its own timer.
        due = time.time() + self.initial_delay
        try:
            while True:
                due = next_cycle(max(due, time.time()), self.poll_interval) if self.shared else due
                await asyncio.sleep(self._sleep_for(due - time.time()))
                if self.deadline is not None and time.time() >= self.deadline:
                    yield self._event(
                        TriggerEventStatus.TIMEOUT,
                        f"the wait timed out{quota_note}; DataWorks keeps running what was released.",
                    )
                    return
                try:
                    verdict = await run_async(poller.poll(), hook)
                    quota_note = ""
                except DataWorksApiError as err:
                    if err.daily_quota:
                        due, quota_note = await self._sleep_through_quota(own_hook, err)
                        continue
                    pause = pacer.after_failure(err)
                    self.log.warning("DataWorks poll failed (%s); polling again in %.0f s", err, pause)
                    due = (due if self.shared else time.time()) + pause
                    continue
                if verdict.finished:
                    self.log.info("DataWorks %s wait ended: %s", self.wait_for, verdict.message)
                    yield self._event(
                        TriggerEventStatus(verdict.state.value), verdict.message, statuses=dict(verdict.statuses)
                    )
                    return
                self.log.info("DataWorks %s wait: %s", self.wait_for, verdict.message)
                due = (due if self.shared else time.time()) + pacer.after(verdict.statuses)
        except DataWorksError as err:
            yield self._event(TriggerEventStatus.ERROR, str(err))

    async def _sleep_through_quota(self, hook: Any, err: DataWorksApiError) -> tuple[float, str]:
        """The daily quota is used up: (epoch seconds to poll again at, the note a timeout event carries)."""
        from airflow_provider_dataworks.mixins.quota_deferral import refused_in_quota_day_of, whose_quota

        settings = await hook.aget_settings()
        resume = settings.daily_quota_reset.resume_at(refused_in_quota_day_of(err))
        quota = whose_quota(settings)
        self.log.warning("%s used up (%s, on %s); the wait sleeps until %s and polls again.",
                         quota[0].upper() + quota[1:], err.code, err.action, resume.isoformat())  # fmt: skip
        return resume.timestamp(), f" while {quota} was used up (it resets {resume.isoformat()})"

    def _event(self, status: TriggerEventStatus, message: str, statuses: dict[str, str] | None = None) -> TriggerEvent:
        poller = self._poller
        event = WaitEvent(
            status,
            message,
            self.instance_id,
            self.wait_for,
            self.deadline,
            statuses=statuses or {},
            released=poller.released if poller else self.released,
            workflow_instance_id=poller.workflow_instance_id if poller else self.workflow_instance_id,
            trigger_sent_at_ms=poller.trigger_sent_at_ms if poller else self.trigger_sent_at_ms,
            resent=poller.resent if poller else self.resent,
            deadline_by=self.deadline_by,
            cancel_on_kill=self.cancel_on_kill,
        )
        return TriggerEvent(event.to_payload())

    async def on_kill(self) -> None:
        """Airflow 3.3+ killed the deferred task (mark failed/success, clear): with ``cancel_on_kill``, stop what the
        wait targets, unless the task instance is still deferred (the trigger only moved to another triggerer)."""
        if not self.cancel_on_kill:
            return
        stopping = asyncio.get_running_loop().create_task(self._stop_released())
        _STOPPING.add(stopping)
        stopping.add_done_callback(_STOPPING.discard)
        await asyncio.shield(stopping)

    async def _stop_released(self) -> None:
        if await self._still_deferred():
            self.log.info("cancel_on_kill: the task instance is still deferred (its wait moved to another "
                          "triggerer); stopping nothing.")  # fmt: skip
            return
        poller = self._poller
        await cancel_in_triggerer(
            self._hook(),
            self.log,
            instance_id=self.instance_id,
            wait_for=self.wait_for,
            workflow_instance_id=poller.workflow_instance_id if poller else self.workflow_instance_id,
        )

    async def _still_deferred(self) -> bool:
        """Whether Airflow still has this trigger's task instance deferred (False when it cannot tell: it is asked
        only where Airflow calls ``on_kill``, on a user's action)."""
        ti = getattr(self, "task_instance", None)
        if ti is None:
            return False
        try:
            from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

            map_index = getattr(ti, "map_index", -1)
            asked = asyncio.to_thread(
                RuntimeTaskInstance.get_task_states,
                dag_id=ti.dag_id,
                task_ids=[ti.task_id],
                run_ids=[ti.run_id],
                map_index=map_index if map_index is not None and map_index >= 0 else None,
            )
            states = await asyncio.wait_for(asked, STATE_CHECK_TIMEOUT_S)
        except Exception as err:  # no answer in time, or none at all: a user acted, so stopping is likelier right
            self.log.warning("cancel_on_kill: could not read the task instance's state (%s); stopping.", err)
            return False
        key = ti.task_id if map_index is None or map_index < 0 else f"{ti.task_id}_{map_index}"
        state = states.get(ti.run_id, {}).get(key)
        return getattr(state, "value", state) == "deferred"

    def _sleep_for(self, seconds: float) -> float:
        """``seconds``, but not below 0 nor past the deadline."""
        if self.deadline is not None:
            seconds = min(seconds, self.deadline - time.time())
        return max(0.0, seconds)
