"""Operator and sensor argument checks (domain/arguments.py), as DAG parsing runs them: no Airflow, no server.

The same mistakes end to end (a DAG file parsed, a task run) are in tests/reliability/test_bad_input.py; the
checks of cancel_on_kill / rerun_failed through the operator in tests/integration/test_instance_types.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from airflow_provider_dataworks.domain import arguments as a
from airflow_provider_dataworks.domain.waiting import poll_cap
from airflow_provider_dataworks.exceptions import DataWorksConfigError


@pytest.mark.parametrize(
    ("value", "checked"),
    [(700001, 700001), ("700001", 700001), (" 42 ", 42), ("{{ var.value.node }}", "{{ var.value.node }}")],
)
def test_an_id_is_a_positive_number_or_a_template(value: Any, checked: Any) -> None:
    assert a.check_id(value, "dataworks_task_id") == checked


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (None, "dataworks_task_id is required"),
        ("", "dataworks_task_id is required"),
        ("release_node", "is not a number; use the numeric id (e.g. dataworks_task_id=700001)"),
        (True, "is not a number"),
        (1.0, "is not a number"),
        (0, "must be a positive id"),
        (-5, "must be a positive id"),
    ],
)
def test_a_bad_id_names_the_field_and_the_fix(value: Any, says: str) -> None:
    with pytest.raises(DataWorksConfigError, match="dataworks_task_id") as raised:
        a.check_id(value, "dataworks_task_id")
    assert says in str(raised.value)


def test_an_optional_id_may_be_missing_and_each_field_gets_its_own_example() -> None:
    assert a.check_id(None, "project_id", required=False) is None
    with pytest.raises(DataWorksConfigError, match=r"project_id=12345"):
        a.check_id("ws", "project_id")
    with pytest.raises(DataWorksConfigError, match=r"instance_id=1000123456789"):
        a.check_id("x", "instance_id")


def test_an_id_rendered_at_run_time_must_be_a_number() -> None:
    assert a.as_id("77", "project_id") == 77
    with pytest.raises(DataWorksConfigError, match="did not render to a number"):
        a.as_id("{{ params.p }}", "project_id")


@pytest.mark.parametrize("value", ["{{ x }}", "{% if a %}1{% endif %}"])
def test_templates_are_left_for_run_time(value: str) -> None:
    assert a.is_templated(value)
    assert a.check_env_type(value) == a.check_timezone(value) == a.check_trigger_time(value) == value


def test_plain_strings_and_other_values_are_not_templates() -> None:
    assert not a.is_templated("{ x }") and not a.is_templated(12) and not a.is_templated(None)


def test_environments_and_wait_targets() -> None:
    assert (a.check_env_type("Prod"), a.check_env_type("Dev"), a.check_env_type(None)) == ("Prod", "Dev", None)
    with pytest.raises(DataWorksConfigError, match=r"'Prod' .* or 'Dev'"):
        a.check_env_type("prod")
    assert [a.check_wait_for(w) for w in a.WAIT_FOR] == ["instance", "downstream", "workflow"]
    with pytest.raises(DataWorksConfigError, match="instance, downstream, workflow"):
        a.check_wait_for("downstreams")


@pytest.mark.parametrize(
    ("waits", "wait_for", "cancel", "rerun", "latest", "says"),
    [
        (True, "instance", True, False, False, None),
        (True, "downstream", True, True, True, None),
        (True, "workflow", False, True, False, None),
        (False, "instance", False, False, False, None),
        (False, "instance", True, False, False, "cancel_on_kill=True needs wait_for_completion=True"),
        (False, "workflow", False, True, False, "rerun_failed=True needs wait_for_completion=True"),
        (True, "instance", False, True, False, "use wait_for='downstream' or 'workflow'"),
        (True, "workflow", False, False, True, "rerun_use_latest_config=True chooses how rerun_failed reruns"),
    ],
)
def test_cancel_and_repair_need_a_wait_and_a_repair_a_target_past_the_trigger_node(
    waits: bool, wait_for: str, cancel: bool, rerun: bool, latest: bool, says: str | None
) -> None:
    def check() -> None:
        a.check_control(waits, wait_for, cancel_on_kill=cancel, rerun_failed=rerun, rerun_use_latest_config=latest)

    if says is None:
        check()
        return
    with pytest.raises(DataWorksConfigError) as raised:
        check()
    assert says in str(raised.value)


def test_time_zones_are_iana_names() -> None:
    assert a.check_timezone("Europe/Berlin") == "Europe/Berlin" and a.check_timezone(None) is None
    with pytest.raises(DataWorksConfigError, match=r"timezone='\+08:00' is not an IANA time zone"):
        a.check_timezone("+08:00")


@pytest.mark.parametrize(("value", "seconds"), [(30, 30.0), (2.5, 2.5), (timedelta(minutes=2), 120.0), (0, 0.0)])
def test_seconds_are_a_number_or_a_timedelta(value: Any, seconds: float) -> None:
    assert a.check_seconds(value, "poll_interval") == seconds


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("30", "must be a number of seconds"),
        (True, "must be a number of seconds"),
        (None, "must be a number"),
        (0.5, "must be at least 1 s"),
        (timedelta(seconds=-1), "must be at least 1 s"),
    ],
)
def test_bad_seconds_name_the_field(value: Any, says: str) -> None:
    with pytest.raises(DataWorksConfigError, match="poll_interval") as raised:
        a.check_seconds(value, "poll_interval", minimum=1)
    assert says in str(raised.value)
    assert a.check_seconds(None, "timeout", allow_none=True) is None


def test_a_literal_trigger_time_is_checked_when_its_zone_is_known() -> None:
    assert a.check_trigger_time("2026-03-29 02:30:00") == "2026-03-29 02:30:00"  # zone known only at run time
    assert a.check_trigger_time("2026-03-29 02:30:00", "{{ params.tz }}") == "2026-03-29 02:30:00"
    with pytest.raises(DataWorksConfigError, match="does not exist in Europe/Berlin"):
        a.check_trigger_time("2026-03-29 02:30:00", "Europe/Berlin")
    with pytest.raises(DataWorksConfigError, match="not a real date"):
        a.check_trigger_time("2026-02-30 00:30:00")
    with pytest.raises(DataWorksConfigError, match="epoch seconds"):
        a.check_trigger_time(1_795_537_800)


def test_the_default_poll_cap_is_the_waits_own() -> None:
    """The argument checks and the wait agree on the cap a wait without max_poll_interval gets."""
    for poll in (1, 15, 60.0):
        assert a.default_max_poll_interval(poll) == poll_cap(poll, None)
