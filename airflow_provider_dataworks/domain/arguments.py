"""Checks of operator and sensor arguments, run at DAG-parse time when a value is not a template.

Cheap to import (the DAG processor loads it for every DAG file): the time and zone modules load only when a
literal ``trigger_time`` or ``timezone`` is given.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow_provider_dataworks.exceptions import DataWorksConfigError

WAIT_FOR = ("instance", "downstream", "workflow")
#: Default cap of a wait's poll interval while nothing changes: this many times its ``poll_interval``.
MAX_POLL_INTERVAL_FACTOR = 4


def default_max_poll_interval(poll_interval: float) -> float:
    """Seconds a wait's interval may grow to when the user sets no ``max_poll_interval``."""
    return MAX_POLL_INTERVAL_FACTOR * float(poll_interval)


def is_templated(value: Any) -> bool:
    """A string Jinja will render at run time: it cannot be checked at parse time."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


_EXAMPLE_IDS = {"dataworks_task_id": 700001, "project_id": 12345, "instance_id": 1000123456789}


def check_id(value: Any, field: str, *, required: bool = True) -> int | str | None:
    """A positive integer id (an int, a digit string, or a template)."""
    if value is None or value == "":
        if required:
            raise DataWorksConfigError(f"{field} is required: the numeric id shown in DataWorks' Operation Center.")
        return None
    if is_templated(value):
        return value
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())):
        raise DataWorksConfigError(
            f"{field}={value!r} is not a number; use the numeric id (e.g. {field}={_EXAMPLE_IDS.get(field, 12345)}) "
            "shown in DataWorks, not a name."
        )
    number = int(value)
    if number <= 0:
        raise DataWorksConfigError(f"{field}={value!r} must be a positive id.")
    return number


def as_id(value: Any, field: str) -> int:
    """A rendered id as int (run time), with the same message as :func:`check_id`."""
    checked = check_id(value, field)
    if isinstance(checked, str):
        raise DataWorksConfigError(f"{field}={value!r} did not render to a number.")
    assert checked is not None
    return checked


def check_env_type(value: Any, field: str = "env_type") -> str | None:
    if value is None or is_templated(value):
        return value
    if value not in ("Prod", "Dev"):
        raise DataWorksConfigError(f"{field}={value!r} must be 'Prod' (production) or 'Dev' (development).")
    return value


def check_wait_for(value: Any) -> str:
    if value not in WAIT_FOR:
        raise DataWorksConfigError(f"wait_for={value!r} must be one of {', '.join(WAIT_FOR)}.")
    return value


def check_control(
    wait_for_completion: bool,
    wait_for: str,
    *,
    cancel_on_kill: bool,
    rerun_failed: bool,
    rerun_use_latest_config: bool = False,
) -> None:
    """``cancel_on_kill`` and ``rerun_failed`` act on what the task waits for: they need a wait, and a repair a
    target beyond the HTTP-trigger instance (a rerun of that one would wait for a new trigger)."""
    if rerun_use_latest_config and not rerun_failed:
        raise DataWorksConfigError(
            "rerun_use_latest_config=True chooses how rerun_failed reruns: set rerun_failed=True too, or drop it."
        )
    for flag, value in (("cancel_on_kill", cancel_on_kill), ("rerun_failed", rerun_failed)):
        if value and not wait_for_completion:
            raise DataWorksConfigError(
                f"{flag}=True needs wait_for_completion=True: a task that does not wait has nothing to act on."
            )
    if rerun_failed and wait_for == "instance":
        raise DataWorksConfigError(
            "rerun_failed=True reruns the failed instances after the HTTP trigger node: use wait_for='downstream' "
            "or 'workflow' (a failed trigger node needs a new trigger; rerun it in DataWorks)."
        )


def check_timezone(value: Any, field: str = "timezone") -> str | None:
    if value is None or is_templated(value):
        return value
    from airflow_provider_dataworks.domain.regions import validate_timezone

    try:
        return validate_timezone(value, field)
    except ValueError as err:
        raise DataWorksConfigError(str(err)) from err


def check_seconds(value: Any, field: str, *, minimum: float = 0.0, allow_none: bool = False) -> float | None:
    """Seconds as float from a number or a timedelta."""
    if value is None and allow_none:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataWorksConfigError(f"{field}={value!r} must be a number of seconds or a timedelta.")
    if value < minimum:
        raise DataWorksConfigError(f"{field}={value!r} must be at least {minimum:g} s.")
    return float(value)


def check_trigger_time(value: Any, zone: str | None = None) -> Any:
    """Check a literal trigger_time at parse time.

    ``zone`` is the operator's ``timezone`` argument; without a literal one the connection's zone is known only
    at run time, so a console-format wall time (``YYYY-MM-DD HH:MM:SS``) is checked then.
    """
    zone = None if zone is None or is_templated(zone) else zone
    if value is None or is_templated(value):
        return value
    from airflow_provider_dataworks.domain.timing import (
        TriggerTimeError,
        is_console_format,
        parse_console_wall,
        parse_trigger_time,
    )

    try:
        if zone is None and is_console_format(value):
            parse_console_wall(value)  # the date now; whether the hour exists in the zone, at run time
        else:
            parse_trigger_time(value, zone)
    except TriggerTimeError as err:
        raise DataWorksConfigError(str(err)) from err
    return value
