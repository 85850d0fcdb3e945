"""Load on one account (issue 23), on the production shape (PostgreSQL, Redis, CeleryExecutor, 2 workers, 2
triggerers): a backfill of 40 trigger-and-wait runs, 32 at once, each wait deferred, against an emulator that plays
an account limit of 5 read / 2 write QPS, far below what 32 tasks ask (each process alone may send 2 a second of
each). DataWorks refuses the excess with 429 Throttling.User; the hook retries throttling within its time budget and
halves its process's rate on each refusal, so no try fails: every instance is released exactly once, every run
succeeds on its first try. Outcomes only, not times (``devtools/load.py``; the 300-run figures are
``benchmarks/load.py``'s, ``pytest -s`` prints these).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_0_PLUS
from devtools.airflow_stack import AirflowStack
from devtools.load import load_stack, run_backfill

pytestmark = pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="the stack is Airflow 3's (api-server, dag-processor)")

RUNS, MAX_ACTIVE = 40, 32
READ_QPS, WRITE_QPS = 5, 2


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowStack]:
    with load_stack(READ_QPS, WRITE_QPS, tmp_path_factory.mktemp("load-dags")) as stack:
        yield stack


def test_40_runs_32_at_once_on_5_read_2_write_qps_each_instance_released_once_no_try_failed(
    stack: AirflowStack,
) -> None:
    result = run_backfill(stack, RUNS, MAX_ACTIVE, READ_QPS, WRITE_QPS)
    print(f"\n{RUNS} runs, {MAX_ACTIVE} at once, on {READ_QPS} read / {WRITE_QPS} write QPS:\n{result.table()}")
    assert result.run_states == {"success": RUNS}
    assert result.task_states == {"success": RUNS}
    assert result.tries == {1: RUNS}  # no try failed, by throttling or anything else
    assert result.releases == {1: RUNS} and result.accepted_triggers == {1: RUNS}  # each instance released once
    assert result.accepted["write"] == RUNS  # one accepted trigger a run, nothing else written
    assert result.refused["write"] > 0  # the account's write QPS was passed: the shape is what it claims
    assert not result.other_errors
    # the runs' tasks active together, deferred ones too (a few may end before the last of 32 starts)
    assert result.most_tasks_active >= MAX_ACTIVE - 4, result.samples
    assert result.peak_accepted["write"] <= WRITE_QPS and result.peak_accepted["read"] <= READ_QPS
