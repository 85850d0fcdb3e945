"""The backfill plan (issue 17, item 4a): a 60-day range against the emulator, through the real command line.

The plan lists each business date once (ListTaskInstances) and never triggers; its rows must be what the
operator then triggers. Workspace 1001, node 700001 at 00:30 Asia/Shanghai, emulator clock 2026-11-25 00:31.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pendulum
import pytest

from airflow_provider_dataworks.cli import plan
from airflow_provider_dataworks.emulator import DataWorksEmulator
from tests.conftest import EXAMPLES, RELEASE, T, connection_json, run_dag, task_states

pytestmark = pytest.mark.usefixtures("airflow_db", "dataworks_conn")
DAY_MS = 24 * 3600 * 1000
DAG_ID = "plan_release"
#: Runs on the node's cron in its zone; CronTriggerTimetable makes logical_date the fire time on 2.11 and 3.x, so
#: dag.test() of a logical date (a manual run) releases the same instance as a backfill run of it.
PLAN_DAG = f"""
import pendulum
from airflow.providers.common.compat.sdk import DAG
from airflow.timetables.trigger import CronTriggerTimetable
from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator
from airflow_provider_dataworks.sensors.dataworks import DataWorksTaskInstanceSensor
with DAG("{DAG_ID}", schedule=CronTriggerTimetable("30 0 * * *", timezone="Asia/Shanghai"),
         start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"), catchup=False):
    release = DataWorksTriggerOperator(task_id="release", dataworks_task_id=700001)
    release >> DataWorksTaskInstanceSensor(task_id="wait", instance_id="{{{{ ti.xcom_pull(task_ids='release') }}}}")
"""
START, END = "2026-09-27T00:30:00+08:00", "2026-11-25T00:30:00+08:00"  # 60 runs; the last is the clock's day
DONE = (T - 5 * DAY_MS, T - 4 * DAY_MS)  # 2026-11-20 and 21 00:30: released before the plan


@pytest.fixture
def plan_env(emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The plan's DAG file; the connection with a daily quota of 50 and qps 20 (the default 2 a second makes a
    60-date plan take 30 s)."""
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emulator, qps=20, daily_quota=50))
    path = tmp_path / f"{DAG_ID}.py"
    path.write_text(PLAN_DAG)
    return path


def cli(*args: str, airflow: bool = False) -> subprocess.CompletedProcess[str]:
    """The plan's command line in a subprocess: ``python -m ...plan`` or ``airflow dataworks plan``."""
    command = ["-m", "airflow", "dataworks", "plan"] if airflow else ["-m", "airflow_provider_dataworks.cli.plan"]
    return subprocess.run(
        [sys.executable, *command, *args], capture_output=True, text=True, timeout=600, env=dict(os.environ)
    )


def has_provider_cli() -> bool:
    from airflow.providers_manager import ProvidersManager

    return hasattr(ProvidersManager(), "cli_command_functions")  # Airflow 3.2+


def calls(emu: DataWorksEmulator) -> list[str]:
    return [c.action for c in emu.calls]


def test_a_60_day_plan_lists_each_date_once_and_matches_what_the_operator_triggers(
    emulator: DataWorksEmulator, plan_env: Path
) -> None:
    for trigger_time in DONE:  # two dates already released: the plan must show them past their trigger
        run_dag(PLAN_DAG, DAG_ID, pendulum.from_timestamp(trigger_time / 1000), mark_success_pattern="wait")
    emulator.clear_calls()

    done = cli("--dag-file", str(plan_env), "--task-id", "release", "--start", START, "--end", END, "--json")
    assert done.returncode == 0, done.stderr
    # the schedule check first (one GetTask of the node), then one ListTaskInstances per business date; no trigger
    assert calls(emulator) == ["GetTask"] + ["ListTaskInstances"] * 60
    assert len({c.params["Bizdate"] for c in emulator.calls_of("ListTaskInstances")}) == 60
    result = json.loads(done.stdout)
    rows = result["rows"]
    assert [r["trigger_time_ms"] for r in rows] == [T - (59 - i) * DAY_MS for i in range(60)]
    assert rows[0]["logical_date"] == "2026-09-26T16:30:00+00:00" and rows[0]["scheduled_time"].startswith(
        "2026-09-27 00:30:00 +08:00")  # fmt: skip
    by_time = {r["trigger_time_ms"]: r for r in rows}
    for row in rows:
        inst = emulator.instance_of(RELEASE, row["trigger_time_ms"])
        assert (row["instance_id"], row["status"]) == (inst.id, inst.status.value)
        if row["trigger_time_ms"] in DONE:
            assert (row["action"], row["calls"]) == ("succeeds: past its trigger", 1)
        else:
            assert (row["status"], row["action"], row["calls"]) == ("WaitTrigger", "triggers", 2)
    assert (result["calls"], result["daily_quota"], result["quota_days"]) == (58 * 2 + 2, 50, 3)
    assert (result["reads"], result["writes"], result["read_qps"], result["write_qps"]) == (60, 58, 50, 20)
    assert (result["read_seconds"], result["write_seconds"]) == (1.2, 2.9)  # Enterprise's QPS, the defaults
    assert result["monthly_free_calls"] == 1_000_000 and result["monthly_free_share"] == pytest.approx(118e-6)
    assert [r["writes"] for r in rows] == [0 if r["trigger_time_ms"] in DONE else 1 for r in rows]
    assert result["plan_list_calls"] == 60 and result["daily_quota_reset"] == "00:00:00 Asia/Shanghai"
    assert (result["plan_get_task_calls"], result["plan_calls"], result["polls"]) == (1, 61, 0)  # the task waits not
    check = result["check"]
    assert (check["ok"], check["get_task_calls"], check["fire_times"]) == (True, 1, 60)
    assert [(c["task_id"], c["status"]) for c in check["checks"]] == [("release", "ok"), ("wait", "not checked")]
    assert (result["start"], result["end"], result["naive_dates_read_in"]) == (START, END, "UTC")
    assert {r["zone"] for r in rows} == {"Asia/Shanghai"} and not any(r["plus_polls"] for r in rows)

    emulator.clear_calls()
    table = cli("--dag-file", str(plan_env), "--task-id", "release", "--start", START, "--end", END)
    assert table.returncode == 0, table.stderr
    out = table.stdout.strip().splitlines()
    assert out[0].startswith("Schedule check (airflow dataworks check)")  # the check's report first
    assert out[1] == (
        "  DAG plan_release, task release: OK: node 700001 runs '00 30 00 * * ?' in Asia/Shanghai; the DAG "
        "'30 0 * * *' in Asia/Shanghai (60 runs checked)"
    )
    assert out[3] == (
        "  1 task(s) checked: 1 OK, 0 mismatch(es); 1 not checked; 0 error(s). This check spent 1 GetTask call(s)."
    )
    assert out[4].startswith(
        f"Logical dates {START} .. {END}: --start/--end without an offset are read as UTC ([core] default_timezone), "
        "as airflow backfill create does."
    )
    assert "Polls" not in table.stdout  # no task waits
    lines = out[5:]
    assert lines[0].split()[:7] == ["logical", "date", "(UTC)", "task", "TriggerTime", "fires", "in"]
    assert lines[0].split()[7] == "Asia/Shanghai" and len(lines) == 63
    assert lines[1].split()[:7] == [
        "2026-09-26T16:30:00+00:00", "release", str(rows[0]["trigger_time_ms"]), "2026-09-27", "00:30:00", "+08:00",
        str(rows[0]["instance_id"]),
    ]  # fmt: skip
    assert lines[-2:] == [
        "60 runs spend 118 calls (60 reads, 58 writes): at the account's 50 read / 20 write QPS (connection "
        "'dataworks_default'; shared by every process on the account in this region) at least 1.2 s of reads and "
        "2.9 s of writes; 0.012% of the 1,000,000 calls a month Enterprise has free. This plan spent 1 GetTask + 60 "
        "ListTaskInstances (reads) of the same account.",
        "Against the connection's daily quota of 50 (resets 00:00:00 Asia/Shanghai): the backfill spans 3 quota "
        "day(s); a task that meets the quota waits for the reset.",
    ]
    assert calls(emulator) == ["GetTask"] + ["ListTaskInstances"] * 60

    # What the operator does with three of the dates (a manual run of the logical date names the same
    # instance here): the TriggerTime it sends, the instance it releases and the calls it spends are the plan's.
    for row in (rows[0], by_time[T - DAY_MS], by_time[DONE[0]]):
        emulator.clear_calls()
        dr = run_dag(PLAN_DAG, DAG_ID, pendulum.parse(row["logical_date"]), mark_success_pattern="wait")
        assert task_states(dr)["release"] == "success"
        assert len(emulator.calls) == row["calls"], calls(emulator)
        sent = [int(c.params["TriggerTime"]) for c in emulator.calls_of("TriggerSchedulerTaskInstance")]
        assert sent == ([row["trigger_time_ms"]] if row["action"] == "triggers" else [])
        assert emulator.instance_of(RELEASE, row["trigger_time_ms"]).releases == 1
        assert dr.get_task_instance("release").xcom_pull(task_ids="release") == row["instance_id"]


def test_the_airflow_cli_command_prints_the_same_plan_where_airflow_has_provider_commands(
    emulator: DataWorksEmulator, plan_env: Path
) -> None:
    args = ("--dag-file", str(plan_env), "--start", "2026-11-23T00:30:00+08:00", "--end", END, "--json")
    done = cli(*args, airflow=True)
    if not has_provider_cli():  # Airflow 2.11, 3.0, 3.1: no provider CLI commands; python -m is the way there
        assert done.returncode != 0 and "dataworks" in done.stderr + done.stdout
        assert emulator.calls == []
        return
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout[done.stdout.index("{") :])["rows"]
    assert [(r["trigger_time_ms"], r["action"]) for r in rows] == [(T - d * DAY_MS, "triggers") for d in (2, 1, 0)]
    assert calls(emulator) == ["GetTask"] + ["ListTaskInstances"] * 3
    assert cli(*args).stdout.strip() == done.stdout[done.stdout.index("{") :].strip()


def test_the_plan_follows_the_timetable_s_own_timing(emulator: DataWorksEmulator) -> None:
    """The example's cron string: on Airflow 2.11 the logical date is one period before the fire time, and a
    backfill run releases the instance of its data interval's end, as the operator does."""
    from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

    dag = plan.load_dag(None, str(EXAMPLES / "example_dataworks_trigger.py"), None)
    logical = pendulum.datetime(2026, 11, 24, 0, 30, tz="Asia/Shanghai")
    result = plan.plan_backfill(dag, logical, logical)
    (row,) = result.rows
    assert row.trigger_time_ms == (T - DAY_MS if AIRFLOW_V_3_0_PLUS else T)
    assert (row.calls, result.list_calls, calls(emulator)) == (2, 1, ["GetTask", "ListTaskInstances"])


def test_days_not_generated_yet_cost_a_call_a_try(emulator: DataWorksEmulator, plan_env: Path) -> None:
    emulator.clock.advance(pendulum.duration(days=1, hours=-1))  # 2026-11-25 23:31: the 26th's instances exist
    result = plan.plan_backfill(
        plan.load_dag(DAG_ID, str(plan_env), None),
        pendulum.datetime(2026, 11, 26, 0, 30, tz="Asia/Shanghai"),
        pendulum.datetime(2026, 11, 27, 0, 30, tz="Asia/Shanghai"),
    )
    first, second = result.rows
    assert (first.status, first.action, first.calls) == ("NotRun", "triggers", 2)  # DataWorks keeps it 24 h
    assert (second.status, second.calls) == ("-", 1)
    assert second.action == "retries: not generated yet (1 call a try)"


def run_main(*argv: str) -> str:
    with pytest.raises(SystemExit) as raised:
        plan.main(argv)
    return str(raised.value)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--dag-id", "nope"), "--dag-id 'nope': no such DAG in "),
        (("--task-id", "wait"), "--task-id 'wait' is a DataWorksTaskInstanceSensor, not a DataWorksTriggerOperator"),
        (("--task-id", "nope"), "--task-id 'nope': DAG 'plan_release' has no such task"),
        (("--end", "2026-09-01"), "--end 2026-09-01T00:00:00+00:00 is before --start 2026-09-27T00:30:00+08:00"),
        (("--end", "2027-11-25"), "days; plan at most 366 at a time (each business date costs one"),
        (("--start", "2026-13-01"), "--start '2026-13-01' is not an ISO-8601 date or time"),
        (("--start", "2026-01-01", "--end", "2026-01-01T12:00:00"), "has no run in that range"),
    ],
)
def test_bad_input_names_the_argument(
    emulator: DataWorksEmulator, plan_env: Path, argv: tuple[str, ...], message: str
) -> None:
    given = dict(zip(argv[::2], argv[1::2], strict=True))
    args = {"--dag-file": str(plan_env), "--start": START, "--end": END, **given}
    assert message in run_main(*(word for pair in args.items() for word in pair))
    assert emulator.calls == []


def test_bad_input_exits_non_zero_from_the_command_line(emulator: DataWorksEmulator, plan_env: Path) -> None:
    done = cli("--dag-file", str(plan_env), "--start", END, "--end", START)
    assert done.returncode == 1 and "--end 2026-09-27T00:30:00+08:00 is before --start" in done.stderr
    assert run_main("--start", START, "--end", END) == "--dag-id or --dag-file: name the DAG to plan"
    assert emulator.calls == []


def test_without_a_daily_quota_the_plan_has_no_quota_days_and_times_the_calls_at_the_connection_s_qps(
    emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Enterprise, the default: no daily cap (no quota days, no quota line); the account's QPS as the connection
    says (here 5 read / 2 write), and the share of the 1,000,000 free calls a month."""
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emulator, qps=20, read_qps=5, write_qps=2))
    path = tmp_path / f"{DAG_ID}.py"
    path.write_text(PLAN_DAG)
    result = plan.plan_backfill(
        plan.load_dag(DAG_ID, str(path), None), pendulum.parse("2026-11-16T00:30:00+08:00"), pendulum.parse(END)
    )
    assert (result.calls, result.reads, result.writes, result.daily_quota, result.quota_days) == (
        20,
        10,
        10,
        None,
        None,
    )
    assert (result.read_seconds, result.write_seconds) == (2.0, 5.0)
    as_json = result.to_json()
    assert (as_json["daily_quota"], as_json["quota_days"], as_json["read_qps"], as_json["write_qps"]) == (
        None,
        None,
        5,
        2,
    )
    summary = plan.format_table(result).splitlines()[-1]
    assert summary == (
        "10 runs spend 20 calls (10 reads, 10 writes): at the account's 5 read / 2 write QPS (connection "
        "'dataworks_default'; shared by every process on the account in this region) at least 2.0 s of reads and "
        "5.0 s of writes; 0.002% of the 1,000,000 calls a month Enterprise has free. This plan spent 1 GetTask + 10 "
        "ListTaskInstances (reads) of the same account."
    )
    assert "quota day" not in plan.format_table(result)


def test_the_airflow_help_shows_core_in_brackets(emulator: DataWorksEmulator, plan_env: Path) -> None:
    """Airflow's help formatter reads help as rich markup: the plan escapes ``[core]`` so it is shown."""
    if not has_provider_cli():
        pytest.skip("Airflow < 3.2 has no provider CLI commands")
    done = cli("--help", airflow=True)
    assert done.returncode == 0, done.stderr
    assert "[core] default_timezone" in " ".join(done.stdout.split())
    assert "\\[core]" not in done.stdout


# ------------------------------------------------------------------- issue 28: check first, polls, naive dates
WAIT_DAG = PLAN_DAG.replace(
    'DataWorksTriggerOperator(task_id="release", dataworks_task_id=700001)',
    'DataWorksTriggerOperator(task_id="release", dataworks_task_id=700001, wait_for_completion=True, EXTRA)',
)


def waiting_dag(extra: str = "") -> str:
    """The plan's DAG with ``release`` waiting for its instance (``extra``: more of its arguments)."""
    return WAIT_DAG.replace(", EXTRA)", f", {extra})" if extra else ")")


def dag_file_of(tmp_path: Path, source: str) -> Path:
    path = tmp_path / f"{DAG_ID}.py"
    path.write_text(source)
    return path


@pytest.mark.parametrize(
    ("poll_interval", "max_poll_interval", "duration", "polls"),
    [
        (60, None, 600, 6),  # after 60, 120, 210, 345, 547.5 s; the 6th (787.5 s) sees the end
        (60, 60, 600, 10),  # no backoff: every 60 s
        (60, None, 60, 1),  # done by the first poll
        (60, None, 30, 1),
        (10, None, 600, 18),  # 10, 20, 35, 57.5, 91.25, then every 40 s
        (60, None, 3600, 18),  # backoff to 240 s
    ],
)
def test_polls_are_estimated_with_the_wait_s_own_backoff(
    poll_interval: float, max_poll_interval: float | None, duration: float, polls: int
) -> None:
    assert plan.estimated_polls(poll_interval, max_poll_interval, duration) == polls


def test_a_waiting_task_s_plan_counts_its_polls_and_reads_naive_dates_as_utc(
    emulator: DataWorksEmulator, plan_env: Path, tmp_path: Path
) -> None:
    """--start/--end without an offset are UTC midnights (as airflow backfill create reads them): 2026-11-21 ..
    2026-11-25 holds the runs that fire 22-25 Nov 00:30 Asia/Shanghai. The runs' polls are in the totals; the run
    that fails (instance in Failure) never polls, the one already done polls once."""
    path = dag_file_of(tmp_path, waiting_dag())
    failed, done = emulator.instance_of(RELEASE, T - 3 * DAY_MS), emulator.instance_of(RELEASE, T - 2 * DAY_MS)
    emulator.set_instance_status(failed.id, "Failure")
    emulator.set_instance_status(done.id, "Success")
    emulator.clear_calls()

    out = cli("--dag-file", str(path), "--start", "2026-11-21", "--end", "2026-11-25", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert (result["start"], result["end"]) == ("2026-11-21T00:00:00+00:00", "2026-11-25T00:00:00+00:00")
    rows = result["rows"]
    assert [(r["logical_date"], r["scheduled_time"]) for r in rows] == [
        (f"2026-11-{d - 1}T16:30:00+00:00", f"2026-11-{d} 00:30:00 +08:00") for d in (22, 23, 24, 25)
    ]
    assert [(r["action"], r["calls"], r["polls"], r["plus_polls"]) for r in rows] == [
        ("fails: in Failure (rerun it first)", 1, 0, False),
        ("succeeds: past its trigger", 1, 1, True),
        ("triggers", 2, 6, True),  # 600 s (the default) at poll_interval=60 backing off to 240 s
        ("triggers", 2, 6, True),
    ]
    assert (result["calls"], result["reads"], result["writes"], result["polls"]) == (19, 17, 2, 13)
    assert (result["expected_duration_s"], result["read_seconds"]) == (600, 0.34)  # 17 reads at 50 a second
    assert result["monthly_free_share"] == pytest.approx(19e-6) and result["quota_days"] == 1
    assert calls(emulator) == ["GetTask"] + ["ListTaskInstances"] * 4

    table = cli("--dag-file", str(path), "--start", "2026-11-21", "--end", "2026-11-25", "--expected-duration", "60")
    assert table.returncode == 0, table.stderr
    text = table.stdout
    assert (
        "Logical dates 2026-11-21T00:00:00+00:00 .. 2026-11-25T00:00:00+00:00: --start/--end without an offset are "
        "read as UTC ([core] default_timezone), as airflow backfill create does. Each row's fire time (TriggerTime) "
        "is shown in the node's scheduling zone, with its offset."
    ) in text
    assert "Polls (+N polls) are an estimate from --expected-duration 60 s" in " ".join(text.split())
    rows_text = [line for line in text.splitlines() if line.startswith("2026-11-")]
    assert [line.split("  ")[-1].strip() for line in rows_text] == ["1", "1+1 polls", "2+1 polls", "2+1 polls"]
    assert "2026-11-22 00:30:00 +08:00" in rows_text[0]
    summary = [line for line in text.splitlines() if line.startswith("4 runs spend")]
    assert summary == [
        "4 runs spend 9 calls (7 reads, 3 of them estimated polls, 2 writes): at the account's 50 read / 20 write "
        "QPS (connection 'dataworks_default'; shared by every process on the account in this region) at least 0.1 s "
        "of reads and 0.1 s of writes; 0.0009% of the 1,000,000 calls a month Enterprise has free. This plan spent 1 "
        "GetTask + 4 ListTaskInstances (reads) of the same account."
    ]


def test_a_wait_s_timeout_caps_its_polls(emulator: DataWorksEmulator, plan_env: Path, tmp_path: Path) -> None:
    path = dag_file_of(tmp_path, waiting_dag("poll_interval=10, timeout=60"))
    result = plan.plan_backfill(
        plan.load_dag(DAG_ID, str(path), None), pendulum.parse(END), pendulum.parse(END), expected_duration_s=3600
    )
    (row,) = result.rows
    assert (row.action, row.calls, row.polls) == ("triggers", 2, 5)  # 10, 20, 35, 57.5, 91.25 s: timeout at 60 s
    assert (result.calls, result.reads, result.polls) == (7, 6, 5)


def test_a_schedule_mismatch_is_stated_first_and_the_plan_goes_on(
    emulator: DataWorksEmulator, plan_env: Path, tmp_path: Path
) -> None:
    """The DAG fires at 01:00, the node at 00:30: the check's MISMATCH heads the plan; its runs find no instance
    and fail, without polling."""
    source = waiting_dag().replace('"30 0 * * *"', '"0 1 * * *"')
    path = dag_file_of(tmp_path, source)
    args = ("--dag-file", str(path), "--start", "2026-11-23T01:00:00+08:00", "--end", "2026-11-24T01:00:00+08:00")
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1].startswith("  DAG plan_release, task release: MISMATCH: node 700001 runs '00 30 00 * * ?'")
    mismatch = next(i for i, line in enumerate(lines) if line.startswith("MISMATCH (task release): the DAG's runs"))
    assert mismatch < next(i for i, line in enumerate(lines) if line.startswith("logical date (UTC)"))
    assert "Polls" not in done.stdout  # no run waits: each fails first
    rows = [" ".join(line.split()) for line in lines if line.startswith("2026-11-")]
    assert [r.split(" ", 3)[3] for r in rows] == [
        f"2026-11-{d} 01:00:00 +08:00 - - fails: no instance at this time 1" for d in (23, 24)
    ]  # fire time in the node's zone; no instance, no status; 1 call, no polls
    as_json = json.loads(cli(*args, "--json").stdout)
    assert as_json["check"]["mismatch"] == 1 and as_json["check"]["exit_status"] == 1
    assert (as_json["calls"], as_json["polls"], as_json["plan_get_task_calls"]) == (2, 0, 1)


def test_bad_expected_duration_names_the_argument(emulator: DataWorksEmulator, plan_env: Path) -> None:
    for value in ("0", "-5", str(8 * 24 * 3600)):
        message = run_main("--dag-file", str(plan_env), "--start", START, "--end", END, "--expected-duration", value)
        assert message.startswith(f"--expected-duration {float(value):g}: seconds a waiting run's wait")
    assert emulator.calls == []
