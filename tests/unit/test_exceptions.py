"""Whether a task's retries are spent (exceptions.py): errors a retry cannot mend fail the task without retry.

The same through dag.test() (``failed`` rather than ``up_for_retry``) are in tests/integration/test_instance_types.py,
test_dags.py and tests/reliability/test_bad_input.py.
"""

from __future__ import annotations

import pytest

from airflow_provider_dataworks.exceptions import (
    DataWorksApiError,
    DataWorksConfigError,
    InstanceFailedError,
    InstanceNotFoundError,
    InstanceNotGeneratedError,
    InstanceNotReleasableError,
    UnknownApiValueError,
    advice_for,
    fail_without_retry_on_config_error,
    fail_without_retry_on_refusal,
)


def fail_exception() -> type[BaseException]:
    from airflow.providers.common.compat.sdk import AirflowFailException

    return AirflowFailException


@pytest.mark.parametrize(
    ("err", "says"),
    [
        (DataWorksConfigError("bad"), "not retried: fix the configuration"),
        (InstanceNotFoundError("no such time"), "not retried: fix the configuration"),
        (InstanceNotReleasableError("paused"), "not retried: a retry would find the same"),
        (UnknownApiValueError("new value"), "not retried: a retry would find the same"),
    ],
)
def test_what_a_retry_cannot_mend_fails_the_task_without_retry(err: Exception, says: str) -> None:
    with pytest.raises(fail_exception()) as raised, fail_without_retry_on_config_error():
        raise err
    assert says in str(raised.value) and raised.value.__cause__ is err


@pytest.mark.parametrize(
    "err",
    [
        InstanceNotGeneratedError("tomorrow's"),
        InstanceFailedError("failed"),
        DataWorksApiError("A", "InternalError", "m", 500),
    ],
)
def test_what_may_pass_keeps_the_tasks_retries(err: Exception) -> None:
    with pytest.raises(type(err)), fail_without_retry_on_config_error():
        raise err


@pytest.mark.parametrize(
    ("err", "retried"),
    [
        (DataWorksApiError("GetTask", "Throttling.Api", "m", 429), True),
        (DataWorksApiError("GetTask", "InternalError", "m", 500), True),
        (DataWorksApiError("GetTask", "NoAnswer", "m"), True),
        (DataWorksApiError("GetTask", "Throttling.Api.Risk", "m", 429), True),  # waits for the quota's reset
        (DataWorksApiError("GetTask", "Forbidden.Access", "m", 403), False),
        (DataWorksApiError("GetTask", "SignatureDoesNotMatch", "m", 400), False),
        (DataWorksApiError("GetTask", "Invalid.Project.NotFound", "m", 404), False),
    ],
)
def test_before_the_release_a_refusal_for_good_fails_without_retry(err: DataWorksApiError, retried: bool) -> None:
    with pytest.raises(DataWorksApiError if retried else fail_exception()) as raised, fail_without_retry_on_refusal():
        raise err
    assert (raised.value is err) is retried


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("Throttling.Api.Risk", "daily call quota"),
        ("Throttling.User", "lower the connection's 'qps' extra"),
        ("Forbidden.Access", "lacks permission"),
        ("InvalidTimeStamp.Expired", "sync it (NTP)"),
        ("SomethingNew", None),
    ],
)
def test_the_advice_follows_the_first_matching_code(code: str, says: str | None) -> None:
    advice = advice_for(code)
    assert (advice is None) if says is None else (advice is not None and says in advice)
