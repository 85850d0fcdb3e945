"""Airflow 2.11 / 3.x imports in one place (through ``airflow.providers.common.compat``)."""

from __future__ import annotations

from airflow.providers.common.compat.sdk import (
    BaseHook,
    BaseOperator,
    BaseOperatorLink,
    BaseSensorOperator,
    ResumableJobMixin,
    XCom,
    conf,
    mask_secret,
)
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_3_PLUS

__all__ = [
    "AIRFLOW_V_3_0_PLUS",
    "AIRFLOW_V_3_3_PLUS",
    "BaseHook",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "ResumableJobMixin",
    "XCom",
    "conf",
    "mask_secret",
]
