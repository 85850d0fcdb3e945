"""What the operator and the sensor share: the hook, the quota deferral, and a wait handed to the triggerer and back.

    class DataWorksTaskInstanceSensor(DataWorksWaitMixin, BaseSensorOperator): ...

The class using it sets ``dataworks_conn_id`` and ``wait_for`` and may override the ``_quota_*`` and
``_on_wait_*`` methods (the operator does: its try has a deadline, a state to resume and a trigger to resend).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from airflow_provider_dataworks.exceptions import (
    DataWorksApiError,
    DataWorksError,
    InstanceFailedError,
    WaitTimeoutError,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_dataworks.domain.wait_state import WaitState
    from airflow_provider_dataworks.hooks.dataworks import DataWorksHook
    from airflow_provider_dataworks.triggers.events import WaitEvent

R = TypeVar("R")


class DataWorksWaitMixin:
    """Shared by ``DataWorksTriggerOperator`` and ``DataWorksTaskInstanceSensor`` (both Airflow operators)."""

    dataworks_conn_id: str
    wait_for: str
    log: Any
    defer: Any

    @cached_property
    def hook(self) -> DataWorksHook:
        from airflow_provider_dataworks.hooks.dataworks import DataWorksHook

        return DataWorksHook(dataworks_conn_id=self.dataworks_conn_id)

    # ------------------------------------------------------------------------------ the daily quota
    def _within_quota(self, run: Callable[[], R], quota_deferrals: int) -> R:
        """``run()``; when DataWorks says the daily quota is used up, defer until it resets (the refused call did
        not take effect), to go on in :meth:`execute_after_quota_reset`."""
        from airflow_provider_dataworks.mixins.quota_deferral import defer_until_reset

        try:
            return run()
        except DataWorksApiError as err:
            if not err.daily_quota:
                raise
            defer_until_reset(
                self,
                err,
                self.hook.settings,
                method_name="execute_after_quota_reset",
                deferrals=quota_deferrals,
                deadline=self._quota_deadline(),
                state=self._quota_state(),
            )

    def _quota_deadline(self) -> float | None:
        """Epoch seconds past which a quota deferral fails instead (None: no deadline)."""
        return None

    def _quota_state(self) -> dict[str, Any]:
        """What the try needs back after a quota deferral (plain JSON values)."""
        return {}

    def execute_after_quota_reset(self, context: Any, event: Any = None) -> Any:
        """Resume after a quota deferral: the try goes on from the start (find the instance, read its state, act
        only on what it finds), as the call that met the quota did not take effect."""
        from airflow_provider_dataworks.mixins.quota_deferral import resumed_state

        state = resumed_state(event)
        self.log.info("The daily quota has reset: going on (DataWorks is read again before anything is sent).")
        return self._resume_after_quota_reset(context, state)

    def _resume_after_quota_reset(self, context: Any, state: dict[str, Any]) -> Any:
        raise NotImplementedError

    # ---------------------------------------------------------------------------- deferred waits
    def _defer_wait(self, state: WaitState) -> NoReturn:
        """Hand the wait to the triggerer (raises ``TaskDeferred``); it first polls after one interval (the task
        has just polled or triggered) and resumes in :meth:`execute_complete`."""
        from airflow_provider_dataworks.triggers.dataworks import DataWorksTaskInstanceTrigger

        trigger = DataWorksTaskInstanceTrigger(
            dataworks_conn_id=self.dataworks_conn_id, wait=state, initial_delay=state.poll_interval
        )
        self.defer(trigger=trigger, method_name="execute_complete")
        raise AssertionError("defer raises TaskDeferred")

    def execute_complete(self, context: Any, event: Any = None) -> int:
        """Resume after the trigger: validate its event; succeed, fail, time out, or (operator) resend and wait."""
        from airflow_provider_dataworks.triggers.events import validate_event

        wait = validate_event(event)
        return self._within_quota(lambda: self._on_wait_ended(context, wait), 0)

    def _on_wait_ended(self, context: Any, wait: WaitEvent) -> int:
        from airflow_provider_dataworks.triggers.events import TriggerEventStatus

        if wait.status == TriggerEventStatus.SUCCESS:
            self.log.info("DataWorks %s wait done: %s", self.wait_for, wait.message)
            return wait.state.instance_id
        if wait.status == TriggerEventStatus.FAILURE:
            raise InstanceFailedError(wait.message)
        if wait.status == TriggerEventStatus.TIMEOUT:
            raise self._on_wait_timeout(wait)
        if wait.status == TriggerEventStatus.RETRIGGER:
            self._on_wait_retrigger(wait.state)
        raise DataWorksError(f"Waiting on DataWorks failed: {wait.message}")

    def _on_wait_timeout(self, wait: WaitEvent) -> WaitTimeoutError:
        """The error for a wait whose deadline passed in the triggerer."""
        quota = f" The trigger: {wait.message}" if "quota" in wait.message else ""
        return WaitTimeoutError(
            f"The wait for the {self.wait_for} of instance {wait.state.instance_id} timed out; DataWorks keeps "
            f"running.{quota}"
        )

    def _on_wait_retrigger(self, state: WaitState) -> NoReturn:
        """DataWorks dropped a trigger after 24 h: only the operator sends one, and it overrides this."""
        raise DataWorksError(f"instance {state.instance_id}: the wait asked to resend a trigger it did not send")
