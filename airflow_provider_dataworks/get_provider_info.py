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
    """The connection form's extra fields as JSON schema, from ``hooks/connection_fields.py``."""
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


INTEGRATION = "Alibaba Cloud DataWorks"


def _modules(*modules: str) -> list[dict[str, Any]]:
    """One ``operators`` / ``sensors`` / ``hooks`` / ``triggers`` entry: ``modules`` of the integration."""
    return [{"integration-name": INTEGRATION, "python-modules": list(modules)}]


def _connection_types() -> list[dict[str, Any]]:
    """The ``dataworks`` connection type: its hook, form fields and field behaviour."""
    return [
        {
            "hook-class-name": "airflow_provider_dataworks.hooks.dataworks.DataWorksHook",
            "hook-name": INTEGRATION,
            "connection-type": "dataworks",
            "conn-fields": _conn_fields(),
            "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
        }
    ]


def get_provider_info() -> dict[str, Any]:
    """The provider's metadata, read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``)."""
    return {
        "package-name": "airflow-provider-dataworks",
        "name": INTEGRATION,
        "description": "Trigger DataWorks HTTP trigger node instances and wait for what they release.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://www.alibabacloud.com/help/en/dataworks/",
                "tags": ["alibaba"],
            }
        ],
        "operators": _modules("airflow_provider_dataworks.operators.dataworks"),
        "sensors": _modules("airflow_provider_dataworks.sensors.dataworks"),
        "hooks": _modules("airflow_provider_dataworks.hooks.dataworks"),
        "triggers": _modules(
            "airflow_provider_dataworks.triggers.dataworks", "airflow_provider_dataworks.triggers.asset_watcher"
        ),
        "connection-types": _connection_types(),
        "extra-links": ["airflow_provider_dataworks.links.dataworks.DataWorksInstanceLink"],
        # `airflow dataworks plan` and `check` on Airflow 3.2+ (older versions ignore the key); the module imports
        # nothing heavy
        "cli": ["airflow_provider_dataworks.cli.commands.get_cli_commands"],
    }
