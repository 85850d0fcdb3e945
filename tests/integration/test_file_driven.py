"""The file-driven example (issue 17, item 3): a CSV file's rows release their instances, one mapped task each.

dag.test() runs ``example_dags/example_dataworks_file_driven.py`` against the emulator (workspace 1001, node
700001 at 00:30 Asia/Shanghai, clock at 2026-11-25 00:31) with ``csv_path`` pointed at files written here.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dataworks.emulator import DataWorksEmulator
from tests.conftest import RELEASE, SHANGHAI_0030, T, dag_source, run_dag

pytestmark = pytest.mark.usefixtures("airflow_db", "dataworks_conn")
EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "example_dataworks_file_driven.py"
DAG_ID = "example_dataworks_file_driven"
DAY = 24 * 3600 * 1000
T23, T24, T25 = T - 2 * DAY, T - DAY, T  # 2026-11-23/24/25 00:30 +08:00, the example CSV's three rows


def run_file_driven(csv: Path) -> Any:
    return run_dag(EXAMPLE.read_text(), DAG_ID, None, run_conf={"csv_path": str(csv)})


def mapped_states(dag_run: Any) -> tuple[str, list[str]]:
    """(state of the reading task, states of the mapped ``release`` tasks by map index)."""
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = dag_run.get_task_instances(session=session)
    read = next(str(ti.state) for ti in tis if ti.task_id == "trigger_times_from_file")
    releases = sorted((ti.map_index, str(ti.state)) for ti in tis if ti.task_id == "release")
    return read, [state for _, state in releases]


def triggered(emu: DataWorksEmulator) -> list[int]:
    return sorted(int(c.params["TriggerTime"]) for c in emu.calls_of("TriggerSchedulerTaskInstance"))


def write_csv(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "dates.csv"
    path.write_text("\n".join(("trigger_time,note", *rows)) + "\n")
    return path


@pytest.fixture
def days(emulator: DataWorksEmulator) -> DataWorksEmulator:
    """The emulator with the 00:30 instances of 2026-11-23 to 25 generated and waiting for their trigger."""
    for moment in (SHANGHAI_0030 - timedelta(days=2), SHANGHAI_0030 - timedelta(days=1), SHANGHAI_0030):
        assert emulator.instance_of(RELEASE, moment).releases == 0
    return emulator


def test_each_row_releases_its_instance_once_at_two_calls_per_mapped_task(
    days: DataWorksEmulator, tmp_path: Path
) -> None:
    # The single-task figure first: one DataWorksTriggerOperator with the same trigger_time.
    body = "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001, trigger_time='2026-11-24 00:30:00')"
    run_dag(dag_source("file_driven_single", body), "file_driven_single", None)
    single = len(days.calls)
    assert [c.action for c in days.calls] == ["ListTaskInstances", "TriggerSchedulerTaskInstance"]
    days.clear_calls()

    # The example's own file has 3 rows; a duplicate (ISO form of the 25th) and the 23rd written twice.
    csv = write_csv(
        tmp_path,
        "2026-11-23 00:30:00,first",
        "2026-11-25 00:30:00,",
        "2026-11-23 00:30:00,the 23rd again",
        "2026-11-25T00:30:00+08:00,the 25th again, ISO",
    )
    dr = run_file_driven(csv)
    assert mapped_states(dr) == ("success", ["success", "success"])
    assert triggered(days) == [T23, T25]  # one accepted trigger per TriggerTime, duplicates not sent
    assert [days.instance_of(RELEASE, t).releases for t in (T23, T25)] == [1, 1]
    per_mapped_task = len(days.calls) / 2
    assert per_mapped_task == single == 2, [c.action for c in days.calls]
    assert sorted(c.action for c in days.calls) == ["ListTaskInstances"] * 2 + ["TriggerSchedulerTaskInstance"] * 2

    # Re-running the DAG on the same file triggers nothing again: 1 ListTaskInstances per row.
    days.clear_calls()
    dr = run_file_driven(csv)
    assert mapped_states(dr) == ("success", ["success", "success"])
    assert [c.action for c in days.calls] == ["ListTaskInstances", "ListTaskInstances"]
    assert [days.instance_of(RELEASE, t).releases for t in (T23, T25)] == [1, 1]


def test_the_example_file_releases_its_three_rows(days: DataWorksEmulator) -> None:
    dr = run_file_driven(EXAMPLE.with_suffix(".csv"))
    assert mapped_states(dr) == ("success", ["success"] * 3)
    assert triggered(days) == [T23, T24, T25]


def test_a_row_naming_no_instance_fails_its_mapped_task_only(
    days: DataWorksEmulator, tmp_path: Path, capfd: pytest.CaptureFixture
) -> None:
    csv = write_csv(
        tmp_path, "2026-11-24 00:30:00,", "2026-11-24 01:00:00,no instance at 01:00", "2026-11-25 00:30:00,"
    )
    dr = run_file_driven(csv)
    assert mapped_states(dr) == ("success", ["success", "failed", "success"])
    assert triggered(days) == [T24, T25]
    out = capfd.readouterr().out
    assert "Task 700001 has no instance scheduled at 2026-11-24 01:00:00 +08:00" in out
    assert "2026-11-24 00:30:00 +08:00 (id " in out  # it lists the day's instances
    assert len(days.calls_of("ListTaskInstances")) == 3  # the failing row: no retry, one list call


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (("2026-11-24 00:30:00,", "2026-11-31 00:30:00,bad day"), "dates.csv, line 3, column 'trigger_time'"),
        (("2026-11-24 00:30:00,", ",empty"), "dates.csv, line 3, column 'trigger_time' is empty"),
    ],
)
def test_a_malformed_row_fails_the_reading_task_naming_file_line_and_column(
    days: DataWorksEmulator, tmp_path: Path, capfd: pytest.CaptureFixture, rows: tuple[str, ...], message: str
) -> None:
    dr = run_file_driven(write_csv(tmp_path, *rows))
    read, releases = mapped_states(dr)
    assert read == "failed" and releases in ([], ["upstream_failed"])
    assert f"{tmp_path}/{message}" in capfd.readouterr().out
    assert days.calls == []  # nothing is released from a file that does not read


def test_a_file_without_the_column_names_the_header(
    days: DataWorksEmulator, tmp_path: Path, capfd: pytest.CaptureFixture
) -> None:
    (tmp_path / "dates.csv").write_text("date,note\n2026-11-24,x\n")
    dr = run_file_driven(tmp_path / "dates.csv")
    assert mapped_states(dr)[0] == "failed"
    assert f"{tmp_path}/dates.csv, line 1: the header has no 'trigger_time' column" in capfd.readouterr().out
    assert days.calls == []
