"""The operator extra link through real dag.test() runs: read without an alarming error when a try pushed none."""

from __future__ import annotations

import pytest

from airflow_provider_dataworks.emulator import DataWorksEmulator
from airflow_provider_dataworks.links.dataworks import CONSOLE_URL_XCOM_KEY, DataWorksInstanceLink
from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_0_PLUS
from tests.conftest import RELEASE, RUN_DATE, T, dag_source, run_dag, task_states

pytestmark = [pytest.mark.usefixtures("airflow_db", "dataworks_conn"), pytest.mark.every_airflow]


def link_of(dag_run: object, task_id: str) -> str | None:
    """What the UI shows for the task's DataWorks link: on Airflow 3 the XCom the worker pushed at the end of
    the try; on Airflow 2 what the webserver's ``get_link`` call answers."""
    ti = dag_run.get_task_instance(task_id)  # type: ignore[attr-defined]
    if AIRFLOW_V_3_0_PLUS:
        return ti.xcom_pull(task_ids=task_id, key=DataWorksInstanceLink().xcom_key)
    return DataWorksInstanceLink().get_link(ti.task, ti_key=ti.key)


def test_a_try_that_failed_before_it_knew_an_instance_logs_no_xcom_error(
    emulator: DataWorksEmulator, capfd: pytest.CaptureFixture
) -> None:
    emulator.inject_fault("ListTaskInstances", kind="error", http_status=403, code="Forbidden.Access", times=1)
    body = "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001)"
    dr = run_dag(dag_source("link_failed_try", body), "link_failed_try", RUN_DATE)
    out = capfd.readouterr()
    assert task_states(dr) == {"release": "failed"}
    assert "Forbidden.Access" in out.out + out.err  # the try ran, and failed where it should
    assert "XCom not found" not in out.out + out.err
    assert not link_of(dr, "release")


def test_a_released_instance_links_to_the_console(emulator: DataWorksEmulator) -> None:
    body = "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001)"
    dr = run_dag(dag_source("link_released", body), "link_released", RUN_DATE)
    assert task_states(dr) == {"release": "success"}
    url = dr.get_task_instance("release").xcom_pull(task_ids="release", key=CONSOLE_URL_XCOM_KEY)
    assert f"instanceId={emulator.instance_of(RELEASE, T).id}" in url
    assert link_of(dr, "release") == url
