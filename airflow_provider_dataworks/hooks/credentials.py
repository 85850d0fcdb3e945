"""The SDK client's credentials: which provider a connection gets, and how it stays quiet.

- :func:`build_credential`: the ``alibabacloud_credentials`` client for a connection's ``auth_type``.
- Temporary keys (a role's, the ECS instance's, the default chain's) are handed to Airflow's secrets masker
  the first time they are seen, so nothing that logs them shows them: :class:`MaskingCredential`.
- The SDK's own ``DEBUG=sdk`` dump of request headers (signatures, security tokens) is dropped, and the
  secret parameters of STS queries (OIDC token, security token, signature) are blanked in urllib3's DEBUG
  line: :func:`quiet_sdk_logs`.
- STS' refusal (a role that does not exist, a token it does not accept) becomes a
  :class:`~airflow_provider_dataworks.exceptions.DataWorksApiError` with advice: :func:`credentials_failure`.

Importing this module imports no SDK; the functions that need it import it.
"""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Any

from airflow_provider_dataworks.exceptions import DataWorksApiError, DataWorksConfigError
from airflow_provider_dataworks.hooks.connection import ConnectionSettings
from airflow_provider_dataworks.version_compat import mask_secret

#: Loggers the SDK writes its ``DEBUG=sdk`` request/response dumps to (Tea for STS, darabonba for DataWorks).
SDK_HTTP_LOGGERS = ("alibabacloud-tea", "darabonba-core")
#: alibabacloud_credentials' message when STS answers an error: "... from <provider>, http_code: N, result: {json}".
_STS_FAILURE = re.compile(r"from (?P<provider>\w+), http_code: (?P<status>\d+), result: (?P<body>\{.*\})\s*$", re.S)
_STS_ACTIONS = {"ram_role_arn": "AssumeRole", "oidc_role_arn": "AssumeRoleWithOIDC"}
#: Auth types whose keys the connection does not hold (so Airflow has not masked them).
_TEMPORARY = ("ram_role_arn", "oidc_role_arn", "ecs_ram_role", "default_chain")


def build_credential(settings: ConnectionSettings) -> Any:
    """The credentials client for ``settings.auth_type`` (imports ``alibabacloud_credentials``)."""
    from alibabacloud_credentials.client import Client as CredentialClient
    from alibabacloud_credentials.models import Config as CredentialConfig

    quiet_sdk_logs()
    s = settings
    if s.auth_type == "default_chain":
        return MaskingCredential(CredentialClient())
    cfg: dict[str, Any] = {"type": s.auth_type}
    if s.auth_type in ("access_key", "sts", "ram_role_arn"):
        cfg.update(access_key_id=s.access_key_id, access_key_secret=s.access_key_secret)
    if s.auth_type == "sts" or (s.auth_type == "ram_role_arn" and s.security_token):
        cfg["security_token"] = s.security_token
    if s.auth_type in ("ram_role_arn", "oidc_role_arn"):
        cfg.update(role_arn=s.role_arn, role_session_name=s.role_session_name, sts_endpoint=s.sts_endpoint)
        # The STS call obeys the connection's timeouts (ms), as the DataWorks calls do (the SDK's own read
        # timeout is 5 s: a slow STS answer made it send a second AssumeRole).
        cfg.update(timeout=s.read_timeout_ms, connect_timeout=s.connect_timeout_ms)
    if s.auth_type == "oidc_role_arn":
        _check_readable_token_file(s)
        cfg.update(oidc_provider_arn=s.oidc_provider_arn, oidc_token_file_path=s.oidc_token_file)
    if s.auth_type == "ecs_ram_role" and s.ecs_role_name:
        cfg["role_name"] = s.ecs_role_name
    credential = CredentialClient(CredentialConfig(**cfg))
    return MaskingCredential(credential) if s.auth_type in _TEMPORARY else credential


class MaskingCredential:
    """A credentials client whose temporary keys are masked (secret and token) as soon as they are fetched.

    Delegates everything to the wrapped ``alibabacloud_credentials`` client; each new key is masked once.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._masked: set[str] = set()

    def _mask(self, model: Any) -> Any:
        for value in (getattr(model, "access_key_secret", None), getattr(model, "security_token", None)):
            if value and value not in self._masked:
                mask_secret(value)
                self._masked.add(value)
        return model

    def get_credential(self) -> Any:
        return self._mask(self._inner.get_credential())

    async def get_credential_async(self) -> Any:
        return self._mask(await self._inner.get_credential_async())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _NoHttpDumps(logging.Filter):
    """Drops the SDK's ``DEBUG=sdk`` request/response dumps: they list every header, tokens included."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).lstrip().startswith(("> ", "< "))


class _RedactedQuery(logging.Filter):
    """Blanks the secret query parameters of STS requests in urllib3's DEBUG line for each request."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if _SECRET_QUERY.search(text):
            record.msg, record.args = _SECRET_QUERY.sub(r"\1=<redacted>", text), None
        return True


_SECRET_QUERY = re.compile(r"\b(OIDCToken|SecurityToken|Signature)=[^&\s\"]*")
_FILTERS = {name: _NoHttpDumps() for name in SDK_HTTP_LOGGERS} | {"urllib3.connectionpool": _RedactedQuery()}


def quiet_sdk_logs() -> None:
    """Install the filters (idempotent): STS requests go through urllib3, which logs each URL at DEBUG."""
    for name, log_filter in _FILTERS.items():
        logger = logging.getLogger(name)
        if log_filter not in logger.filters:
            logger.addFilter(log_filter)


def credentials_failure(inner: BaseException | None, conn_id: str | None = None) -> DataWorksApiError | None:
    """The credentials provider's failure (STS's error answer) as our error naming connection ``conn_id``, or
    None if ``inner`` is not one.

    Only STS' Code, Message and RequestId are kept: the answer body is never quoted whole.
    """
    if inner is None or type(inner).__name__ != "CredentialException":
        return None
    text = str(getattr(inner, "message", "") or inner)
    match = _STS_FAILURE.search(text)
    if match is None:  # not an STS answer (e.g. one without credentials): say which provider, not the body
        provider = re.search(r"from (\w+)", text)
        kind = provider.group(1) if provider else "the credentials provider"
        return DataWorksApiError(
            "credentials", "CredentialError", f"{kind} handed out no usable credentials", conn_id=conn_id
        )
    try:
        body = json.loads(match.group("body"))
    except ValueError:
        body = {}
    return DataWorksApiError(
        _STS_ACTIONS.get(match.group("provider"), match.group("provider")),
        str(body.get("Code") or "CredentialError"),
        str(body.get("Message") or "STS answered an error"),
        int(match.group("status")),
        body.get("RequestId"),
        service="STS",
        conn_id=conn_id,
    )


def _check_readable_token_file(settings: ConnectionSettings) -> None:
    path = settings.oidc_token_file or ""
    if not os.access(path, os.R_OK):
        raise DataWorksConfigError(
            f"Connection {settings.conn_id!r}: extra 'oidc_token_file'={path!r} cannot be read by the worker: "
            "point it at the OIDC token file the platform mounts (on ACK with RRSA, ALIBABA_CLOUD_OIDC_TOKEN_FILE)."
        )
