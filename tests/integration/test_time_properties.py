"""Time mapping through the operator: the TriggerTime on the wire is the instance its run stands for.

- ``test_the_operator_triggers_the_instance_its_run_stands_for``: random cases (zones, DST days, daily / hourly /
  every-N-minute schedules, both cron timetables) through ``DataWorksTriggerOperator.execute()``, the official SDK
  and the emulator: the TriggerTime on the wire is the generated instance's scheduled time, and that instance
  (only) is released.

The cases, Airflow's runs of a case and the instances DataWorks generates for it come from the pure property test,
tests/unit/domain/test_time_properties.py (``test_every_run_names_an_instance_and_every_instance_a_run``: every
run names an instance and every instance a run, no server).

Hypothesis runs derandomized (the same examples on every CI run); ``HYPOTHESIS_SEED=<n>`` explores others.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_dataworks.domain.timing import run_moment, to_epoch_ms
from airflow_provider_dataworks.emulator import DataWorksEmulator
from tests.conftest import connection_json
from tests.unit.domain.test_time_properties import (
    HYPOTHESIS_SEED,
    REGION_OF_ZONE,
    Case,
    airflow_runs,
    cases,
    explore,
    fmt,
    instance_times,
    trigger_time_of,
)

# ---------------------------------------------------------------------------------- through the operator
RELEASE = 700001


@pytest.fixture(scope="module")
def emulator() -> Iterator[DataWorksEmulator]:
    with DataWorksEmulator() as emu:
        yield emu


class _TI:
    """The task instance's XCom, in memory (one try, no retries here)."""

    stats_tags: dict[str, str] = {}

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value

    def xcom_pull(self, task_ids: Any = None, key: str | None = None) -> Any:
        return self.xcom.get(key)


class _StateStore(dict):  # type: ignore[type-arg]
    def set(self, key: str, value: Any) -> None:
        self[key] = value


@settings(
    max_examples=150, deadline=None, derandomize=HYPOTHESIS_SEED is None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)  # fmt: skip
@explore
@given(case=cases(), pick=st.randoms(use_true_random=False))
def test_the_operator_triggers_the_instance_its_run_stands_for(
    case: Case, pick: Any, emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator
    from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_3_PLUS

    runs = airflow_runs(case)
    if not runs:  # a daily time that does not come on this day in Airflow's view; the pure test covers it
        return
    context = dict(pick.choice(runs))
    moment, _ = run_moment(context)
    region = REGION_OF_ZONE[case.zone]
    emulator.reset()
    ws = emulator.add_workspace(1001, region)
    emulator.add_task(ws, RELEASE, "release", http_trigger=True, cron=case.cron)
    emulator.clock.freeze(moment + timedelta(minutes=1))
    monkeypatch.setenv(
        "AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emulator, region_id=region, project_id=1001, qps=1000)
    )
    context["ti"] = _TI()
    if AIRFLOW_V_3_3_PLUS:
        context["task_state_store"] = _StateStore()

    DataWorksTriggerOperator(task_id="release", dataworks_task_id=RELEASE).execute(context)

    expected = trigger_time_of(context, case.zone)
    instances = instance_times(case)
    assert expected in instances, f"{case}: {fmt(expected, case.zone)} is not an instance DataWorks generated"
    calls = emulator.calls_of("TriggerSchedulerTaskInstance")
    if instances[expected]:  # a dry run: DataWorks releases it by itself, the operator does not trigger
        assert calls == [], f"{case}: triggered a dry-run instance"
        return
    assert [int(c.params["TriggerTime"]) for c in calls] == [expected], f"{case}: sent {calls}"
    # The first pass of a repeated hour triggers the instance of the second pass, an hour ahead: DataWorks
    # keeps the trigger until then.
    emulator.clock.advance(timedelta(hours=2))
    released = [i for i in emulator.instances_of(RELEASE) if i.releases]
    assert [to_epoch_ms(i.trigger_time) for i in released] == [expected], f"{case}: released {released}"
