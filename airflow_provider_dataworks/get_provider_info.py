"""``get_provider_info()``: what Airflow's ProvidersManager reads through the entry point (no heavy imports)."""

from __future__ import annotations

from typing import Any

from airflow_provider_dataworks import __version__
from airflow_provider_dataworks.hooks.connection_fields import (
    AUTH_TYPES,
    EXTRA_FIELDS,
    SECRET_EXTRAS,
    UI_FIELD_BEHAVIOUR,
)


def _conn_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, (label, description) in EXTRA_FIELDS.items():
        schema: dict[str, Any] = {"type": ["string", "null"]}
        if name in SECRET_EXTRAS:
            schema["format"] = "password"
        if name == "auth_type":
            schema["enum"] = list(AUTH_TYPES)
        if name == "env_type":
            schema["enum"] = ["Prod", "Dev"]
        fields[name] = {"label": label, "description": description, "schema": schema}
    return fields


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-dataworks",
        "name": "Alibaba Cloud DataWorks",
        "description": "Trigger DataWorks HTTP trigger node instances and wait for what they release.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Alibaba Cloud DataWorks",
                "external-doc-url": "https://www.alibabacloud.com/help/en/dataworks/",
                "tags": ["alibaba"],
            }
        ],
        "operators": [
            {
                "integration-name": "Alibaba Cloud DataWorks",
                "python-modules": ["airflow_provider_dataworks.operators.dataworks"],
            }
        ],
        "sensors": [
            {
                "integration-name": "Alibaba Cloud DataWorks",
                "python-modules": ["airflow_provider_dataworks.sensors.dataworks"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Alibaba Cloud DataWorks",
                "python-modules": ["airflow_provider_dataworks.hooks.dataworks"],
            }
        ],
        "triggers": [
            {
                "integration-name": "Alibaba Cloud DataWorks",
                "python-modules": ["airflow_provider_dataworks.triggers.dataworks"],
            }
        ],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_dataworks.hooks.dataworks.DataWorksHook",
                "hook-name": "Alibaba Cloud DataWorks",
                "connection-type": "dataworks",
                "conn-fields": _conn_fields(),
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            }
        ],
        "extra-links": ["airflow_provider_dataworks.links.dataworks.DataWorksInstanceLink"],
        # `airflow dataworks plan` and `check` on Airflow 3.2+ (older versions ignore the key); the modules import
        # nothing heavy
        "cli": ["airflow_provider_dataworks.cli.commands.get_cli_commands"],
    }
