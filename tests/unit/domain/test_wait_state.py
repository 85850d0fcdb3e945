"""The wait's state (domain/wait_state.py): its JSON round trip, readers older and newer, and what it derives.

The same state through the trigger's serialize(), the triggerer's storage and its event is in
tests/integration/test_dags.py (test_the_wait_state_travels_whole_through_the_trigger_and_its_event).
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_dataworks.domain.timing import bizdate_ms
from airflow_provider_dataworks.domain.wait_state import WaitState

T_0030 = 1_764_001_800_000  # 2025-11-25 00:30 Asia/Shanghai


def every_field_set() -> WaitState:
    """No field at its default: a field that does not travel shows as a difference."""
    values: dict[str, Any] = {}
    for n, f in enumerate(fields(WaitState)):
        kind = str(f.type).split(" | ")[0]
        values[f.name] = {"int": 1000 + n, "float": 0.5 + n, "bool": True, "str": f"{f.name} {n}"}[kind]
    return WaitState(**values)


def test_every_field_survives_json() -> None:
    state = every_field_set()
    defaults = WaitState(instance_id=1)
    assert all(getattr(state, f.name) != getattr(defaults, f.name) for f in fields(WaitState))
    assert WaitState.from_json(json.loads(json.dumps(state.to_json()))) == state


def test_keys_of_a_newer_writer_are_ignored_and_missing_ones_take_their_defaults() -> None:
    newer = {**WaitState(instance_id=5, wait_for="workflow").to_json(), "added_in_2030": [1, 2]}
    assert WaitState.from_json(newer) == WaitState(instance_id=5, wait_for="workflow")
    older = {"instance_id": 5, "wait_for": "downstream", "released": True}
    state = WaitState.from_json(older)
    assert (state.released, state.resent, state.poll_interval, state.max_poll_interval) == (True, False, 60.0, None)


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(
    st.builds(
        WaitState,
        instance_id=st.integers(1, 10**13),
        wait_for=st.sampled_from(["instance", "downstream", "workflow"]),
        trigger_time_ms=st.none() | st.integers(0, 4 * 10**12),
        workflow_instance_id=st.none() | st.integers(1, 10**13),
        released=st.booleans(),
        trigger_sent_at_ms=st.none() | st.integers(0, 4 * 10**12),
        resent=st.booleans(),
        poll_interval=st.floats(0.1, 86_400),
        max_poll_interval=st.none() | st.floats(0.1, 86_400),
        deadline=st.none() | st.floats(0, 4e9),
        zone=st.none() | st.sampled_from(["Asia/Shanghai", "Europe/Berlin"]),
    )
)
def test_any_state_round_trips_through_json(state: WaitState) -> None:
    assert WaitState.from_json(json.loads(json.dumps(state.to_json()))) == state


def test_only_what_this_run_released_is_its_own_to_stop() -> None:
    found_released = WaitState(instance_id=5)
    assert not found_released.released_by_run
    assert replace(found_released, trigger_sent_at_ms=0).released_by_run  # sent at the epoch is still sent
    assert replace(found_released, repaired=True).released_by_run


def test_the_business_date_is_filled_in_from_the_trigger_time_and_zone_only() -> None:
    state = WaitState(instance_id=5, trigger_time_ms=T_0030, zone="Asia/Shanghai")
    assert state.with_bizdate().bizdate_ms == bizdate_ms(T_0030, "Asia/Shanghai") == 1_763_913_600_000
    kept = replace(state, bizdate_ms=42)
    assert kept.with_bizdate() is kept
    assert WaitState(instance_id=5, trigger_time_ms=T_0030).with_bizdate().bizdate_ms is None
    assert WaitState(instance_id=5, zone="Asia/Shanghai").with_bizdate().bizdate_ms is None
