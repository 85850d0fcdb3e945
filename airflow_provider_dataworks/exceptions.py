"""Errors the provider raises. Each message says what went wrong and what to do; none carries a secret."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class DataWorksError(Exception):
    """Base of every error of this provider."""


class DataWorksConfigError(DataWorksError, ValueError):
    """A bad or incomplete connection or operator argument; the message names the field and the fix."""


class DataWorksApiError(DataWorksError):
    """DataWorks answered with an error, or could not be reached after the retries.

    :param code: the API's error ``Code`` (e.g. ``Throttling.Api``) or the SDK's exception name.
    :param http_status: the HTTP status, None when no answer came.
    :param request_id: the ``RequestId`` to quote to Alibaba Cloud support.
    """

    def __init__(
        self, action: str, code: str, message: str, http_status: int | None = None, request_id: str | None = None
    ) -> None:
        self.action = action
        self.code = code
        self.api_message = message
        self.http_status = http_status
        self.request_id = request_id
        status = f"HTTP {http_status} " if http_status else ""
        rid = f" (RequestId {request_id})" if request_id else ""
        super().__init__(f"DataWorks {action} failed: {status}{code}: {message}{rid}")


class InstanceNotGeneratedError(DataWorksError):
    """The day's instances do not exist yet: DataWorks generates them the evening before (T+1). Retryable."""


class InstanceNotFoundError(DataWorksError):
    """The day has instances, but none is scheduled at the requested TriggerTime."""


class InstanceFailedError(DataWorksError):
    """What the operator or sensor waited for ended in Failure (or a paused instance)."""


class WaitTimeoutError(DataWorksError):
    """The wait ran out of time; DataWorks keeps running."""


@contextmanager
def fail_without_retry_on_config_error() -> Iterator[None]:
    """Turn a run-time :class:`DataWorksConfigError` into ``AirflowFailException``: retrying cannot mend it.

    (A run without a logical date, a missing connection or a malformed ``trigger_time`` rendered from conf.)
    """
    try:
        yield
    except DataWorksConfigError as err:
        from airflow.providers.common.compat.sdk import AirflowFailException

        raise AirflowFailException(f"{err} (not retried: fix the configuration)") from err
