"""Errors the provider raises. Each message says what went wrong and what to do; none carries a secret."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class DataWorksError(Exception):
    """Base of every error of this provider."""


class DataWorksConfigError(DataWorksError, ValueError):
    """A bad or incomplete connection or operator argument; the message names the field and the fix."""


#: Codes whose cause is passing (a later call can work): throttling other than the daily quota, an internal
#: error, no answer, a nonce replayed by a reconnect (a new attempt signs anew).
_TRANSIENT_CODES = ("Throttling", "InternalError", "ServiceUnavailable", "NoAnswer", "SignatureNonceUsed")
#: Throttling that does not pass: the account's daily call quota is used up.
DAILY_QUOTA_CODE = "Throttling.Api.Risk"


_NO_PERMISSION = (
    "the connection's AccessKey (Login/Password, or the role it assumes) lacks permission on this workspace: "
    "a workspace of another Alibaba Cloud account needs a connection with that account's AccessKey, or "
    "project_id / dataworks_task_id of a workspace of the key's own account; in the same account, grant the "
    "RAM user or role DataWorks access to the workspace"
)
#: The documentation's page of what each path costs and the account's limits.
API_CALLS_PAGE = "https://airflow-provider-dataworks.github.io/airflow-provider-dataworks/concepts/api-calls/"
#: (code prefix, what to do), first match wins; the codes are DataWorks' documented ones (shared docs §3).
_ADVICE: tuple[tuple[str, str], ...] = (
    (
        DAILY_QUOTA_CODE,
        "the daily call quota of this account and region is used up: operators and sensors wait for its reset "
        "(connection extra 'daily_quota_reset'); raise the quota (DataWorks edition) or spend fewer calls (the "
        f"API-call budget, {API_CALLS_PAGE}; `python -m airflow_provider_dataworks.cli.plan`)",
    ),
    ("Throttling", "DataWorks throttled the calls (QPS): lower the connection's 'qps' extra or run fewer at once"),
    ("SignatureDoesNotMatch", "check the AccessKey Secret (connection Password); it must belong to the AccessKey ID"),
    ("SignatureNonceUsed", "a request was replayed after a dropped connection; it is retried with a new signature"),
    ("IncompleteSignature", "check the AccessKey pair in the connection"),
    ("InvalidAccessKeyId", "check the AccessKey ID (connection Login); it is unknown or disabled"),
    ("InvalidSecurityToken", "the STS token is missing, wrong or expired: refresh extra 'security_token'"),
    ("InvalidTimeStamp", "the worker's clock is off by more than 15 minutes: sync it (NTP)"),
    ("Forbidden", _NO_PERMISSION),
    ("ResourceNotAuthorized", _NO_PERMISSION),
    (
        "Invalid.Project.NotFound",
        "check the workspace id (project_id), and that the connection's region_id (or endpoint) is the "
        "workspace's region: each region has its own endpoint",
    ),
    (
        "Invalid.Task.NotFound",
        "check dataworks_task_id (the node's id in Operation Center), and that the connection's region_id "
        "(or endpoint) is the workspace's region: each region has its own endpoint",
    ),
    ("EntityNotExist.Role", "check extra 'role_arn' (acs:ram::<account>:role/<name>): no such RAM role"),
    (
        "NoPermission",
        "the AccessKey's RAM user may not assume the role: grant it sts:AssumeRole (AliyunSTSAssumeRoleAccess) "
        "and name it in the role's trust policy",
    ),
    ("AuthenticationFail.NoPermission", "check extra 'oidc_provider_arn': no such OIDC provider in RAM"),
    (
        "AuthenticationFail.OIDCToken",
        "the token in extra 'oidc_token_file' was refused (invalid, expired, or another issuer's): check the "
        "file the platform mounts (e.g. ACK RRSA) and the OIDC provider's issuer and audience",
    ),
    ("InvalidApi.NotFound", "the endpoint is not DataWorks' OpenAPI: check the connection's 'endpoint' extra"),
    ("NoAnswer", "DataWorks did not answer in time: check the endpoint, the network and 'read_timeout_ms'"),
    ("InternalError", "DataWorks had an internal error: it is retried; quote the RequestId if it persists"),
)


def advice_for(code: str) -> str | None:
    """What a user should do about error ``code`` (None when there is nothing specific to say)."""
    for prefix, advice in _ADVICE:
        if code.startswith(prefix):
            return advice
    return None


class DataWorksApiError(DataWorksError):
    """DataWorks answered with an error, or could not be reached after the retries.

    :param code: the API's error ``Code`` (e.g. ``Throttling.Api``) or the SDK's exception name.
    :param http_status: the HTTP status, None when no answer came.
    :param request_id: the ``RequestId`` to quote to Alibaba Cloud support.
    :param service: who answered: ``DataWorks``, or ``STS`` when a role's temporary key could not be had.
    :param conn_id: the Airflow connection the call was made with (named in the message: with several
        connections, e.g. one per account, it says which one to fix).
    :param sent_at: when the attempt that failed was sent (epoch seconds, this host's clock): the latest instant
        that surely came before DataWorks' answer (the quota deferral counts its day from it).
    """

    def __init__(
        self,
        action: str,
        code: str,
        message: str,
        http_status: int | None = None,
        request_id: str | None = None,
        *,
        service: str = "DataWorks",
        conn_id: str | None = None,
        sent_at: float | None = None,
    ) -> None:
        self.action = action
        self.conn_id = conn_id
        self.sent_at = sent_at
        self.service = service
        self.code = code
        self.api_message = message
        self.http_status = http_status
        self.request_id = request_id
        status = f"HTTP {http_status} " if http_status else ""
        rid = f" (RequestId {request_id})" if request_id else ""
        advice = advice_for(code)
        todo = f" What to do: {advice}." if advice else ""
        said = f"{message}{rid}"
        said += "" if said.endswith(".") else "."
        via = f" Connection '{conn_id}'." if conn_id else ""
        super().__init__(f"{service} {action} failed: {status}{code}: {said}{via}{todo}")

    @property
    def transient(self) -> bool:
        """The one retry rule: the cause may pass, so a later call can work.

        Throttling (HTTP 429 or a ``Throttling*`` code) other than the daily quota, a 5xx, no answer, or a
        nonce replayed on a dropped connection. Everything else (signature, permission, bad parameter, the
        daily quota) fails at once.
        """
        if self.code == DAILY_QUOTA_CODE:
            return False
        return self.code.startswith(_TRANSIENT_CODES) or (self.http_status or 0) >= 500 or self.http_status == 429

    @property
    def daily_quota(self) -> bool:
        """DataWorks refused the call because the account's daily quota in this region is used up: the call did
        not take effect, and the same call works after the quota resets."""
        return self.code == DAILY_QUOTA_CODE

    @property
    def surely_not_applied(self) -> bool:
        """Transient, and the call was certainly not carried out (throttled); after a 5xx or a lost answer
        it may have been, so a call that must not be repeated blindly is retried only on this."""
        return self.transient and (self.http_status == 429 or self.code.startswith("Throttling"))


class InstanceNotGeneratedError(DataWorksError):
    """The day's instances do not exist yet: DataWorks generates them the evening before (T+1). Retryable."""


class InstanceNotFoundError(DataWorksError):
    """The day has instances, but none is scheduled at the requested TriggerTime.

    ``scheduled``: the day's scheduled instances, (id, TriggerTime in epoch ms); ``offset_hours``: the whole hours
    between the run's time and the nearest of them, when there is such a one (a zone mismatch), else None.
    """

    def __init__(
        self, message: str, *, scheduled: list[tuple[int, int]] | None = None, offset_hours: int | None = None
    ) -> None:
        super().__init__(message)
        self.scheduled = scheduled or []
        self.offset_hours = offset_hours


class InstanceFailedError(DataWorksError):
    """What the operator or sensor waited for ended in Failure (or a paused instance)."""


class InstanceNotReleasableError(DataWorksError):
    """DataWorks will not let the run go on as asked: its instance is paused or a manual run, or a repair's rerun
    is one its node's ``RerunMode`` forbids. A retry would find the same."""


class UnknownApiValueError(DataWorksError):
    """DataWorks answered an enum value (a status, a recurrence) this provider does not know."""


class WaitTimeoutError(DataWorksError):
    """The wait ran out of time; DataWorks keeps running."""


@contextmanager
def fail_without_retry_on_config_error() -> Iterator[None]:
    """Turn a run-time :class:`DataWorksConfigError`, :class:`InstanceNotFoundError`,
    :class:`InstanceNotReleasableError` or :class:`UnknownApiValueError` into ``AirflowFailException``: retrying
    cannot mend them.

    (A run without a logical date, a missing connection, a malformed ``trigger_time`` rendered from conf, a run's
    time that names no instance of the node: the schedule or the zone does not match it; an instance that is paused
    or a manual run; a value DataWorks answered that this provider does not know.)
    """
    try:
        yield
    except (DataWorksConfigError, InstanceNotFoundError) as err:
        raise _fail(f"{err} (not retried: fix the configuration)") from err
    except (InstanceNotReleasableError, UnknownApiValueError) as err:
        raise _fail(f"{err} (not retried: a retry would find the same)") from err


@contextmanager
def fail_without_retry_on_refusal() -> Iterator[None]:
    """Turn a :class:`DataWorksApiError` whose cause does not pass (not :attr:`~DataWorksApiError.transient`:
    credentials, permission, a wrong workspace or region, the daily quota) into ``AirflowFailException``.

    For the calls made before anything is released: a retry would get the same answer. (Once a run has released
    its instance, a retry re-attaches to the wait at the cost of a poll, so errors while waiting keep the task's
    retries.) The daily quota passes through unchanged: the task waits for its reset (``mixins/quota_deferral.py``).
    """
    try:
        yield
    except DataWorksApiError as err:
        if err.transient or err.daily_quota:
            raise
        raise _fail(f"{err} (not retried: a retry would get the same answer)") from err


def _fail(message: str) -> Exception:
    from airflow.providers.common.compat.sdk import AirflowFailException

    return AirflowFailException(message)
