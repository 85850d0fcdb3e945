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


class DataWorksInstanceLink(BaseOperatorLink):
    """Opens the triggered (or watched) instance in the DataWorks console."""

    name = "DataWorks Instance"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        from airflow_provider_dataworks.version_compat import XCom

        return XCom.get_value(key=CONSOLE_URL_XCOM_KEY, ti_key=ti_key) or ""
