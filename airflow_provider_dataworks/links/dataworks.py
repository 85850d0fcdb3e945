"""The DataWorks console address of a task instance, and the operator extra link that shows it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from airflow_provider_dataworks.version_compat import BaseOperatorLink

CONSOLE_URL_XCOM_KEY = "dataworks_console_url"
#: Operation Center's instance page. The exact deep-link format is not documented publicly; this opens the
#: instance list of the workspace filtered to the instance id.
CONSOLE_BASE = "https://dataworks.console.aliyun.com"


def console_url(region_id: str | None, project_id: int | None, instance_id: int, env_type: str = "Prod") -> str:
    """Address of ``instance_id`` in DataWorks Operation Center (region defaults to cn-hangzhou)."""
    query = urlencode({"projectId": project_id or "", "instanceId": instance_id, "env": env_type.lower()})
    return f"{CONSOLE_BASE}/{region_id or 'cn-hangzhou'}/operation-center/instance?{query}"


def pushed_console_url(ti_key: Any) -> str | None:
    """The console address the try of ``ti_key`` pushed, None if it pushed none (failed before it knew one).

    Airflow 3 asks for the link at the end of every try, failed ones included, in the worker; a plain
    ``XCom.get_value`` of a missing key makes the execution API client log an ``XCom not found`` error there.
    ``XCom.get_all`` answers an empty list instead, so an unmapped task (map index -1, the one value of that
    key) reads it without the error; a mapped one reads its own map index. Airflow 2 reads the database.
    """
    from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_0_PLUS, XCom

    if AIRFLOW_V_3_0_PLUS:
        found = XCom.get_all(
            key=CONSOLE_URL_XCOM_KEY, dag_id=ti_key.dag_id, task_id=ti_key.task_id, run_id=ti_key.run_id
        )
        if not found:
            return None
        if ti_key.map_index < 0:
            return found[0]
    return XCom.get_value(key=CONSOLE_URL_XCOM_KEY, ti_key=ti_key)


class DataWorksInstanceLink(BaseOperatorLink):
    """Opens the triggered (or watched) instance in the DataWorks console."""

    name = "DataWorks Instance"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return pushed_console_url(ti_key) or ""
