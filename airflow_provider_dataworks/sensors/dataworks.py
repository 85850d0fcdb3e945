"""DataWorksTaskInstanceSensor: wait for a DataWorks instance, its downstream or its workflow.

Its API calls are in docs/concepts/api-calls.md. Deferrable, it pokes once, then waits in the triggerer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_dataworks.domain.arguments import (
    as_id,
    check_env_type,
    check_id,
    check_seconds,
    check_timezone,
    check_trigger_time,
    check_wait_for,
    is_templated,
)
from airflow_provider_dataworks.exceptions import (
    DataWorksApiError,
    DataWorksConfigError,
    InstanceFailedError,
    WaitTimeoutError,
    fail_without_retry_on_config_error,
    fail_without_retry_on_refusal,
)
from airflow_provider_dataworks.hooks import DEFAULT_CONN_ID
from airflow_provider_dataworks.links.dataworks import CONSOLE_URL_XCOM_KEY, DataWorksInstanceLink, console_url
from airflow_provider_dataworks.mixins.lineage import DataWorksLineageMixin
from airflow_provider_dataworks.mixins.wait import DataWorksWaitMixin
from airflow_provider_dataworks.version_compat import BaseSensorOperator, conf

# Parsing a DAG file needs only the argument checks above; the hook, the wait and the trigger load on first use.
if TYPE_CHECKING:
    from airflow_provider_dataworks.domain.waiting import WaitPoller
    from airflow_provider_dataworks.triggers.events import WaitEvent


class DataWorksTaskInstanceSensor(DataWorksLineageMixin, DataWorksWaitMixin, BaseSensorOperator):
    """Wait until a DataWorks task instance (or its downstream, or its workflow) is terminal.

    Name the instance by ``instance_id`` (e.g. ``"{{ ti.xcom_pull('release') }}"``) or by
    ``dataworks_task_id`` + ``trigger_time`` (default: the run's date, as for the operator).
    A Failure raises; it never counts as done. ``timeout`` holds in both modes.
    """

    template_fields: Sequence[str] = (
        "instance_id",
        "dataworks_task_id",
        "trigger_time",
        "env_type",
        "project_id",
        "timezone",
        "dataworks_conn_id",
    )
    operator_extra_links = (DataWorksInstanceLink(),)
    ui_color = "#ffb380"

    def __init__(
        self,
        *,
        instance_id: int | str | None = None,
        dataworks_task_id: int | str | None = None,
        trigger_time: Any = None,
        wait_for: str = "instance",
        env_type: str | None = None,
        project_id: int | str | None = None,
        timezone: str | None = None,
        dataworks_conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: float | timedelta = 60,
        max_poll_interval: float | timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        if instance_id in (None, "") and dataworks_task_id in (None, ""):
            raise DataWorksConfigError(
                "DataWorksTaskInstanceSensor needs instance_id (e.g. \"{{ ti.xcom_pull(task_ids='release') }}\") "
                "or dataworks_task_id (+ trigger_time, default the run's date)."
            )
        self.instance_id = check_id(instance_id, "instance_id", required=False)
        self.dataworks_task_id = check_id(dataworks_task_id, "dataworks_task_id", required=False)
        self.wait_for = check_wait_for(wait_for)
        self.env_type = check_env_type(env_type)
        self.project_id = check_id(project_id, "project_id", required=False)
        self.timezone = check_timezone(timezone)
        self.trigger_time = check_trigger_time(trigger_time, self.timezone)
        self.dataworks_conn_id = dataworks_conn_id
        self.deferrable = bool(deferrable)
        check_seconds(self.poke_interval, "poke_interval", minimum=1.0)
        self.max_poll_interval = check_seconds(
            max_poll_interval, "max_poll_interval", minimum=float(self.poke_interval), allow_none=True
        )
        self._poller: WaitPoller | None = None
        self._failed_polls = 0  # in a row, on a passing cause

    def _make_poller(self, context: Any) -> WaitPoller:
        """The wait on the instance named (found by task and time: 1 ListTaskInstances, +1 GetTask without a
        workspace id); its console address goes to XCom."""
        from airflow_provider_dataworks.domain.wait_state import WaitState
        from airflow_provider_dataworks.domain.waiting import WaitPoller

        if self._poller is not None:
            return self._poller
        settings = self.hook.settings
        env_type = self.env_type or settings.env_type
        if self.instance_id not in (None, "") and not is_templated(self.instance_id):
            instance_id, bizdate_ms = as_id(self.instance_id, "instance_id"), None
            project_id = self.project_id or settings.project_id
        else:
            instance_id, project_id, bizdate_ms = self._find_instance(context, env_type)
        pid = int(project_id) if project_id not in (None, "") else None
        url = console_url(settings.region_id, pid, instance_id, env_type)
        context["ti"].xcom_push(key=CONSOLE_URL_XCOM_KEY, value=url)
        state = WaitState(
            instance_id=instance_id,
            wait_for=self.wait_for,
            env_type=env_type,
            project_id=pid,
            bizdate_ms=bizdate_ms,
            console_url=url,
            poll_interval=float(self.poke_interval),
            max_poll_interval=self.max_poll_interval,
        )
        self._poller = WaitPoller(state)
        return self._poller

    def _find_instance(self, context: Any, env_type: str) -> tuple[int, Any, int | None]:
        """(instance id, workspace id, business date in epoch ms) of the scheduled instance at the run's time."""
        from airflow_provider_dataworks.domain.timing import dag_zone, resolve_trigger_time
        from airflow_provider_dataworks.domain.waiting import check_releasable

        settings = self.hook.settings
        zone = self.timezone or settings.timezone
        task_id = as_id(self.dataworks_task_id, "dataworks_task_id")
        trigger_time_ms, source = resolve_trigger_time(self.trigger_time, context, zone)
        project_id = self.project_id or settings.project_id or self.hook.get_task(task_id).project_id
        inst = self.hook.find_instance(
            task_id,
            trigger_time_ms,
            project_id=as_id(project_id, "project_id"),
            zone=zone,
            env_type=env_type,
            dag_zone=dag_zone(context),
            time_source=source,
        )
        check_releasable(inst)
        return inst.id, project_id, inst.bizdate_ms

    def poke(self, context: Any) -> bool:
        from airflow_provider_dataworks.domain.hook_calls import run_sync
        from airflow_provider_dataworks.domain.waiting import Outcome, raise_unless_tolerated

        with fail_without_retry_on_refusal():  # finding the instance: an answer for good holds for every retry
            poller = self._make_poller(context)
        try:
            verdict = run_sync(poller.poll(), self.hook)
        except DataWorksApiError as err:
            if err.daily_quota:  # execute defers until the quota resets
                raise
            self._failed_polls += 1
            raise_unless_tolerated(err, self._failed_polls)
            self.log.warning("DataWorks poll failed (%s); poking again later", err)
            return False
        self._failed_polls = 0
        if verdict.state == Outcome.FAILED:
            raise InstanceFailedError(verdict.message)
        self.log.info("DataWorks %s: %s", self.wait_for, verdict.message)
        return verdict.state == Outcome.DONE

    def execute(self, context: Any) -> Any:
        return self._within_quota(lambda: self._execute(context), 0)

    def _resume_after_quota_reset(self, context: Any, state: dict[str, Any]) -> Any:
        """Poke again from the start (``timeout`` counts from here)."""
        return self._within_quota(lambda: self._execute(context), int(state["quota_deferrals"]))

    def _execute(self, context: Any) -> Any:
        from dataclasses import replace

        from airflow_provider_dataworks.hooks import metrics

        with fail_without_retry_on_config_error():
            if not self.deferrable:  # a wait in poke mode is one try: its duration (reschedule: none)
                with metrics.sync_wait(self.wait_for, self.dataworks_conn_id, enabled=self.mode == "poke"):
                    return super().execute(context)
            if self.poke(context):
                return self._poller.state.instance_id if self._poller else None
            assert self._poller is not None
            deadline = time.time() + float(self.timeout) if self.timeout else None
            self._defer_wait(replace(self._poller.state, deadline=deadline, deadline_by="timeout"))

    def _on_wait_timeout(self, wait: WaitEvent) -> WaitTimeoutError:
        quota = f" The trigger: {wait.message}" if "quota" in wait.message else ""
        return WaitTimeoutError(
            f"Sensor timed out after {self.timeout} s waiting for the {self.wait_for} of instance "
            f"{wait.state.instance_id}; DataWorks keeps running.{quota}"
        )
