"""The ``dataworks`` connection's fields: names, form labels and choices (data only, no imports).

Airflow's ProvidersManager reads them through ``provider_info`` in every process that lists providers, so this
module stays free of anything else; ``connection.py`` checks a connection against them.
"""

from __future__ import annotations

from typing import Any

AUTH_TYPES = ("access_key", "sts", "ram_role_arn", "oidc_role_arn", "ecs_ram_role", "default_chain")
ENV_TYPES = ("Prod", "Dev")

#: extra -> (form label, what it is); shown in the connection form and named in errors
EXTRA_FIELDS: dict[str, tuple[str, str]] = {
    "region_id": ("Region ID", "Region of the workspace, e.g. cn-hangzhou"),
    "endpoint": (
        "Endpoint",
        "OpenAPI endpoint: host, host:port or http(s)://host:port (default dataworks.<region>.aliyuncs.com)",
    ),
    "project_id": ("Workspace ID", "Workspace (project) id; saves one GetTask call per run"),
    "timezone": ("Scheduling time zone", "IANA zone of the workspace's schedules; default: the region's zone"),
    "env_type": ("Environment", "Prod (default) or Dev"),
    "auth_type": (
        "Auth type",
        "access_key (default), sts, ram_role_arn, oidc_role_arn, ecs_ram_role or default_chain",
    ),
    "security_token": ("STS security token", "STS security token (auth_type sts)"),
    "role_arn": ("RAM role ARN", "RAM role ARN (ram_role_arn, oidc_role_arn)"),
    "role_session_name": ("Role session name", "Role session name (ram_role_arn, oidc_role_arn)"),
    "oidc_provider_arn": ("OIDC provider ARN", "OIDC provider ARN (oidc_role_arn)"),
    "oidc_token_file": ("OIDC token file", "OIDC token file path (oidc_role_arn)"),
    "sts_endpoint": (
        "STS endpoint",
        "STS endpoint for ram_role_arn/oidc_role_arn, e.g. sts-vpc.cn-shanghai.aliyuncs.com (default: the SDK's, "
        "sts.aliyuncs.com or ALIBABA_CLOUD_STS_REGION's)",
    ),
    "ecs_role_name": ("ECS RAM role name", "ECS RAM role name (ecs_ram_role; optional)"),
    "connect_timeout_ms": ("Connect timeout (ms)", "Connect timeout in milliseconds (default 5000)"),
    "read_timeout_ms": ("Read timeout (ms)", "Read timeout in milliseconds (default 10000)"),
    "retry_limit": ("Retry limit", "Attempts per API call on throttling, 5xx and network errors (default 5)"),
    "qps": (
        "Client QPS limit",
        "Most calls per second of this connection in one process, reads and writes each (default 2); halved while "
        "DataWorks throttles, then back",
    ),
    "throttling_budget_s": (
        "Throttling budget (s)",
        "Seconds one call keeps retrying while DataWorks throttles it (429 Throttling.*; default 300)",
    ),
    "read_qps": (
        "Account read QPS",
        "Get/List calls per second of the account in this region, shared by every process (default 50, Enterprise); "
        "the backfill plan's time",
    ),
    "write_qps": (
        "Account write QPS",
        "Trigger/Stop/Rerun calls per second of the account in this region (default 20, Enterprise); the plan's time",
    ),
    "daily_quota": (
        "Daily call quota",
        "Calls a day of this account and region; default none (Enterprise has no daily cap; Basic: 100). The "
        "backfill plan counts quota days against it",
    ),
    "daily_quota_reset": (
        "Daily quota reset",
        "When the quota day begins, 'HH:MM[:SS] Zone' (default 00:00 Asia/Shanghai); a task that meets the quota "
        "waits until then",
    ),
}
SECRET_EXTRAS = ("security_token",)
#: The connection form's behaviour (provider-info spelling; the hook's 2.x method uses underscores).
UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port", "host"],
    "relabeling": {"login": "AccessKey ID", "password": "AccessKey Secret"},
    "placeholders": {
        "login": "LTAI5t...",
        "region_id": "cn-hangzhou",
        "endpoint": "dataworks.cn-hangzhou.aliyuncs.com",
        "project_id": "12345",
        "timezone": "Asia/Shanghai",
        "env_type": "Prod",
        "auth_type": "access_key",
        "daily_quota": "none (Enterprise)",
        "read_qps": "50",
        "write_qps": "20",
        "daily_quota_reset": "00:00 Asia/Shanghai",
    },
}
