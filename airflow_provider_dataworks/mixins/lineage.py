"""OpenLineage for the operator and the sensor: which DataWorks node and instance an Airflow task released or watched.

    class DataWorksTaskInstanceSensor(DataWorksLineageMixin, DataWorksWaitMixin, BaseSensorOperator): ...

With ``apache-airflow-providers-openlineage`` installed (the ``openlineage`` extra), its listener calls
:meth:`~DataWorksLineageMixin.get_openlineage_facets_on_complete` (or ``_on_failure``) when the task ends, in the
worker. What the task reports, and nothing is asked of DataWorks for it (no API call):

* on the Airflow task's own COMPLETE or FAIL event, a ``dataworks_instance`` run facet (instance id, node, workspace,
  region, env type, business date, scheduled time, console link, and on failure DataWorks' status), and the
  standard ``externalQuery`` facet naming the instance;
* events of the DataWorks node as a job of its own (namespace ``dataworks://<region>/<workspace>``, name the node
  id), one run per instance (its run id derives from the instance id), with the Airflow task as its parent run
  (``parent`` facet): START, then COMPLETE when the wait ended in Success or FAIL when it ended in Failure.
  A task that does not wait (or whose wait timed out) leaves the instance's run started: DataWorks runs it on.

It is listed first in the bases: it wraps ``DataWorksWaitMixin``'s ``_within_quota`` (every try runs through it:
how a try ended) and ``_on_wait_ended`` (a deferred wait's final state), and ``ResumableJobMixin.execute_resumable``
(after the operator's try, with OpenLineage on, its XComs are read back: the listener's fork never asks Airflow).
The sensor's values come from its wait. Nothing here is imported when a DAG file is parsed: the OpenLineage
modules load inside the methods, which the listener calls only where the OpenLineage provider is installed.
No facet carries a secret: ids, dates, the console address and DataWorks' statuses only.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_dataworks.domain.wait_state import WaitState
    from airflow_provider_dataworks.triggers.events import WaitEvent

#: The run facet's key on the Airflow task's events and on the DataWorks run's.
FACET_KEY = "dataworks_instance"
HOMEPAGE = "https://github.com/airflow-provider-dataworks/airflow-provider-dataworks"
#: Where the facet's fields are described (the documentation's OpenLineage page).
FACET_SCHEMA_URL = "https://airflow-provider-dataworks.github.io/airflow-provider-dataworks/how-to/openlineage/#on-the-airflow-tasks-own-complete-or-fail-event"
#: links/dataworks.py's CONSOLE_URL_XCOM_KEY (mixins/ may not import links/; a unit test holds them equal).
_CONSOLE_URL_XCOM_KEY = "dataworks_console_url"


class DataWorksLineageMixin:
    """OpenLineage facets of ``DataWorksTriggerOperator`` and ``DataWorksTaskInstanceSensor`` (listed first)."""

    task_id: str
    log: Any
    #: What this try learnt (kept on the task object: the listener runs in the same process, or a fork of it).
    _lineage_wait: WaitState | None = None  # the state a deferred wait ended with
    _lineage_statuses: dict[str, str] | None = None  # DataWorks' statuses the wait's last poll saw
    _lineage_status: str | None = None  # DataWorks' status of what was waited for, when the try learnt it
    _lineage_error: str | None = None  # how the try failed (a provider error: it names no secret)
    _lineage_pushed: dict[str, Any] | None = None  # the operator's XComs, read back after its try

    # ------------------------------------------------------------------ what the try saw (wrapping the wait mixin)
    def _within_quota(self, run: Callable[[], Any], quota_deferrals: int) -> Any:
        from airflow_provider_dataworks.exceptions import DataWorksError, InstanceFailedError, WaitTimeoutError

        try:
            return super()._within_quota(run, quota_deferrals)  # type: ignore[misc]
        except InstanceFailedError as err:
            self._lineage_status, self._lineage_error = "Failure", str(err)
            raise
        except WaitTimeoutError as err:  # DataWorks runs on: its status is not a terminal one
            self._lineage_status, self._lineage_error = None, str(err)
            raise
        except DataWorksError as err:
            self._lineage_error = str(err)
            raise

    def _on_wait_ended(self, context: Any, wait: WaitEvent) -> Any:
        self._lineage_wait, self._lineage_statuses = wait.state, dict(wait.statuses)
        return super()._on_wait_ended(context, wait)  # type: ignore[misc]

    def execute_resumable(self, context: Any) -> Any:
        """The operator's try (``ResumableJobMixin``): what it pushed to XCom is read back here, in the task's own
        process and only with OpenLineage on, for the facets (the listener calls them in a fork of this process,
        where a call to the supervisor may never be answered: Airflow 3's in-process ``dag.test()``)."""
        try:
            result = super().execute_resumable(context)  # type: ignore[misc]
        except BaseException as err:
            if type(err).__name__ != "TaskDeferred":  # a deferred try goes on in execute_complete
                self._lineage_remember(context)
            raise
        self._lineage_remember(context)
        return result

    def _lineage_remember(self, context: Any) -> None:
        """Keep the operator's XComs (the instance it released) when OpenLineage will ask for them."""
        try:
            if not _lineage_on():
                return
            from airflow_provider_dataworks.domain.wait_state import XCOM_FIELDS

            ti = context["ti"]
            pushed = {key: _pushed(ti, key) for key in (*XCOM_FIELDS, _CONSOLE_URL_XCOM_KEY)}
        except Exception as err:  # lineage never fails a task
            self.log.warning("OpenLineage: could not read what this try pushed (%s)", err)
            return
        self._lineage_pushed = pushed

    # ------------------------------------------------------------------------------- the OpenLineage methods
    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The facets of a try that succeeded; emits the DataWorks run's START (+ COMPLETE when it waited)."""
        return self._lineage(task_instance, failed=False)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """The facets of a try that failed, with DataWorks' status; emits the DataWorks run's START (+ FAIL when
        what it waited for ended in Failure)."""
        return self._lineage(task_instance, failed=True)

    def _lineage(self, task_instance: Any, *, failed: bool) -> Any:
        try:
            from airflow.providers.openlineage.extractors import OperatorLineage
        except ImportError:  # the listener calls these only with the OpenLineage provider installed
            return None
        try:
            found = self._lineage_found(task_instance)
        except Exception as err:  # lineage never fails a task
            self.log.warning("OpenLineage: could not read what this try found in DataWorks (%s)", err)
            found = None
        if found is None:  # the try failed before it knew its instance
            return OperatorLineage()
        facts = self._lineage_facts(found, failed=failed)
        lineage: Any = OperatorLineage(run_facets=_run_facets(facts))
        try:
            self._emit_dataworks_run(task_instance, facts, failed=failed)
        except Exception as err:
            self.log.warning("OpenLineage: the DataWorks run's events were not emitted (%s)", err)
        return lineage

    # ------------------------------------------------------------------------------------------ the facts
    def _lineage_found(self, task_instance: Any) -> dict[str, Any] | None:
        """What the try found: the wait's state (a deferred wait's event, the sensor's poller) or the operator's
        XComs as its try read them back; None when it found no instance. (Nothing is read from Airflow here.)"""
        from airflow_provider_dataworks.domain.wait_state import XCOM_FIELDS

        state = self._lineage_wait
        if state is None and (poller := getattr(self, "_poller", None)) is not None:
            state = poller.state
        if state is not None:
            state = state.with_bizdate()
            found = {key: getattr(state, key) for key in XCOM_FIELDS}
            return {**found, "console_url": state.console_url, "bizdate_ms": state.bizdate_ms, "zone": state.zone}
        pushed = self._lineage_pushed
        if not pushed or pushed.get("instance_id") is None:
            return None
        found = {key: pushed.get(key) for key in XCOM_FIELDS}
        return {**found, "console_url": pushed.get(_CONSOLE_URL_XCOM_KEY), "bizdate_ms": None}

    def _lineage_facts(self, found: dict[str, Any], *, failed: bool) -> dict[str, Any]:
        """The ``dataworks_instance`` facet's fields (camelCase, as OpenLineage facets spell them)."""
        region = self._lineage_region()
        project_id = found["project_id"]
        node = found["dataworks_task_id"] if found["dataworks_task_id"] is not None else self._lineage_node()
        waited = bool(getattr(self, "wait_for_completion", True))  # the sensor always waits
        # DataWorks' status of what was waited for: Success when the wait ended so; on failure, as the try saw it
        status = self._lineage_status if failed else ("Success" if waited else None)
        return {
            "instanceId": found["instance_id"],
            "nodeId": node,
            "projectId": project_id,
            "regionId": region,
            "envType": found["env_type"] or getattr(self, "env_type", None),
            "bizdate": _bizdate(found, found.get("zone") or self._lineage_zone()),
            "scheduledTime": found["scheduled_time"],
            "triggerTime": _iso(found["trigger_time_ms"]),
            "consoleUrl": found["console_url"],
            "workflowInstanceId": found["workflow_instance_id"],
            "waitFor": getattr(self, "wait_for", None) if waited else None,
            "status": status,
            "statuses": self._lineage_statuses or None,
            "errorMessage": self._lineage_error if failed else None,
            "jobNamespace": f"dataworks://{region}/{project_id if project_id is not None else 'unknown'}",
            "jobName": str(node) if node is not None else None,
        }

    def _lineage_region(self) -> str:
        """The connection's region (the run has read the connection already: no lookup), as the console link."""
        try:
            return self.hook.settings.region_id or "cn-hangzhou"  # type: ignore[attr-defined]
        except Exception:
            return "cn-hangzhou"

    def _lineage_zone(self) -> str | None:
        """The scheduling zone the run used (the task's, else the connection's)."""
        try:
            return getattr(self, "timezone", None) or self.hook.settings.timezone  # type: ignore[attr-defined]
        except Exception:
            return None

    def _lineage_node(self) -> int | None:
        """The node's id as the task names it (the sensor's ``dataworks_task_id``; None when named by instance)."""
        node = getattr(self, "dataworks_task_id", None)
        try:
            return int(node) if node not in (None, "") else None
        except (TypeError, ValueError):
            return None

    # ---------------------------------------------------------------------------------- the DataWorks run
    def _emit_dataworks_run(self, task_instance: Any, facts: dict[str, Any], *, failed: bool) -> None:
        """START, and COMPLETE or FAIL when the wait ended so, of the DataWorks node's run, the Airflow task its
        parent (as the dbt Cloud and Databricks providers emit their runs)."""
        from datetime import datetime, timezone

        from airflow.providers.openlineage.plugins.listener import get_openlineage_listener
        from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
        from openlineage.client.facet_v2 import job_type_job, nominal_time_run
        from openlineage.client.uuid import generate_static_uuid

        if facts["jobName"] is None:  # a sensor named only by instance: its node is not known without a call
            return
        listener = get_openlineage_listener()
        if listener is None:
            return
        scheduled = _datetime(facts["triggerTime"])
        key = f"{facts['jobNamespace']}/{facts['jobName']}/{facts['instanceId']}".encode()
        run_id = str(generate_static_uuid(instant=scheduled or datetime.now(timezone.utc), data=key))
        run_facets: dict[str, Any] = {**_run_facets(facts), **_parent_facet(task_instance)}
        if scheduled is not None:
            run_facets["nominalTime"] = nominal_time_run.NominalTimeRunFacet(nominalStartTime=facts["triggerTime"])
        job = Job(
            namespace=facts["jobNamespace"],
            name=facts["jobName"],
            facets={
                "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="DATAWORKS", jobType="NODE")
            },
        )
        states = [RunState.START]
        if facts["status"] == "Success":
            states.append(RunState.COMPLETE)
        elif failed and facts["status"] == "Failure":
            states.append(RunState.FAIL)
        producer = _producer()
        for state in states:
            now = datetime.now(timezone.utc).isoformat()
            event = RunEvent(
                eventType=state, eventTime=now, run=Run(runId=run_id, facets=run_facets), job=job, producer=producer
            )
            listener.adapter.emit(event)


# ---------------------------------------------------------------------------------------------- helpers
def _lineage_on() -> bool:
    """The OpenLineage provider is installed and enabled (its configuration is read once per process)."""
    try:
        from airflow.providers.openlineage import conf
    except ImportError:
        return False
    return not conf.is_disabled()


def _pushed(task_instance: Any, key: str) -> Any:
    """The value this try's task pushed under ``key`` (None if none), read without Airflow 3's ``XCom not found``
    error log for a missing key (``XCom.get_all`` answers an empty list); Airflow 2 reads the database."""
    from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_0_PLUS, XCom

    ti = task_instance
    if not AIRFLOW_V_3_0_PLUS:
        return XCom.get_value(key=key, ti_key=ti.key)
    found = XCom.get_all(key=key, dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id)
    if not found:
        return None
    if ti.map_index < 0:
        return found[0]
    return XCom.get_one(key=key, dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id, map_index=ti.map_index)


@cache
def _facet_class() -> type:
    """The ``dataworks_instance`` run facet (an attrs class, as OpenLineage's own; defined on first use)."""
    import attr
    from openlineage.client.facet_v2 import RunFacet

    @attr.define
    class DataWorksInstanceRunFacet(RunFacet):
        """The DataWorks instance an Airflow task released or watched."""

        instanceId: int  # OpenLineage facets' fields are camelCase
        nodeId: int | None = None
        projectId: int | None = None
        regionId: str | None = None
        envType: str | None = None
        bizdate: str | None = None
        scheduledTime: str | None = None
        triggerTime: str | None = None
        consoleUrl: str | None = None
        workflowInstanceId: int | None = None
        waitFor: str | None = None
        status: str | None = None
        statuses: dict[str, str] | None = None
        errorMessage: str | None = None
        jobNamespace: str | None = None
        jobName: str | None = None

        @staticmethod
        def _get_schema() -> str:
            return FACET_SCHEMA_URL

    return DataWorksInstanceRunFacet


def _run_facets(facts: dict[str, Any]) -> dict[str, Any]:
    """The ``dataworks_instance`` facet, and the standard ``externalQuery`` facet naming the instance."""
    from openlineage.client.facet_v2 import external_query_run

    return {
        FACET_KEY: _facet_class()(**facts),
        "externalQuery": external_query_run.ExternalQueryRunFacet(
            externalQueryId=str(facts["instanceId"]), source=facts["jobNamespace"]
        ),
    }


def _parent_facet(task_instance: Any) -> dict[str, Any]:
    """The Airflow task's run as the parent (its DAG run as the root), from the OpenLineage provider's macros."""
    from airflow.providers.openlineage.plugins import macros
    from openlineage.client.facet_v2 import parent_run

    namespace, name, run_id = (
        macros.lineage_job_namespace(),
        macros.lineage_job_name(task_instance),
        macros.lineage_run_id(task_instance),
    )
    root_namespace = getattr(macros, "lineage_root_job_namespace", lambda _ti: namespace)(task_instance)
    root = parent_run.Root(
        run=parent_run.RootRun(runId=macros.lineage_root_run_id(task_instance)),
        job=parent_run.RootJob(namespace=root_namespace, name=macros.lineage_root_job_name(task_instance)),
    )
    facet = parent_run.ParentRunFacet(
        run=parent_run.Run(runId=run_id), job=parent_run.Job(namespace=namespace, name=name), root=root
    )
    return {"parent": facet}


def _producer() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{HOMEPAGE}/tree/{version('airflow-provider-dataworks')}"
    except PackageNotFoundError:
        return HOMEPAGE


def _bizdate(found: dict[str, Any], zone: str | None) -> str | None:
    """The business date, ``YYYY-MM-DD``: the wait's, else the day before the scheduled time's day (DataWorks')."""
    from datetime import date, timedelta

    if found.get("bizdate_ms") is not None and zone:
        from airflow_provider_dataworks.domain.timing import from_epoch_ms

        return from_epoch_ms(found["bizdate_ms"]).astimezone(_zone(zone)).date().isoformat()
    scheduled = found.get("scheduled_time")
    if not scheduled:
        return None
    return (date.fromisoformat(str(scheduled)[:10]) - timedelta(days=1)).isoformat()


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _iso(epoch_ms: int | None) -> str | None:
    """Epoch ms as ISO-8601 in UTC."""
    from datetime import datetime, timezone

    if epoch_ms is None:
        return None
    return datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc).isoformat()


def _datetime(iso: str | None) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(iso) if iso else None
