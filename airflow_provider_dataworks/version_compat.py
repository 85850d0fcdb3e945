"""Airflow 2.11 / 3.x imports in one place (through ``airflow.providers.common.compat``).

Each name is resolved on first use (PEP 562), so a DAG file that needs ``BaseOperator`` does not also load
the hook's or the sensor's base classes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import (
        BaseHook,
        BaseOperator,
        BaseOperatorLink,
        BaseSensorOperator,
        ResumableJobMixin,
        Stats,
        XCom,
        conf,
        mask_secret,
    )
    from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_3_PLUS

_SDK_NAMES = frozenset(
    {
        "BaseHook",
        "BaseOperator",
        "BaseOperatorLink",
        "BaseSensorOperator",
        "ResumableJobMixin",
        "Stats",
        "XCom",
        "conf",
        "mask_secret",
    }
)
_VERSION_NAMES = frozenset({"AIRFLOW_V_3_0_PLUS", "AIRFLOW_V_3_3_PLUS"})

__all__ = [  # written out: linters and type checkers read a literal list
    "AIRFLOW_V_3_0_PLUS",
    "AIRFLOW_V_3_3_PLUS",
    "BaseHook",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "ResumableJobMixin",
    "Stats",
    "XCom",
    "conf",
    "mask_secret",
]


def __getattr__(name: str) -> Any:
    if name in _SDK_NAMES:
        source = "airflow.providers.common.compat.sdk"
    elif name in _VERSION_NAMES:
        source = "airflow.providers.common.compat.version_compat"
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(source), name)
    globals()[name] = value
    return value
