"""The ``dataworks`` Airflow connection, parsed and checked (pure: no SDK, no I/O).

login = AccessKey ID, password = AccessKey Secret; the rest lives in the extras (see ``EXTRA_FIELDS``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_dataworks.domain.api_limits import (
    DEFAULT_DAILY_QUOTA,
    ENTERPRISE_READ_QPS,
    ENTERPRISE_WRITE_QPS,
    QuotaReset,
    parse_reset,
)
from airflow_provider_dataworks.domain.regions import default_endpoint, region_timezone, validate_timezone
from airflow_provider_dataworks.exceptions import DataWorksConfigError
from airflow_provider_dataworks.hooks.connection_fields import AUTH_TYPES, ENV_TYPES, EXTRA_FIELDS

#: Seconds one call keeps retrying while DataWorks throttles it (429 ``Throttling.*``, not the daily quota).
DEFAULT_THROTTLING_BUDGET_S = 300.0

_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$")


@dataclass(frozen=True)
class ConnectionSettings:
    """A checked ``dataworks`` connection. Timeouts in milliseconds."""

    conn_id: str
    region_id: str | None
    endpoint: str  # host[:port]
    protocol: str  # "https" | "http"
    timezone: str
    env_type: str
    project_id: int | None
    auth_type: str
    access_key_id: str | None
    access_key_secret: str | None = field(repr=False)
    security_token: str | None = field(repr=False)
    role_arn: str | None = None
    role_session_name: str | None = None
    oidc_provider_arn: str | None = None
    oidc_token_file: str | None = None
    sts_endpoint: str | None = None  # as alibabacloud_credentials wants it: host[:port], or http://host:port
    ecs_role_name: str | None = None
    connect_timeout_ms: int = 5000
    read_timeout_ms: int = 10000
    retry_limit: int = 5
    qps: float = 2.0  # this process's ceiling, reads and writes each (hooks/ratelimit.py)
    throttling_budget_s: float = DEFAULT_THROTTLING_BUDGET_S  # how long one call retries while throttled
    read_qps: float = ENTERPRISE_READ_QPS  # the account's limits in the region, shared by every process
    write_qps: float = ENTERPRISE_WRITE_QPS
    daily_quota: int | None = DEFAULT_DAILY_QUOTA  # calls a day of the account and region; None: no cap
    daily_quota_reset: QuotaReset = field(default_factory=lambda: parse_reset(None))

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never be shown (for the secrets masker)."""
        return tuple(s for s in (self.access_key_secret, self.security_token) if s)


def parse_endpoint(
    value: str, conn_id: str, extra: str = "endpoint", example: str = "dataworks.cn-hangzhou.aliyuncs.com"
) -> tuple[str, str]:
    """``host``, ``host:port`` or ``http(s)://host[:port]`` -> (protocol, host[:port]); errors name ``extra``."""
    text = value.strip()
    protocol = "https"
    match = re.match(r"^(https?)://(.*)$", text, re.IGNORECASE)
    if match:
        protocol, text = match.group(1).lower(), match.group(2)
    text = text.rstrip("/")
    if not _HOST.match(text) or "://" in text:
        raise DataWorksConfigError(
            f"Connection {conn_id!r}: extra {extra!r}={value!r} is not host, host:port or http(s)://host:port "
            f"(no path); e.g. {example} or http://127.0.0.1:8765."
        )
    if ":" in text and not 0 < int(text.rsplit(":", 1)[1]) < 65536:
        raise DataWorksConfigError(f"Connection {conn_id!r}: extra {extra!r}={value!r} has a port out of range.")
    return protocol, text


def _int(extras: Mapping[str, Any], name: str, conn_id: str, default: int | None, minimum: int = 0) -> int | None:
    """Extra ``name`` as a whole number of at least ``minimum``; ``default`` when unset."""
    raw = extras.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw).strip())
    except ValueError as err:
        raise DataWorksConfigError(f"Connection {conn_id!r}: extra {name!r}={raw!r} must be a whole number.") from err
    if value < minimum:
        raise DataWorksConfigError(f"Connection {conn_id!r}: extra {name!r}={raw!r} must be at least {minimum}.")
    return value


def _require(value: str | None, what: str, conn_id: str, auth_type: str) -> None:
    """Refuse an empty ``value`` that ``auth_type`` needs."""
    if not value:
        raise DataWorksConfigError(f"Connection {conn_id!r}: auth_type {auth_type!r} needs {what}.")


def _check_unknown_extras(extras: Mapping[str, Any], conn_id: str) -> None:
    """Refuse an extra that is not in ``EXTRA_FIELDS`` (the first one, alphabetically)."""
    unknown = sorted(set(extras) - set(EXTRA_FIELDS))
    if unknown:
        raise DataWorksConfigError(
            f"Connection {conn_id!r}: unknown extra {unknown[0]!r}; known extras: {', '.join(EXTRA_FIELDS)}."
        )


def _endpoint_and_region(extras: Mapping[str, Any], conn_id: str) -> tuple[str | None, str, str]:
    """(region_id, protocol, host[:port]): the ``endpoint`` extra, else the region's default endpoint."""
    region = (extras.get("region_id") or "").strip() or None
    endpoint_text = (extras.get("endpoint") or "").strip()
    if not region and not endpoint_text:
        raise DataWorksConfigError(
            f"Connection {conn_id!r}: set extra 'region_id' (e.g. cn-hangzhou) or 'endpoint'; neither is set."
        )
    protocol, endpoint = parse_endpoint(endpoint_text, conn_id) if endpoint_text else ("https", "")
    if not endpoint:
        assert region is not None
        endpoint = _region_endpoint(region, conn_id)
    return region, protocol, endpoint


def _region_endpoint(region: str, conn_id: str) -> str:
    """The default endpoint of ``region``, once it looks like a region id."""
    if not re.match(r"^[a-z]{2}(-[a-z0-9]+)+$", region):
        raise DataWorksConfigError(
            f"Connection {conn_id!r}: extra 'region_id'={region!r} is not a region id such as cn-hangzhou."
        )
    return default_endpoint(region)


def _scheduling_zone(extras: Mapping[str, Any], region: str | None, conn_id: str) -> str:
    """The ``timezone`` extra, else the region's zone; checked to be an IANA zone."""
    zone = (extras.get("timezone") or "").strip() or (region_timezone(region) if region else None)
    if zone is None:
        where = f"region {region!r} has no known default" if region else "no region_id is set"
        raise DataWorksConfigError(
            f"Connection {conn_id!r}: {where}, so set extra 'timezone' to the workspace's scheduling zone "
            "(e.g. Asia/Shanghai)."
        )
    try:
        validate_timezone(zone, field=f"connection {conn_id!r} extra 'timezone'")
    except ValueError as err:
        raise DataWorksConfigError(str(err)) from err
    return zone


def _env_type(extras: Mapping[str, Any], conn_id: str) -> str:
    """The ``env_type`` extra: Prod (default) or Dev."""
    env_type = (extras.get("env_type") or "Prod").strip()
    if env_type not in ENV_TYPES:
        raise DataWorksConfigError(f"Connection {conn_id!r}: extra 'env_type'={env_type!r} must be Prod or Dev.")
    return env_type


def _auth_type(extras: Mapping[str, Any], conn_id: str) -> str:
    """The ``auth_type`` extra: one of ``AUTH_TYPES`` (default access_key)."""
    auth_type = (extras.get("auth_type") or "access_key").strip()
    if auth_type not in AUTH_TYPES:
        raise DataWorksConfigError(
            f"Connection {conn_id!r}: extra 'auth_type'={auth_type!r} is unknown; use one of {', '.join(AUTH_TYPES)}."
        )
    return auth_type


def _credentials(
    auth_type: str, login: str | None, password: str | None, extras: Mapping[str, Any], conn_id: str
) -> tuple[str | None, str | None, str | None]:
    """(AccessKey ID, AccessKey Secret, security token), checked to hold what ``auth_type`` needs."""
    login = (login or "").strip() or None
    password = password or None
    token = extras.get("security_token") or None
    if auth_type in ("access_key", "sts", "ram_role_arn"):
        _require(login, "the AccessKey ID in the connection's Login field", conn_id, auth_type)
        _require(password, "the AccessKey Secret in the connection's Password field", conn_id, auth_type)
    if auth_type == "sts":
        _require(token, "extra 'security_token'", conn_id, auth_type)
    if auth_type in ("ram_role_arn", "oidc_role_arn"):
        _require(extras.get("role_arn"), "extra 'role_arn' (acs:ram::<account>:role/<name>)", conn_id, auth_type)
    if auth_type == "oidc_role_arn":
        _require(extras.get("oidc_provider_arn"), "extra 'oidc_provider_arn'", conn_id, auth_type)
        _require(extras.get("oidc_token_file"), "extra 'oidc_token_file'", conn_id, auth_type)
    return login, password, token


def _sts_endpoint(extras: Mapping[str, Any], conn_id: str) -> str | None:
    """The ``sts_endpoint`` extra as alibabacloud_credentials wants it (host[:port] or http://host:port)."""
    sts_text = (extras.get("sts_endpoint") or "").strip()
    if not sts_text:
        return None
    sts_protocol, sts_host = parse_endpoint(sts_text, conn_id, "sts_endpoint", "sts-vpc.cn-hangzhou.aliyuncs.com")
    return f"http://{sts_host}" if sts_protocol == "http" else sts_host  # the SDK's default is https


def _positive(extras: Mapping[str, Any], name: str, conn_id: str, default: float) -> float:
    """Extra ``name``: a number above 0 (``default`` when unset)."""
    raw = extras.get(name)
    try:
        value = float(str(raw).strip()) if raw not in (None, "") else default
    except ValueError as err:
        raise DataWorksConfigError(f"Connection {conn_id!r}: extra {name!r}={raw!r} must be a number.") from err
    if not value > 0 or value == float("inf"):
        raise DataWorksConfigError(f"Connection {conn_id!r}: extra {name!r}={raw!r} must be a number above 0.")
    return value


def _qps(extras: Mapping[str, Any], conn_id: str) -> float:
    """The ``qps`` extra: a number above 0 (default 2)."""
    return _positive(extras, "qps", conn_id, 2.0)


def _quota_reset(extras: Mapping[str, Any], conn_id: str) -> QuotaReset:
    """The ``daily_quota_reset`` extra: ``HH:MM[:SS] Zone`` (default 00:00 Asia/Shanghai)."""
    return parse_reset(extras.get("daily_quota_reset"), f"Connection {conn_id!r}: extra 'daily_quota_reset'")


def parse_connection(
    conn_id: str, login: str | None, password: str | None, extras: Mapping[str, Any]
) -> ConnectionSettings:
    """Check a connection's fields; raise DataWorksConfigError naming the first bad one."""
    _check_unknown_extras(extras, conn_id)
    region, protocol, endpoint = _endpoint_and_region(extras, conn_id)
    zone = _scheduling_zone(extras, region, conn_id)
    env_type = _env_type(extras, conn_id)
    auth_type = _auth_type(extras, conn_id)
    access_key_id, access_key_secret, token = _credentials(auth_type, login, password, extras, conn_id)
    sts_endpoint = _sts_endpoint(extras, conn_id)
    qps = _qps(extras, conn_id)
    return ConnectionSettings(
        conn_id=conn_id,
        region_id=region,
        endpoint=endpoint,
        protocol=protocol,
        timezone=zone,
        env_type=env_type,
        project_id=_int(extras, "project_id", conn_id, None, 1),
        auth_type=auth_type,
        access_key_id=access_key_id,
        access_key_secret=access_key_secret,
        security_token=token,
        role_arn=extras.get("role_arn") or None,
        role_session_name=extras.get("role_session_name") or "airflow-provider-dataworks",
        oidc_provider_arn=extras.get("oidc_provider_arn") or None,
        oidc_token_file=extras.get("oidc_token_file") or None,
        sts_endpoint=sts_endpoint,
        ecs_role_name=extras.get("ecs_role_name") or None,
        connect_timeout_ms=_int(extras, "connect_timeout_ms", conn_id, 5000, 1) or 5000,
        read_timeout_ms=_int(extras, "read_timeout_ms", conn_id, 10000, 1) or 10000,
        retry_limit=_int(extras, "retry_limit", conn_id, 5, 1) or 5,
        qps=qps,
        throttling_budget_s=_positive(extras, "throttling_budget_s", conn_id, DEFAULT_THROTTLING_BUDGET_S),
        read_qps=_positive(extras, "read_qps", conn_id, ENTERPRISE_READ_QPS),
        write_qps=_positive(extras, "write_qps", conn_id, ENTERPRISE_WRITE_QPS),
        daily_quota=_int(extras, "daily_quota", conn_id, DEFAULT_DAILY_QUOTA, 1),
        daily_quota_reset=_quota_reset(extras, conn_id),
    )
