"""DataWorksTaskInstanceTrigger: wait in the triggerer for an instance, its downstream or its workflow.

Only async calls: the async SDK methods, the async connection lookup and ``asyncio.sleep``. It fires one
:class:`~airflow_provider_dataworks.triggers.events.WaitEvent`, then ends; ``execute_complete`` validates it.

API calls per poll of one wait on its own: one GetTaskInstance, ListDownstreamTaskInstances or
GetWorkflowInstance; one more GetTaskInstance per poll while the trigger instance is not yet released
(only when the trigger was sent before it was waiting); one ListTaskInstances when a workflow fails, to
name what failed. Waits of the same triggerer share their calls (``shared_polling``): instance reads of one
workspace and business date become one ListTaskInstances per 500 waits and cycle.

Polls come every ``poll_interval`` seconds while statuses change; while nothing changes the interval grows
1.5 times per poll up to ``max_poll_interval`` (never below ``poll_interval``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_dataworks.exceptions import DataWorksApiError, DataWorksError
from airflow_provider_dataworks.steps import run_async
from airflow_provider_dataworks.triggers.events import TriggerEventStatus, WaitEvent
from airflow_provider_dataworks.triggers.shared_polling import SharedReads, shared_polling
from airflow_provider_dataworks.validation import default_max_poll_interval
from airflow_provider_dataworks.waiting import PollPacer, WaitPoller, next_cycle


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
            },
        )

    def _hook(self) -> Any:
        from airflow_provider_dataworks.hooks.dataworks import DataWorksHook

        return DataWorksHook(dataworks_conn_id=self.dataworks_conn_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self._hook()
        if self.shared:
            hook = SharedReads(hook, shared_polling(), self.project_id, self.bizdate_ms, self.env_type)
        pacer = PollPacer(self.poll_interval, self.max_poll_interval)
        poller = WaitPoller(
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
                        TriggerEventStatus.TIMEOUT, "the wait timed out; DataWorks keeps running what was released."
                    )
                    return
                try:
                    verdict = await run_async(poller.poll(), hook)
                except DataWorksApiError as err:
                    pause = pacer.after_failure(err)
                    self.log.warning("DataWorks poll failed (%s); polling again in %.0f s", err, pause)
                    due = (due if self.shared else time.time()) + pause
                    continue
                if verdict.finished:
                    self.log.info("DataWorks %s wait ended: %s", self.wait_for, verdict.message)
                    yield self._event(
                        TriggerEventStatus(verdict.state.value),
                        verdict.message,
                        statuses=dict(verdict.statuses),
                        released=poller.released,
                        workflow_instance_id=poller.workflow_instance_id,
                        trigger_sent_at_ms=poller.trigger_sent_at_ms,
                        resent=poller.resent,
                    )
                    return
                self.log.info("DataWorks %s wait: %s", self.wait_for, verdict.message)
                due = (due if self.shared else time.time()) + pacer.after(verdict.statuses)
        except DataWorksError as err:
            yield self._event(TriggerEventStatus.ERROR, str(err))

    def _event(self, status: TriggerEventStatus, message: str, **state: Any) -> TriggerEvent:
        event = WaitEvent(status, message, self.instance_id, self.wait_for, self.deadline, **state)
        return TriggerEvent(event.to_payload())

    def _sleep_for(self, seconds: float) -> float:
        """``seconds``, but not below 0 nor past the deadline."""
        if self.deadline is not None:
            seconds = min(seconds, self.deadline - time.time())
        return max(0.0, seconds)
