"""The reduced benchmark CI runs: API-call counts only (never times), from the emulator's call log."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_0_PLUS

ROOT = Path(__file__).resolve().parents[2]


def bench(*args: str) -> object:
    out = subprocess.run(
        [sys.executable, "-m", *args, "--json"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=600
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="dag.test(logical_date=...) of Airflow 3")
def test_calls_per_dag_run_meet_the_budget() -> None:
    rows = {path: calls for path, calls, _goal, _what in bench("benchmarks.api_calls")}  # type: ignore[attr-defined]
    trigger_only, backoff, fixed, naive = rows.values()
    assert trigger_only == 2
    assert backoff <= 2 + 11 and fixed <= 2 + 11
    assert naive >= 5 * backoff


def test_one_hundred_shared_waits_cost_one_call_per_cycle() -> None:
    results = bench("benchmarks.triggerer_density", "--sizes", "100", "--poll", "2", "--cycles", "2")
    shared, baseline = results  # type: ignore[misc]
    assert shared["shared"] and shared["calls_per_cycle"] == 1 and shared["actions"] == ["ListTaskInstances"]
    # Unshared, each call reads one id: calls / (ids read / 100) is 100 up to float rounding (a busy machine's
    # partial cycle gives 99.99999999999999).
    assert not baseline["shared"] and baseline["calls_per_cycle"] == pytest.approx(100)
