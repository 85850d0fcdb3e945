"""DataWorksTaskInstanceTrigger: wait in the triggerer for an instance, its downstream or its workflow.

Only async calls: the async SDK methods, the async connection lookup and ``asyncio.sleep``. It fires one
:class:`~airflow_provider_dataworks.triggers.events.WaitEvent`, then ends; ``execute_complete`` validates it.
Its calls are in docs/concepts/api-calls.md: one read per poll, shared with the triggerer's other waits
(``shared_polling.py``). Polls come every ``poll_interval`` seconds while statuses change and back off while
nothing does (``domain/waiting.py``). A used-up daily quota costs nothing: the wait sleeps until it resets.

With ``cancel_on_kill``, :meth:`on_kill` stops what the wait targets (``domain/run_control.py``). Airflow 3.3+
calls it when a user marks the deferred task failed or success or clears it; older versions never call it. It
stops nothing when the task instance is still deferred: the trigger merely moved to another triggerer
(apache/airflow#73454); asking Airflow takes at most :data:`STATE_CHECK_TIMEOUT_S`.

Metrics (``hooks/metrics.py``): the wait's duration, from ``run()`` starting in this triggerer to its event, and
each sleep through a used-up quota.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_dataworks.domain.hook_calls import run_async
from airflow_provider_dataworks.domain.run_control import cancel_in_triggerer
from airflow_provider_dataworks.domain.wait_state import WaitState
from airflow_provider_dataworks.domain.waiting import PollPacer, WaitPoller, next_cycle
from airflow_provider_dataworks.exceptions import DataWorksApiError, DataWorksError
from airflow_provider_dataworks.hooks import metrics
from airflow_provider_dataworks.triggers.events import TriggerEventStatus, WaitEvent
from airflow_provider_dataworks.triggers.shared_polling import SharedReads, shared_polling

#: Seconds ``on_kill`` waits for Airflow to say whether the task instance is still deferred; then it stops anyway.
STATE_CHECK_TIMEOUT_S = 15.0
#: Stops running in the background: Airflow 3.3.2's triggerer cancels a running ``on_kill`` again at its next
#: loop (about a second later), so the stop is its own task, kept here until it ends (bounded by its timeouts).
_STOPPING: set[asyncio.Task[None]] = set()


class DataWorksTaskInstanceTrigger(BaseTrigger):
    """Poll DataWorks until the target of a wait is terminal.

        DataWorksTaskInstanceTrigger(
            dataworks_conn_id="dataworks_default",
            wait=WaitState(instance_id=10000000002, wait_for="workflow", poll_interval=60.0),
        )

    :param dataworks_conn_id: the connection to poll with.
    :param wait: the wait's :class:`~airflow_provider_dataworks.domain.wait_state.WaitState` (or its JSON): the
        instance, the target (``instance``, ``downstream`` or ``workflow``), how far it got, its pacing and deadline.
    :param initial_delay: seconds before the first poll (a task that just polled or triggered: one interval).
    :param shared: share calls with the other waits of this triggerer (default True).
    """

    def __init__(
        self,
        *,
        dataworks_conn_id: str,
        wait: WaitState | Mapping[str, Any],
        initial_delay: float = 0.0,
        shared: bool = True,
    ) -> None:
        super().__init__()
        self.dataworks_conn_id = dataworks_conn_id
        self.state = wait if isinstance(wait, WaitState) else WaitState.from_json(wait)
        self.initial_delay = float(initial_delay)
        self.shared = shared
        self._poller: WaitPoller | None = None  # the running wait, for its events and on_kill
        self._started = time.monotonic()  # when run() began: the wait's duration metric counts from here

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "dataworks_conn_id": self.dataworks_conn_id,
                "wait": self.state.to_json(),
                "initial_delay": self.initial_delay,
                "shared": self.shared,
            },
        )

    def _hook(self) -> Any:
        from airflow_provider_dataworks.hooks.dataworks import DataWorksHook

        return DataWorksHook(dataworks_conn_id=self.dataworks_conn_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        state = self.state
        self._started = time.monotonic()
        hook = own_hook = self._hook()
        quota_note = ""  # set while the wait sleeps through a used-up daily quota
        if self.shared:
            hook = SharedReads(hook, shared_polling(), state.project_id, state.bizdate_ms, state.env_type)
        pacer = PollPacer.for_wait(state)
        poller = self._poller = WaitPoller(state)
        # A shared wait polls on the shared cycles (multiples of poll_interval since the epoch), scheduled from
        # the cycle it polled at, so that thousands of waits stay in step however long handing out results took.
        # An unshared wait keeps its own timer.
        due = time.time() + self.initial_delay
        try:
            while True:
                due = next_cycle(max(due, time.time()), state.poll_interval) if self.shared else due
                await asyncio.sleep(self._sleep_for(due - time.time()))
                if state.deadline is not None and time.time() >= state.deadline:
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
                    self.log.info("DataWorks %s wait ended: %s", state.wait_for, verdict.message)
                    yield self._event(
                        TriggerEventStatus(verdict.state.value), verdict.message, statuses=dict(verdict.statuses)
                    )
                    return
                self.log.info("DataWorks %s wait: %s", state.wait_for, verdict.message)
                due = (due if self.shared else time.time()) + pacer.after(verdict.statuses)
        except DataWorksError as err:
            yield self._event(TriggerEventStatus.ERROR, str(err))

    async def _sleep_through_quota(self, hook: Any, err: DataWorksApiError) -> tuple[float, str]:
        """The daily quota is used up: (epoch seconds to poll again at, the note a timeout event carries)."""
        from airflow_provider_dataworks.triggers.quota_reset import refused_in_quota_day_of, whose_quota

        settings = await hook.aget_settings()
        resume = settings.daily_quota_reset.resume_at(refused_in_quota_day_of(err))
        quota = whose_quota(settings)
        metrics.quota_sleep(settings.conn_id, "wait")
        self.log.warning(
            "%s used up (%s, on %s); the wait sleeps until %s and polls again.",
            quota[0].upper() + quota[1:],
            err.code,
            err.action,
            resume.isoformat(),
        )
        return resume.timestamp(), f" while {quota} was used up (it resets {resume.isoformat()})"

    def _event(self, status: TriggerEventStatus, message: str, statuses: dict[str, str] | None = None) -> TriggerEvent:
        state = self._poller.state if self._poller else self.state
        metrics.wait_ended(
            state.wait_for, "deferred", status.value, self.dataworks_conn_id, time.monotonic() - self._started
        )
        return TriggerEvent(WaitEvent(status, message, state, statuses or {}).to_payload())

    async def on_kill(self) -> None:
        """Airflow 3.3+ killed the deferred task (mark failed/success, clear): with ``cancel_on_kill``, stop what the
        wait targets, unless the task instance is still deferred (the trigger only moved to another triggerer)."""
        if not self.state.cancel_on_kill:
            return
        stopping = asyncio.get_running_loop().create_task(self._stop_released())
        _STOPPING.add(stopping)
        stopping.add_done_callback(_STOPPING.discard)
        await asyncio.shield(stopping)

    async def _stop_released(self) -> None:
        if await self._still_deferred():
            self.log.info(
                "cancel_on_kill: the task instance is still deferred (its wait moved to another triggerer); "
                "stopping nothing."
            )
            return
        state = self._poller.state if self._poller else self.state
        await cancel_in_triggerer(
            self._hook(),
            self.log,
            instance_id=state.instance_id,
            wait_for=state.wait_for,
            workflow_instance_id=state.workflow_instance_id,
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
        if self.state.deadline is not None:
            seconds = min(seconds, self.state.deadline - time.time())
        return max(0.0, seconds)
