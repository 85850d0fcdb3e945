"""DataWorksTriggerOperator: release the DataWorks HTTP-trigger-node instance of a DAG run, exactly once.

Its API calls, path by path, are in docs/concepts/api-calls.md (2 to trigger; a wait adds one per poll).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from airflow_provider_dataworks.domain.arguments import (
    as_id,
    check_control,
    check_env_type,
    check_id,
    check_seconds,
    check_timezone,
    check_trigger_time,
    check_wait_for,
)
from airflow_provider_dataworks.exceptions import (
    DataWorksApiError,
    DataWorksConfigError,
    DataWorksError,
    InstanceFailedError,
    InstanceNotReleasableError,
    WaitTimeoutError,
    fail_without_retry_on_config_error,
    fail_without_retry_on_refusal,
)
from airflow_provider_dataworks.hooks import DEFAULT_CONN_ID
from airflow_provider_dataworks.links.dataworks import CONSOLE_URL_XCOM_KEY, DataWorksInstanceLink, console_url
from airflow_provider_dataworks.mixins.lineage import DataWorksLineageMixin
from airflow_provider_dataworks.mixins.wait import DataWorksWaitMixin
from airflow_provider_dataworks.version_compat import BaseOperator, ResumableJobMixin, conf

# Parsing a DAG file needs only the argument checks above; what a run needs (the hook and the SDK behind it,
# the records, the wait, the trigger) is imported where it is first used (tests/unit/test_parse_imports.py).
if TYPE_CHECKING:
    from airflow_provider_dataworks.domain.api_records import TaskInstance
    from airflow_provider_dataworks.domain.run_target import RunTarget
    from airflow_provider_dataworks.domain.wait_state import WaitState
    from airflow_provider_dataworks.domain.waiting import Verdict
    from airflow_provider_dataworks.triggers.events import WaitEvent


class DataWorksTriggerOperator(DataWorksLineageMixin, DataWorksWaitMixin, ResumableJobMixin, BaseOperator):
    """Trigger the HTTP-trigger-node instance that belongs to this DAG run; optionally wait for what it released.

    :param dataworks_task_id: the HTTP trigger node's Task ID (templated).
    :param trigger_time: the instance's scheduled time: aware datetime, epoch ms, ISO-8601 with offset, or the
        console's ``YYYY-MM-DD HH:MM:SS`` in the scheduling zone (templated). Default: the run's
        ``data_interval_end``, else its ``logical_date``.
    :param env_type: ``Prod`` or ``Dev`` (default: the connection's, else Prod).
    :param project_id: workspace id (default: the connection's, else one GetTask call).
    :param timezone: scheduling zone (IANA; default: the connection's, else the region's).
    :param wait_for_completion: wait until the target is terminal.
    :param wait_for: ``instance`` (the trigger node), ``downstream`` (its direct downstream) or ``workflow``.
    :param deferrable: wait in the triggerer instead of a worker slot.
    :param poll_interval: seconds between polls while waiting (default 60).
    :param max_poll_interval: seconds the interval may grow to while nothing changes (default 4 *
        poll_interval; equal to poll_interval: no backoff).
    :param timeout: seconds (or timedelta) to wait before failing. In deferrable mode ``execution_timeout`` is a
        deadline of the wait too (the trigger gives up at it, and ``execute_complete`` says which one passed).
    :param cancel_on_kill: when the task is killed while it waits (marked failed or success, cleared,
        ``execution_timeout``; deferred: Airflow 3.3+ only) or its ``timeout`` passes, stop what the wait targets:
        the trigger instance if not yet released, the unfinished downstream instances, or the workflow instance.
        Only what this run released (it sent the trigger, or reran it); best effort, bounded (4 s in a worker's
        ``on_kill``, 20 s after a ``timeout`` and in the triggerer: ``domain/run_control.py``). Default False.
    :param rerun_failed: a try that finds its target already in Failure when it starts (a retry, a cleared task,
        a re-run of the date) reruns only the failed instances (RerunTaskInstances), once, and waits again; a
        failure seen during the try's own wait fails it, for the next try to repair. Never sends the trigger
        again. Needs ``wait_for`` ``downstream`` or ``workflow``. Default False. An instance whose node's
        ``RerunMode`` is ``AllDenied`` is never sent to DataWorks: the task fails without retry and says so.
    :param rerun_use_latest_config: ``rerun_failed`` reruns with the node's latest deployed configuration
        (``UseLatestConfig``; needs SDK 8.8.3 or newer). Default False: DataWorks reruns each instance as it was
        generated, as it does when the parameter is not sent.
    """

    template_fields: Sequence[str] = (
        "dataworks_task_id",
        "trigger_time",
        "env_type",
        "project_id",
        "timezone",
        "dataworks_conn_id",
    )
    operator_extra_links = (DataWorksInstanceLink(),)
    external_id_key = "dataworks_triggered_instance"
    ui_color = "#ff6a00"
    ui_fgcolor = "#ffffff"

    def __init__(
        self,
        *,
        dataworks_task_id: int | str,
        trigger_time: Any = None,
        env_type: str | None = None,
        project_id: int | str | None = None,
        timezone: str | None = None,
        dataworks_conn_id: str = DEFAULT_CONN_ID,
        wait_for_completion: bool = False,
        wait_for: str = "instance",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 60,
        max_poll_interval: float | timedelta | None = None,
        timeout: float | timedelta | None = None,
        cancel_on_kill: bool = False,
        rerun_failed: bool = False,
        rerun_use_latest_config: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dataworks_task_id = check_id(dataworks_task_id, "dataworks_task_id")
        self.env_type = check_env_type(env_type)
        self.project_id = check_id(project_id, "project_id", required=False)
        self.timezone = check_timezone(timezone)
        self.trigger_time = check_trigger_time(trigger_time, self.timezone)
        self.dataworks_conn_id = check_conn_id(dataworks_conn_id)
        self.wait_for_completion = bool(wait_for_completion)
        self.wait_for = check_wait_for(wait_for)
        self.deferrable = bool(deferrable)
        self.poll_interval = check_seconds(poll_interval, "poll_interval", minimum=1.0) or 60.0
        self.max_poll_interval = check_seconds(
            max_poll_interval, "max_poll_interval", minimum=self.poll_interval, allow_none=True
        )
        self.timeout = check_seconds(timeout, "timeout", minimum=1.0, allow_none=True)
        self.cancel_on_kill = bool(cancel_on_kill)
        self.rerun_failed = bool(rerun_failed)
        self.rerun_use_latest_config = bool(rerun_use_latest_config)
        check_control(
            self.wait_for_completion,
            self.wait_for,
            cancel_on_kill=self.cancel_on_kill,
            rerun_failed=self.rerun_failed,
            rerun_use_latest_config=self.rerun_use_latest_config,
        )
        self._try_started: float | None = None  # epoch seconds this try's execute began
        self._sent_this_try = False  # this try sent the trigger (nothing can have failed before it)
        self._verdict_at_start: Verdict | None = None  # the poll a re-attaching try made (ResumableJobMixin)
        self._waiting_on: WaitState | None = None  # the sync wait in progress, for on_kill

    # ---------------------------------------------------------------------------------------- run
    def execute(self, context: Any) -> int:
        self._try_started = time.time()
        if self.rerun_use_latest_config:
            with fail_without_retry_on_config_error():
                check_sdk_has_use_latest_config()
        return self._within_quota(lambda: self._run_try(context), 0)

    def _run_try(self, context: Any) -> int:
        with fail_without_retry_on_config_error():
            return self.execute_resumable(context)

    def _quota_deadline(self) -> float | None:
        """A quota deferral never outlasts the try's ``execution_timeout`` (from the try's start)."""
        started = self._try_started or time.time()
        return started + self.execution_timeout.total_seconds() if self.execution_timeout else None

    def _quota_state(self) -> dict[str, Any]:
        return {"try_started": self._try_started or time.time(), "sent_this_try": self._sent_this_try}

    def _resume_after_quota_reset(self, context: Any, state: dict[str, Any]) -> int:
        """The try goes on from the start: find the instance, read its state, trigger only while it still waits."""
        self._try_started, self._sent_this_try = float(state["try_started"]), bool(state["sent_this_try"])
        return self._within_quota(lambda: self._run_try(context), int(state["quota_deferrals"]))

    def target_of(self, context: Any) -> RunTarget:
        """The instance the run of ``context`` names (may cost 1 GetTask); the backfill plan uses it too."""
        from airflow_provider_dataworks.domain.run_target import RunTarget
        from airflow_provider_dataworks.domain.timing import resolve_trigger_time

        settings = self.hook.settings
        zone = self.timezone or settings.timezone
        trigger_time_ms, source = resolve_trigger_time(self.trigger_time, context, zone)
        task_id = as_id(self.dataworks_task_id, "dataworks_task_id")
        project_id = self.project_id or settings.project_id
        if project_id in (None, ""):
            project_id = self.hook.get_task(task_id).project_id
            self.log.info("Workspace of task %s: %s (GetTask; set project_id to save this call)", task_id, project_id)
        return RunTarget(
            task_id=task_id,
            trigger_time_ms=trigger_time_ms,
            source=source,
            zone=zone,
            env_type=self.env_type or settings.env_type,
            project_id=as_id(project_id, "project_id"),
            region_id=settings.region_id,
        )

    def submit_job(self, context: Any) -> dict[str, Any]:
        """Find this run's scheduled instance and trigger it unless it is past its trigger (ResumableJobMixin step).

        Returns the wait's :class:`WaitState` as the task state store keeps it (JSON). Nothing is released before
        the trigger call, so an error DataWorks answers for good fails the task without retries.
        """
        with fail_without_retry_on_refusal():
            return self._find_and_release(context).to_json()

    def _find_and_release(self, context: Any) -> WaitState:
        from airflow_provider_dataworks.domain.timing import dag_zone, format_in_zone
        from airflow_provider_dataworks.domain.wait_state import WaitState
        from airflow_provider_dataworks.domain.waiting import describe_instance

        t = self.target_of(context)
        if t.source == "logical_date":
            self._warn_unless_a_fire_time(context, t.trigger_time_ms, t.zone)
        when = format_in_zone(t.trigger_time_ms, t.zone)
        self.log.info(
            "DataWorks task %s, TriggerTime %s = %s (%s, from %s)",
            t.task_id,
            t.trigger_time_ms,
            when,
            t.zone,
            t.source,
        )
        inst = self.hook.find_instance(
            t.task_id,
            t.trigger_time_ms,
            project_id=t.project_id,
            zone=t.zone,
            env_type=t.env_type,
            dag_zone=dag_zone(context),
            time_source=t.source,
        )
        self.log.info("Found %s", describe_instance(inst, t.zone))
        if inst.trigger_time_ms is not None and inst.trigger_time_ms != t.trigger_time_ms:
            self.log.info("%s falls in the first pass of a repeated hour; DataWorks keeps only the second.", when)
            t = replace(t, trigger_time_ms=inst.trigger_time_ms)
        sent_at_ms, released = self._act_on(inst, t)
        state = WaitState(
            instance_id=inst.id,
            dataworks_task_id=t.task_id,
            trigger_time_ms=t.trigger_time_ms,
            zone=t.zone,
            scheduled_time=format_in_zone(t.trigger_time_ms, t.zone),
            env_type=t.env_type,
            project_id=t.project_id,
            console_url=console_url(t.region_id, t.project_id, inst.id, t.env_type),
            workflow_instance_id=inst.workflow_instance_id,
            trigger_sent_at_ms=sent_at_ms,
            released=released,
        )
        return self._as_configured(state.with_bizdate())

    def _as_configured(self, state: WaitState) -> WaitState:
        """``state`` with this task's wait settings (a retry may run a changed DAG file)."""
        return replace(
            state,
            wait_for=self.wait_for,
            poll_interval=self.poll_interval,
            max_poll_interval=self.max_poll_interval,
        )

    def _warn_unless_a_fire_time(self, context: Any, trigger_time_ms: int, zone: str) -> None:
        """A manual run names the instance at its logical date; warn when no scheduled run of the DAG would name it
        (the date is not a fire time of the DAG's schedule). No API call; skipped if the timetable cannot tell."""
        from datetime import timedelta as td

        from airflow_provider_dataworks.domain.timing import format_in_zone, from_epoch_ms
        from airflow_provider_dataworks.timetables.fire_times import scheduler_timetable, trigger_times

        dag = context.get("dag")
        moment = from_epoch_ms(trigger_time_ms)
        try:
            fires = trigger_times(dag, scheduler_timetable(dag), moment - td(seconds=1), 1)
        except Exception as err:  # a custom timetable: nothing to compare with
            self.log.debug("Could not list the DAG's fire times (%s); the manual run's date is not checked.", err)
            return
        if fires and fires[0] != trigger_time_ms:  # the first scheduled TriggerTime at or after the run's
            self.log.warning(
                "This manual run's logical date %s is not a fire time of the DAG's schedule: it names the instance "
                "scheduled then, but a scheduled run never would. Scheduled runs name the instances at the DAG's "
                "fire times; run `airflow dataworks check` to compare the DAG's schedule with the node's.",
                format_in_zone(trigger_time_ms, zone),
            )

    def _act_on(self, inst: TaskInstance, t: RunTarget) -> tuple[int | None, bool]:
        """Trigger ``inst`` if it still waits for one; (when our trigger was sent, whether it is released)."""
        from airflow_provider_dataworks.domain.api_records import TaskInstanceStatus
        from airflow_provider_dataworks.domain.waiting import Found, judge_found

        found = judge_found(inst)
        if found == Found.DRY_RUN:
            recurrence = inst.trigger_recurrence
            self.log.warning(
                "Instance %s is a dry run (TriggerRecurrence %s: %s): DataWorks releases it by itself without "
                "running; not triggering.",
                inst.id,
                recurrence.value,
                recurrence.meaning,
            )
            return None, True
        if found == Found.RELEASED:
            self.log.info(
                "Instance %s is already past its trigger (%s); not triggering again.", inst.id, inst.status.value
            )
            return None, True
        sent_at_ms = to_epoch_ms_now()
        self._sent_this_try = True
        if self._send_trigger(inst, t):
            return sent_at_ms, True
        if inst.status == TaskInstanceStatus.WAIT_TRIGGER:
            self.log.info("Triggered instance %s: DataWorks releases it and its downstream now.", inst.id)
            return sent_at_ms, True
        self.log.info(
            "Triggered instance %s while it is %s (upstream or scheduled time not reached): DataWorks keeps the "
            "trigger 24 hours and releases the instance when it is ready.",
            inst.id,
            inst.status.value,
        )
        return sent_at_ms, False

    def _send_trigger(self, inst: TaskInstance, t: RunTarget) -> bool:
        """Send the trigger; True when an error answer came but the instance shows it was released.

        After a 5xx or no answer the trigger may have taken effect: one GetTaskInstance tells, and the
        trigger is sent again only while the instance still waits for it (up to the connection's
        ``retry_limit`` sends). A trigger kept for an instance whose upstream still runs cannot be told
        from a lost one; sending it again is harmless (DataWorks keeps one).
        """
        from airflow_provider_dataworks.domain.api_records import TaskInstanceStatus

        sends = self.hook.settings.retry_limit
        for send in range(1, sends + 1):
            try:
                self.hook.trigger_instance(t.task_id, t.trigger_time_ms, t.env_type)
                return False
            except DataWorksApiError as err:
                if err.daily_quota:  # refused before it took effect; the task waits for the reset
                    raise
                again = self.hook.get_instance(inst.id)
                if again.status not in (*TaskInstanceStatus.before_trigger(), TaskInstanceStatus.FAILURE):
                    self.log.info(
                        "The trigger call failed (%s), but instance %s is already %s: it was released.",
                        err.code,
                        inst.id,
                        again.status.value,
                    )
                    return True
                if not err.transient or send == sends:
                    raise
                self.log.warning(
                    "The trigger call failed (%s); instance %s is still %s: sending it again (%d/%d).",
                    err.code,
                    inst.id,
                    again.status.value,
                    send + 1,
                    sends,
                )
        raise AssertionError("the loop returns or raises")

    def _push_xcoms(self, context: Any, state: WaitState) -> None:
        from airflow_provider_dataworks.domain.wait_state import XCOM_FIELDS

        ti = context["ti"]
        for key in XCOM_FIELDS:
            ti.xcom_push(key=key, value=getattr(state, key))
        ti.xcom_push(key=CONSOLE_URL_XCOM_KEY, value=state.console_url)

    # ------------------------------------------------------------------ ResumableJobMixin: reconnect
    def _stored(self, external_id: Any) -> WaitState:
        """The wait :meth:`submit_job` began, as the task state store gives it back."""
        from airflow_provider_dataworks.domain.wait_state import WaitState

        return self._as_configured(WaitState.from_json(external_id))

    def get_job_status(self, external_id: Any, context: Any) -> str:
        """Status of what this operator waits for (the instance when it does not wait)."""
        from airflow_provider_dataworks.domain.hook_calls import run_sync
        from airflow_provider_dataworks.domain.waiting import Outcome, WaitPoller

        state = self._stored(external_id)
        if not self.wait_for_completion:
            return self.hook.get_instance(state.instance_id).status.value
        verdict = self._verdict_at_start = run_sync(WaitPoller(state).poll(), self.hook)
        return {Outcome.DONE: "Success", Outcome.FAILED: "Failure"}.get(verdict.state, "Running")

    def is_job_active(self, status: str) -> bool:
        """Still running; with ``rerun_failed`` a Failure too: the try re-attaches and repairs it."""
        return status not in ("Success", "Failure") or (status == "Failure" and self.rerun_failed)

    def is_job_succeeded(self, status: str) -> bool:
        return status == "Success"

    def poll_until_complete(self, external_id: Any, context: Any) -> None:
        from airflow_provider_dataworks.hooks import metrics

        state = self._stored(external_id)
        self._push_xcoms(context, state)
        if not self.wait_for_completion:
            return
        state = self._with_deadline(state)
        if self.rerun_failed and not self._sent_this_try:
            state, done = self._repair(state)
            if done:
                return
        if self.deferrable:
            self._defer_wait(replace(state, cancel_on_kill=self.cancel_on_kill and state.released_by_run))
        self._waiting_on = state  # kept when the wait raises: Airflow calls on_kill after execution_timeout
        with metrics.sync_wait(self.wait_for, self.dataworks_conn_id):
            self._wait_sync(state)
        self._waiting_on = None

    def get_job_result(self, external_id: Any, context: Any) -> int:
        state = self._stored(external_id)
        self._push_xcoms(context, state)
        return state.instance_id

    # ----------------------------------------------------------------------------- repair and cancel
    def _repair(self, state: WaitState) -> tuple[WaitState, bool]:
        """At the start of a try that did not trigger: when the target is in Failure, rerun only its failed
        instances (1 RerunTaskInstances), once. Returns the state to wait with and whether the target is done."""
        from airflow_provider_dataworks.domain.hook_calls import run_sync
        from airflow_provider_dataworks.domain.waiting import Outcome, WaitPoller

        poller = WaitPoller(state)
        verdict = self._verdict_at_start or run_sync(poller.poll(), self.hook)
        state = replace(
            state,
            released=poller.state.released or state.released,
            workflow_instance_id=poller.state.workflow_instance_id or state.workflow_instance_id,
        )
        if verdict.state == Outcome.DONE:
            self.log.info("DataWorks %s wait done when the try began: %s", self.wait_for, verdict.message)
            return state, True
        if verdict.state != Outcome.FAILED:
            return state, False
        return self._rerun(verdict, state), False

    def _rerun(self, verdict: Verdict, state: WaitState) -> WaitState:
        """Rerun the failed instances of the target (1 RerunTaskInstances), unless their node's ``RerunMode`` would
        have DataWorks refuse (then fail without retry, no call). The state marked ``repaired``."""
        from airflow_provider_dataworks.domain.run_control import RERUN_COMMENT, rerun_refusals, rerunnable

        failed = rerunnable(verdict, state.instance_id)
        if not failed:
            raise InstanceFailedError(
                f"{verdict.message} rerun_failed has nothing to rerun: the HTTP trigger node's own instance failed; "
                "rerun it in DataWorks."
            )
        ids = [inst.id for inst in failed]
        if refusals := rerun_refusals(failed):
            said = "; ".join(f"instance {i}: {why}" for i, why in refusals.items())
            raise InstanceNotReleasableError(
                f"{verdict.message} rerun_failed cannot repair it: {said}. Nothing was rerun. Allow reruns in the "
                "node's scheduling properties in DataWorks, or rerun the instances there by hand, then clear this task."
            )
        self.log.warning(
            "%s rerun_failed: rerunning only the failed instances %s (RerunTaskInstances%s); the trigger "
            "is not sent again.",
            verdict.message,
            ", ".join(map(str, ids)),
            ", UseLatestConfig" if self.rerun_use_latest_config else "",
        )
        outcome = self.hook.rerun_instances(ids, RERUN_COMMENT, use_latest_config=self.rerun_use_latest_config)
        if outcome.refused:
            said = "; ".join(f"{i}: {why}" for i, why in outcome.refused.items())
            raise InstanceFailedError(f"DataWorks refused to rerun {said}. The next try reads the instances again.")
        rerun = ", ".join(map(str, ids))
        self.log.info("DataWorks reruns instances %s; waiting for the %s again.", rerun, self.wait_for)
        return replace(state, repaired=True)

    def on_kill(self) -> None:
        """Airflow kills the task (marked failed or success, cleared, ``execution_timeout``) while it waits in this
        worker: with ``cancel_on_kill``, stop what this run released (deferred waits: the trigger's ``on_kill``)."""
        from airflow_provider_dataworks.domain.run_control import ON_KILL_TIMEOUT_S

        if self._waiting_on is not None:
            self._cancel(self._waiting_on, ON_KILL_TIMEOUT_S)

    def _cancel(self, state: WaitState, within_s: float) -> str:
        """Stop what the wait targets when ``cancel_on_kill`` is set and this run released it, within ``within_s``
        seconds; what to tell the user about it."""
        from airflow_provider_dataworks.domain.run_control import cancel_in_worker

        if not self.cancel_on_kill:
            return "DataWorks keeps running what was released: check it in the console."
        if not state.released_by_run:
            self.log.warning(
                "cancel_on_kill: instance %s was found already released (not by this run's trigger); stopping nothing.",
                state.instance_id,
            )
            return "DataWorks keeps running what was released (not by this run): check it in the console."
        stopped = cancel_in_worker(
            self.hook,
            self.log,
            within_s,
            instance_id=state.instance_id,
            wait_for=self.wait_for,
            workflow_instance_id=state.workflow_instance_id,
        )
        if stopped is None:
            return "cancel_on_kill could not stop what was released: check it in the console."
        return f"cancel_on_kill: {stopped.describe()}"

    # ------------------------------------------------------------------------------------ waiting
    def _with_deadline(self, state: WaitState) -> WaitState:
        """The wait's deadline (epoch seconds) and what sets it: ``timeout`` from now, or, deferred, the try's
        ``execution_timeout`` (in a worker Airflow's own alarm enforces that one, and ``on_kill`` follows)."""
        deadlines = []
        if self.timeout:
            deadlines.append((time.time() + self.timeout, "timeout"))
        if self.deferrable and self.execution_timeout is not None:
            started = self._try_started or time.time()
            deadlines.append((started + self.execution_timeout.total_seconds(), "execution_timeout"))
        if not deadlines:
            return replace(state, deadline=None, deadline_by=None)
        deadline, deadline_by = min(deadlines)
        return replace(state, deadline=deadline, deadline_by=deadline_by)

    def _wait_sync(self, state: WaitState) -> None:
        from airflow_provider_dataworks.domain.hook_calls import run_sync
        from airflow_provider_dataworks.domain.waiting import Outcome, PollPacer, WaitPoller

        poller, pacer, pause = WaitPoller(state), PollPacer.for_wait(state), state.poll_interval
        while True:
            self._sleep_until_next_poll(pause, poller.state)
            try:
                verdict = run_sync(poller.poll(), self.hook)
            except DataWorksApiError as err:
                pause = pacer.after_failure(err)
                self.log.warning("DataWorks poll failed (%s); polling again in %.0f s", err, pause)
                continue
            pause = pacer.after(verdict.statuses)
            if verdict.state == Outcome.DONE:
                self.log.info("DataWorks %s wait done: %s", self.wait_for, verdict.message)
                return
            if verdict.state == Outcome.FAILED:
                raise InstanceFailedError(verdict.message)
            if verdict.state == Outcome.RETRIGGER:
                poller.resent_trigger(self._retrigger(poller.state))
            else:
                self.log.info("DataWorks %s wait: %s", self.wait_for, verdict.message)

    def _sleep_until_next_poll(self, pause: float, state: WaitState) -> None:
        if state.deadline is not None:
            remaining = state.deadline - time.time()
            if remaining <= 0:
                raise self._timeout_error(state)
            pause = min(pause, remaining)
        time.sleep(pause)

    def _timeout_error(self, state: WaitState) -> WaitTimeoutError:
        """The wait ran out of time (``deadline_by``: ``timeout`` or ``execution_timeout``); stops what this run
        released with ``cancel_on_kill``."""
        from airflow_provider_dataworks.domain.run_control import CANCEL_TIMEOUT_S

        if state.deadline_by == "execution_timeout" and self.execution_timeout is not None:
            limit = f"execution_timeout ({self.execution_timeout.total_seconds():g} s) passed"
        else:
            limit = f"timeout ({self.timeout:g} s) passed" if self.timeout else "the deadline passed"
        outcome = self._cancel(state, CANCEL_TIMEOUT_S)
        return WaitTimeoutError(
            f"The {limit} while waiting for the {self.wait_for} of instance {state.instance_id}; giving up. {outcome}"
        )

    def _retrigger(self, state: WaitState) -> int:
        """Send the trigger once more (DataWorks dropped ours after its 24-hour retention); when it was sent."""
        self.log.warning(
            "Instance %s still waits for a trigger more than 24 h after ours (DataWorks dropped it); "
            "sending it once more.",
            state.instance_id,
        )
        if state.dataworks_task_id is None or state.trigger_time_ms is None:
            raise DataWorksError(f"instance {state.instance_id}: the wait does not know which trigger to resend")
        sent_at_ms = to_epoch_ms_now()
        self.hook.trigger_instance(state.dataworks_task_id, state.trigger_time_ms, state.env_type)
        return sent_at_ms

    # ------------------------------------------------------------- after the triggerer (DataWorksWaitMixin)
    def _on_wait_timeout(self, wait: WaitEvent) -> WaitTimeoutError:
        timed_out = self._timeout_error(wait.state)
        if "quota" in wait.message:  # it slept through a used-up daily quota: say when that resets
            return WaitTimeoutError(f"{timed_out} The trigger: {wait.message}")
        return timed_out

    def _on_wait_retrigger(self, state: WaitState) -> NoReturn:
        """DataWorks dropped our trigger after 24 h: send it once more and wait again."""
        self._defer_wait(replace(state, trigger_sent_at_ms=self._retrigger(state), resent=True))


def check_conn_id(conn_id: str) -> str:
    if not conn_id:
        raise DataWorksConfigError("dataworks_conn_id is empty; name a 'dataworks' connection.")
    return conn_id


def check_sdk_has_use_latest_config() -> None:
    """``rerun_use_latest_config`` needs an SDK whose RerunTaskInstancesRequest has ``use_latest_config`` (8.8.3+)."""
    import inspect
    from importlib.metadata import version

    from alibabacloud_dataworks_public20240518 import models

    if "use_latest_config" not in inspect.signature(models.RerunTaskInstancesRequest).parameters:
        raise DataWorksConfigError(
            "rerun_use_latest_config=True needs alibabacloud_dataworks_public20240518 8.8.3 or newer (installed: "
            f"{version('alibabacloud_dataworks_public20240518')}): upgrade the SDK where tasks run, or drop the "
            "argument."
        )


def to_epoch_ms_now() -> int:
    """The worker's current time in epoch ms (only to date our own trigger call, never to pick an instance)."""
    return time.time_ns() // 1_000_000
