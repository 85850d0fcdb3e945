"""The schedule check (issue 28): your DAG against your node.

Pure logic first (Quartz crons, the instances DataWorks generates across daylight saving, each mismatch kind and
its message), then real DAG files against the emulator: a wrong cron, a wrong zone, a weekly node behind a daily
DAG, daylight-saving days, every example DAG passing, one GetTask per node and no other call, and the command line
(``python -m airflow_provider_dataworks.cli.check``; ``airflow dataworks check`` where Airflow has provider
commands).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pendulum
import pytest

from airflow_provider_dataworks.cli import commands as check_cli
from airflow_provider_dataworks.cli.check import check_dags, format_report, load_dags
from airflow_provider_dataworks.domain.schedule_check import (
    DagSchedule,
    UnsupportedCron,
    compare,
    dst_transitions,
    fire_times,
    instances_on,
    parse_quartz,
)
from airflow_provider_dataworks.domain.timing import to_epoch_ms
from airflow_provider_dataworks.emulator import DEMO_SPEC, DataWorksEmulator
from tests.conftest import EXAMPLES, WORKSPACE, connection_json

SHANGHAI, BERLIN = "Asia/Shanghai", "Europe/Berlin"
UTC = timezone.utc
SPRING, AUTUMN = datetime(2027, 3, 28).date(), datetime(2027, 10, 31).date()  # Berlin's DST days in 2027


def wall(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %z")


# ------------------------------------------------------------------------------------------------ Quartz
@pytest.mark.parametrize(
    ("quartz", "cron5", "days_of_week"),
    [
        ("00 30 00 * * ?", "30 0 * * *", None),
        ("0 0 6 ? * MON", "0 6 * * MON", {1}),
        ("0 0 6 ? * 2", "0 6 * * 1", {1}),  # Quartz 2 = Monday
        ("0 0 6 ? * 1,7", "0 6 * * 0,6", {0, 6}),  # SUN, SAT
        ("0 15 10 ? * MON-FRI", "15 10 * * MON-FRI", {1, 2, 3, 4, 5}),
        ("0 0/15 8-18 * * ?", "0/15 8-18 * * *", None),
        ("00 00 */2 * * ?", "0 */2 * * *", None),
        ("0 0 3 1,15 * ?", "0 3 1,15 * *", None),
        ("0 0 3 ? JAN,JUL SUN", "0 3 * JAN,JUL SUN", {0}),
        ("30 0 * * *", "30 0 * * *", None),  # the 5-field form, tolerated
        ("0 6 * * 1", "0 6 * * 1", {1}),
        ("0 6 * * 7", "0 6 * * 7", {0}),  # 5-field 7 = Sunday too
    ],
)
def test_quartz_crons_read_as_5_field_cron(quartz: str, cron5: str, days_of_week: set[int] | None) -> None:
    cron = parse_quartz(quartz)
    assert cron.shown == cron5
    assert (set(cron.days_of_week) if cron.days_of_week is not None else None) == days_of_week


def test_quartz_fields_expand_to_their_values() -> None:
    cron = parse_quartz("0 0/15 8-10 1-5/2 MAR-APR ? 2027-2028")
    assert sorted(cron.minutes) == [0, 15, 30, 45] and sorted(cron.hours) == [8, 9, 10]
    assert sorted(cron.days_of_month or ()) == [1, 3, 5] and sorted(cron.months) == [3, 4]
    assert sorted(cron.years or ()) == [2027, 2028] and cron.cron5 == ""  # a year: no 5-field form
    assert cron.shown == "0 0/15 8-10 1-5/2 MAR-APR ? 2027-2028"
    assert parse_quartz("15 30 00 * * ?").wall_times() == [time(0, 30, 15)]


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("0 0 0 L * ?", "uses L, W, # or C"),
        ("0 0 0 15W * ?", "uses L, W, # or C"),
        ("0 0 0 ? * 6#3", "uses L, W, # or C"),
        ("0 0 0 ? * 6L", "uses L, W, # or C"),
        ("0 0 0 1 * MON", "both day-of-month"),
        ("0 0 25 * * ?", "outside 0-23"),
        ("0 0 0 ? * FOO", "'FOO' is not a number or a name"),
        ("0 ? 0 * * ?", "'?' only stands for"),
        ("0 0", "expected 6 or 7 Quartz fields"),
        ("0 0/0 0 * * ?", "bad step"),
    ],
)
def test_what_is_not_supported_fails_clearly(expression: str, words: str) -> None:
    with pytest.raises(UnsupportedCron, match=None) as err:
        parse_quartz(expression)
    assert words in str(err.value) and repr(expression) in str(err.value)


# ------------------------------------------------------------------------------------------------ fire times
def test_a_daily_shanghai_node_fires_at_its_wall_time() -> None:
    after = datetime(2026, 12, 6, tzinfo=UTC)
    fires = fire_times(parse_quartz("00 30 00 * * ?"), SHANGHAI, after, 3)
    assert [wall(f, SHANGHAI) for f in fires] == [
        "2026-12-07 00:30 +0800", "2026-12-08 00:30 +0800", "2026-12-09 00:30 +0800",
    ]  # fmt: skip
    assert fires[0] == datetime(2026, 12, 6, 16, 30, tzinfo=UTC)


def test_a_daily_node_in_the_skipped_hour_is_delayed_one_hour_as_a_dry_run() -> None:
    cron = parse_quartz("00 30 02 * * ?")
    (before,) = instances_on(cron, SPRING - timedelta(days=1), BERLIN)
    (spring,) = instances_on(cron, SPRING, BERLIN)
    assert (wall(before.at, BERLIN), before.dry_run) == ("2027-03-27 02:30 +0100", None)
    assert (wall(spring.at, BERLIN), spring.dry_run) == ("2027-03-28 03:30 +0200", "DST")
    after = datetime(2027, 3, 27, tzinfo=UTC)
    assert [wall(f, BERLIN) for f in fire_times(cron, BERLIN, after, 3)] == [
        "2027-03-27 02:30 +0100",
        "2027-03-29 02:30 +0200",
        "2027-03-30 02:30 +0200",
    ]  # fmt: skip  (the dry run is no fire time unless asked for)
    assert len(fire_times(cron, BERLIN, after, 3, dry_runs=True)) == 3


def test_an_hourly_node_has_23_instances_in_spring_and_24_in_autumn() -> None:
    cron = parse_quartz("00 00 * * * ?")
    spring, autumn = instances_on(cron, SPRING, BERLIN), instances_on(cron, AUTUMN, BERLIN)
    assert len(spring) == 23 and all(i.dry_run is None for i in spring)
    assert "2027-03-28 02:00 +0100" not in [wall(i.at, BERLIN) for i in spring]
    assert len(autumn) == 24
    two = [i for i in autumn if i.at.astimezone(ZoneInfo(BERLIN)).hour == 2]
    assert [wall(i.at, BERLIN) for i in two] == ["2027-10-31 02:00 +0100"]  # the second pass is kept


def test_a_weekly_node_has_skipcycle_dry_runs_on_its_other_days() -> None:
    cron = parse_quartz("0 0 6 ? * MON")
    week = [instances_on(cron, datetime(2026, 12, 7).date() + timedelta(days=d), SHANGHAI)[0] for d in range(7)]
    assert [i.dry_run for i in week] == [None] + ["SkipCycle"] * 6  # 2026-12-07 is a Monday
    assert cron.cycle == "on Mondays"


def test_dst_transitions_of_a_zone() -> None:
    start = datetime(2026, 12, 6, tzinfo=UTC)
    assert dst_transitions(BERLIN, start) == [SPRING, AUTUMN]
    assert dst_transitions(SHANGHAI, start) == []


# ------------------------------------------------------------------------------------------------ comparison
def dag_fires(cron: str, zone: str, after: datetime, count: int) -> list[int]:
    """A stand-in for an Airflow cron timetable's fire times (it too fires at 03:30 on Berlin's spring day)."""
    return [to_epoch_ms(m) for m in fire_times(parse_quartz(cron), zone, after, count, dry_runs=True)]


WINTER = datetime(2026, 12, 6, tzinfo=UTC)


def test_a_dag_on_the_node_s_cron_and_zone_matches() -> None:
    fires = dag_fires("30 0 * * *", SHANGHAI, WINTER, 30)
    result = compare([fires], 700001, parse_quartz("00 30 00 * * ?"), SHANGHAI, DagSchedule("30 0 * * *", SHANGHAI, ""))
    assert result.ok and result.fires == 30


def test_a_utc_dag_against_a_shanghai_node_is_a_zone_mismatch() -> None:
    fires = dag_fires("30 0 * * *", "UTC", WINTER, 30)
    result = compare([fires], 700001, parse_quartz("00 30 00 * * ?"), SHANGHAI, DagSchedule("30 0 * * *", "UTC", ""))
    assert [(f.kind, f.message) for f in result.findings] == [
        (
            "zone",
            "your DAG fires 00:30 UTC = 08:30 Asia/Shanghai; node 700001 runs 00:30 Asia/Shanghai: set the DAG's "
            "start_date tz (or its timetable's timezone) to Asia/Shanghai",
        )
    ]


def test_another_cron_is_a_schedule_mismatch_naming_both_crons() -> None:
    fires = dag_fires("0 1 * * *", SHANGHAI, WINTER, 30)
    result = compare([fires], 700001, parse_quartz("00 30 00 * * ?"), SHANGHAI, DagSchedule("0 1 * * *", SHANGHAI, ""))
    ((kind, message),) = [(f.kind, f.message) for f in result.findings]
    assert kind == "schedule"
    assert message.startswith("the node runs '30 0 * * *' (Asia/Shanghai), the DAG '0 1 * * *': ")
    assert "30 of the 30 runs checked name no instance of the node (first: 2026-12-07 01:00:00 +08:00; " in message
    assert "the node's that day: 00:30): they fail without retry" in message
    assert (
        "29 of the node's instances in that time get no trigger from the DAG (first: 2026-12-08 00:30:00 +08:00)"
        in message
    )
    assert message.endswith(
        "set the DAG's schedule to '30 0 * * *' in Asia/Shanghai (its start_date's tz, or the timetable's timezone)"
    )


def test_a_daily_dag_behind_an_hourly_node_leaves_instances_waiting() -> None:
    fires = dag_fires("0 0 * * *", SHANGHAI, WINTER, 5)
    result = compare([fires], 7, parse_quartz("00 00 * * * ?"), SHANGHAI, DagSchedule("0 0 * * *", SHANGHAI, ""))
    ((kind, message),) = [(f.kind, f.message) for f in result.findings]
    assert kind == "schedule" and "the node runs '0 * * * *'" in message
    assert "92 of the node's instances in that time get no trigger from the DAG" in message  # 4 days x 23
    assert "name no instance" not in message


def test_a_daily_dag_behind_a_weekly_node_releases_nothing_on_the_other_days() -> None:
    fires = dag_fires("0 6 * * *", SHANGHAI, WINTER, 14)
    result = compare([fires], 700005, parse_quartz("0 0 6 ? * MON"), SHANGHAI, DagSchedule("0 6 * * *", SHANGHAI, ""))
    assert [(f.kind, f.message) for f in result.findings] == [
        (
            "cycle",
            "node 700005 runs '0 6 * * MON' (on Mondays, Asia/Shanghai) and your DAG '0 6 * * *' also on the other "
            "days: on those DataWorks generates SkipCycle dry runs, so 12 of the 14 runs checked (first: 2026-12-08 "
            "06:00:00 +08:00) release nothing (they succeed with a warning): set the DAG's schedule to '0 6 * * MON' "
            "in Asia/Shanghai (its start_date's tz, or the timetable's timezone)",
        )
    ]


def test_a_utc_dag_matching_a_berlin_node_in_winter_differs_from_the_dst_day() -> None:
    winter = dag_fires("30 1 * * *", "UTC", WINTER, 30)
    spring = dag_fires("30 1 * * *", "UTC", datetime(2027, 3, 26, tzinfo=UTC), 5)
    cron, dag = parse_quartz("00 30 02 * * ?"), DagSchedule("30 1 * * *", "UTC", "")
    assert compare([winter], 900001, cron, BERLIN, dag).ok  # the next 30 runs alone look fine
    ((kind, message),) = [(f.kind, f.message) for f in compare([winter, spring], 900001, cron, BERLIN, dag).findings]
    assert kind == "dst"
    assert message.startswith(
        "your DAG fires 01:30 UTC, which is 02:30 Europe/Berlin only while Europe/Berlin keeps one UTC offset: once "
        "its clocks change (daylight saving) your runs fall at 03:30 Europe/Berlin (first: 2027-03-29 03:30:00 +02:00) "
        "and name no instance of node 900001, which runs 02:30 Europe/Berlin all year; 2 of the 35 runs checked fail "
        "so: set the DAG's schedule to '30 2 * * *' in Europe/Berlin"
    )


def test_a_berlin_node_in_the_skipped_hour_is_a_dry_run_on_the_spring_day() -> None:
    fires = dag_fires("30 2 * * *", BERLIN, datetime(2027, 3, 26, tzinfo=UTC), 5)
    result = compare([fires], 900001, parse_quartz("00 30 02 * * ?"), BERLIN, DagSchedule("30 2 * * *", BERLIN, ""))
    assert [(f.kind, f.message) for f in result.findings] == [
        (
            "dst_dry_run",
            "on 2027-03-28 02:30 does not exist in Europe/Berlin (daylight saving starts): DataWorks delays node "
            "900001's instance to 2027-03-28 03:30:00 +02:00 as a dry run, and your DAG's run at 2027-03-28 03:30:00 "
            "+02:00 releases nothing that day (the dry run releases the node's downstream by itself): to run that "
            "day, schedule the node and the DAG outside the skipped hour",
        )
    ]


def test_the_first_pass_of_a_repeated_hour_names_the_kept_instance() -> None:
    """An hourly Berlin DAG fires twice at 02:00 on the autumn day; both name the instance DataWorks keeps."""
    first = datetime(2027, 10, 31, 0, 0, tzinfo=UTC)  # 02:00 +02:00
    fires = [to_epoch_ms(first + timedelta(hours=h)) for h in range(-2, 5)]
    result = compare([fires], 7, parse_quartz("00 00 * * * ?"), BERLIN, DagSchedule("0 * * * *", BERLIN, ""))
    assert result.ok, result.findings


# ------------------------------------------------------------------------------------------------ the emulator
DAG_FILE = """
import pendulum
from airflow.providers.common.compat.sdk import DAG
from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator
from airflow_provider_dataworks.sensors.dataworks import DataWorksTaskInstanceSensor
with DAG("{dag_id}", schedule={schedule!r}, start_date=pendulum.datetime(2026, 1, 1, tz={tz!r}), catchup=False):
    {body}
"""
WEEKLY, BERLIN_NODE, BERLIN_WS = 700005, 910001, 1002


@pytest.fixture
def nodes(emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch) -> DataWorksEmulator:
    """The conftest workspace (node 700001 at 00:30 Shanghai) + a weekly node, and a Berlin workspace with a node at
    02:30 on its own connection ``dataworks_berlin``."""
    emulator.add_task(WORKSPACE, WEEKLY, "weekly_release", http_trigger=True, cron="0 6 * * 1")
    emulator.add_workspace(BERLIN_WS, "eu-central-1", name="berlin")
    emulator.add_task(BERLIN_WS, BERLIN_NODE, "berlin_release", http_trigger=True, cron="30 2 * * *")
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emulator))
    monkeypatch.setenv(
        "AIRFLOW_CONN_DATAWORKS_BERLIN",
        connection_json(emulator, region_id="eu-central-1", project_id=BERLIN_WS),
    )
    emulator.clear_calls()
    return emulator


def dag_file(tmp_path: Path, dag_id: str, body: str, schedule: str = "30 0 * * *", tz: str = SHANGHAI) -> Path:
    path = tmp_path / f"{dag_id}.py"
    path.write_text(DAG_FILE.format(dag_id=dag_id, schedule=schedule, tz=tz, body=body))
    return path


def check(path: Path | str, start: datetime = WINTER, **kwargs: object) -> tuple[list[tuple[str, str, str]], object]:
    report = check_dags(load_dags(None, str(path), None), now=start, **kwargs)  # type: ignore[arg-type]
    rows = [(c.task_id, c.status, " | ".join(f.message for f in c.findings) or c.reason) for c in report.checks]
    return rows, report


def test_the_check_catches_a_wrong_cron(nodes: DataWorksEmulator, tmp_path: Path) -> None:
    path = dag_file(tmp_path, "wrong_cron", "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001)",
                    schedule="0 1 * * *")  # fmt: skip
    rows, report = check(path)
    ((task_id, status, message),) = rows
    assert (task_id, status) == ("release", "mismatch")
    assert message.startswith("the node runs '30 0 * * *' (Asia/Shanghai), the DAG '0 1 * * *': 30 of the 30 runs")
    assert "set the DAG's schedule to '30 0 * * *' in Asia/Shanghai" in message
    assert report.exit_status == 1  # type: ignore[attr-defined]
    assert [c.action for c in nodes.calls] == ["GetTask"]


def test_the_check_catches_a_utc_start_date_against_a_shanghai_node(nodes: DataWorksEmulator, tmp_path: Path) -> None:
    path = dag_file(tmp_path, "wrong_zone", "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001)",
                    tz="UTC")  # fmt: skip
    rows, report = check(path)
    assert rows == [
        (
            "release",
            "mismatch",
            "your DAG fires 00:30 UTC = 08:30 Asia/Shanghai; node 700001 runs 00:30 Asia/Shanghai: set the DAG's "
            "start_date tz (or its timetable's timezone) to Asia/Shanghai",
        )
    ]
    assert "MISMATCH" in format_report(report)  # type: ignore[arg-type]
    assert [c.action for c in nodes.calls] == ["GetTask"]


def test_the_check_catches_a_daily_dag_behind_a_weekly_node(nodes: DataWorksEmulator, tmp_path: Path) -> None:
    body = f"DataWorksTriggerOperator(task_id='release', dataworks_task_id={WEEKLY})"
    rows, _ = check(dag_file(tmp_path, "weekly", body, schedule="0 6 * * *"))
    ((_, status, message),) = rows
    assert status == "mismatch"
    assert message.startswith(
        f"node {WEEKLY} runs '0 6 * * 1' (on Mondays, Asia/Shanghai) and your DAG '0 6 * * *' also on the other days: "
        "on those DataWorks generates SkipCycle dry runs, so 25 of the 30 runs checked"
    )
    assert message.endswith("set the DAG's schedule to '0 6 * * 1' in Asia/Shanghai (its start_date's tz, or the "
                            "timetable's timezone)")  # fmt: skip
    rows, _ = check(dag_file(tmp_path, "weekly_ok", body, schedule="0 6 * * 1"))
    assert rows == [("release", "ok", "")]


def test_the_check_catches_the_dst_days(nodes: DataWorksEmulator, tmp_path: Path) -> None:
    """A Berlin node at 02:30: a UTC DAG at 01:30 matches it all winter and misses it from the spring day on; a Berlin
    DAG at 02:30 names the spring day's dry run. Checked in December: the next 30 runs alone show neither."""
    body = (
        f"DataWorksTriggerOperator(task_id='release', dataworks_task_id={BERLIN_NODE}, "
        "dataworks_conn_id='dataworks_berlin')"
    )
    rows, _ = check(dag_file(tmp_path, "utc_berlin", body, schedule="30 1 * * *", tz="UTC"))
    ((_, status, message),) = rows
    assert status == "mismatch"
    assert message.startswith(
        "your DAG fires 01:30 UTC, which is 02:30 Europe/Berlin only while Europe/Berlin keeps one UTC offset: once "
        "its clocks change (daylight saving) your runs fall at 03:30 Europe/Berlin (first: 2027-03-29 03:30:00 +02:00) "
        "and name no instance of node 910001"
    )
    assert "set the DAG's schedule to '30 2 * * *' in Europe/Berlin" in message
    rows, report = check(dag_file(tmp_path, "berlin_berlin", body, schedule="30 2 * * *", tz=BERLIN))
    ((_, status, message),) = rows
    assert status == "mismatch" and message.startswith(
        "on 2027-03-28 02:30 does not exist in Europe/Berlin (daylight saving starts): DataWorks delays node 910001's "
        "instance to 2027-03-28 03:30:00 +02:00 as a dry run"
    )
    assert [c.action for c in nodes.calls] == ["GetTask", "GetTask"]  # one per check run, on the Berlin endpoint
    assert report.get_task_calls == 1  # type: ignore[attr-defined]


def test_one_get_task_per_node_and_what_is_not_checked(nodes: DataWorksEmulator, tmp_path: Path) -> None:
    body = "\n    ".join(
        [
            "a = DataWorksTriggerOperator(task_id='a', dataworks_task_id=700001)",
            "b = DataWorksTaskInstanceSensor(task_id='b', dataworks_task_id=700001)",
            f"c = DataWorksTriggerOperator(task_id='c', dataworks_task_id={WEEKLY})",
            "d = DataWorksTriggerOperator(task_id='d', dataworks_task_id=700001, trigger_time='2026-11-25 00:30:00')",
            "e = DataWorksTaskInstanceSensor(task_id='e', instance_id=\"{{ ti.xcom_pull(task_ids='a') }}\")",
            "f = DataWorksTriggerOperator(task_id='f', dataworks_task_id='{{ params.node }}')",
        ]
    )
    rows, report = check(dag_file(tmp_path, "several", body))
    by_task = {task_id: (status, text) for task_id, status, text in rows}
    assert by_task["a"] == ("ok", "") and by_task["b"] == ("ok", "")
    assert by_task["c"][0] == "mismatch"  # a daily DAG at 00:30, a weekly node at 06:00
    assert by_task["d"][0] == "not checked" and "explicit trigger_time '2026-11-25 00:30:00'" in by_task["d"][1]
    assert by_task["e"][0] == "not checked" and by_task["e"][1].startswith("waits on instance_id")
    assert by_task["f"] == (
        "not checked",
        "templated dataworks_task_id '{{ params.node }}': known only when the task runs",
    )
    assert sorted(int(c.params["Id"]) for c in nodes.calls_of("GetTask")) == [700001, WEEKLY]
    assert [c.action for c in nodes.calls] == ["GetTask", "GetTask"]
    assert report.get_task_calls == 2  # type: ignore[attr-defined]


def cli(*args: str, airflow: bool = False, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = ["-m", "airflow", "dataworks", "check"] if airflow else ["-m", "airflow_provider_dataworks.cli.check"]
    return subprocess.run(
        [sys.executable, *command, *args], capture_output=True, text=True, timeout=300, env=env or dict(os.environ)
    )


@pytest.fixture
def example_nodes(nodes: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch) -> DataWorksEmulator:
    """The demo scenario's nodes (the conftest workspace is the demo's 1001 + the quickstart's downstream) and the
    cross-tenant example's tenant B, with their connections."""
    demo = {t["id"] for t in DEMO_SPEC["workspaces"][0]["tasks"]}
    assert {700000, 700001} <= demo  # the example DAGs' node is the demo's
    nodes.add_account("2222222222222222")
    key_b = nodes.add_access_key(account="2222222222222222")
    nodes.add_workspace(3001, "eu-central-1", name="tenant_b", account="2222222222222222")
    nodes.add_task(3001, 900001, "b_release", http_trigger=True, cron="0 6 * * *")
    extra = {"endpoint": nodes.endpoint_for("eu-central-1"), "region_id": "eu-central-1", "project_id": 3001}
    tenant_b = {"conn_type": "dataworks", "login": key_b.access_key_id, "password": key_b.access_key_secret,
                "extra": extra}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_TENANT_B", json.dumps(tenant_b))
    nodes.clear_calls()
    return nodes


def test_every_example_dag_passes_through_the_command_line(example_nodes: DataWorksEmulator) -> None:
    done = cli("--dags-folder", str(EXAMPLES), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    statuses = {(c["dag_id"], c["task_id"]): c["status"] for c in result["checks"]}
    assert statuses == {
        ("example_dataworks_control", "release_and_wait"): "ok",
        ("example_dataworks_cross_tenant", "wait_tenant_a"): "not checked",  # an explicit trigger_time
        ("example_dataworks_cross_tenant", "release_tenant_b"): "ok",
        ("example_dataworks_explicit_time", "release"): "not checked",
        ("example_dataworks_file_driven", "release"): "not checked",  # mapped, schedule=None
        ("example_dataworks_sensor", "release"): "ok",
        ("example_dataworks_sensor", "wait_downstream"): "not checked",  # instance_id
        ("example_dataworks_trigger", "release"): "ok",
        ("example_dataworks_wait_workflow", "release_and_wait"): "ok",
    }
    assert result["ok"] and result["mismatch"] == 0 and result["get_task_calls"] == 2
    assert sorted((c.action, int(c.params["Id"])) for c in example_nodes.calls) == [
        ("GetTask", 700001),
        ("GetTask", 900001),
    ]  # fmt: skip  (one per node, nothing else)
    tenant_b = next(c for c in result["checks"] if c["task_id"] == "release_tenant_b")
    assert (tenant_b["node_zone"], tenant_b["dag_zone"], tenant_b["fires"]) == (BERLIN, BERLIN, 30 + 10)


def test_the_command_line_exits_1_on_a_mismatch(nodes: DataWorksEmulator, tmp_path: Path) -> None:
    path = dag_file(tmp_path, "wrong_zone_cli", "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001)",
                    tz="UTC")  # fmt: skip
    done = cli("--dag-file", str(path), "--dag-id", "wrong_zone_cli", "--fire-times", "5")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("DAG wrong_zone_cli, task release: MISMATCH: node 700001 runs '00 30 00 * * ?' in "
                               "Asia/Shanghai; the DAG '30 0 * * *' in UTC (5 runs checked)")  # fmt: skip
    assert lines[1] == (
        "  - your DAG fires 00:30 UTC = 08:30 Asia/Shanghai; node 700001 runs 00:30 Asia/Shanghai: set the DAG's "
        "start_date tz (or its timetable's timezone) to Asia/Shanghai"
    )
    assert lines[-1].startswith("1 task(s) checked: 0 OK, 1 mismatch(es)")
    assert [c.action for c in nodes.calls] == ["GetTask"]
    done = cli("--dag-file", str(path), "--dag-id", "nope")
    assert done.returncode == 2 and "--dag-id 'nope': no such DAG" in done.stderr


def test_airflow_dataworks_check_where_airflow_has_provider_commands(nodes: DataWorksEmulator, tmp_path: Path) -> None:
    """``get_cli_commands`` gives Airflow's parser ``dataworks plan`` and ``dataworks check`` (same arguments)."""
    pytest.importorskip("airflow.cli.cli_config")
    from airflow.cli.cli_parser import DefaultHelpParser, _add_command

    (group,) = check_cli.get_cli_commands()
    assert group.name == "dataworks" and [c.name for c in group.subcommands] == ["plan", "check"]
    parser = DefaultHelpParser(prog="airflow")
    _add_command(parser.add_subparsers(dest="subcommand"), group)
    path = dag_file(tmp_path, "ok_dag", "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001)")
    args = parser.parse_args(
        ["dataworks", "check", "--dag-file", str(path), "--fire-times", "3", "--from", "2026-12-06"]
    )
    assert (args.fire_times, args.start, args.json) == (3, "2026-12-06", False)
    assert isinstance(args, argparse.Namespace)
    args.func(args)  # the OK case returns (a mismatch would sys.exit(1))
    assert [c.action for c in nodes.calls] == ["GetTask"]

    from airflow.providers_manager import ProvidersManager

    from airflow_provider_dataworks.get_provider_info import get_provider_info

    if not hasattr(ProvidersManager(), "cli_command_functions"):  # Airflow < 3.2: no provider commands
        return  # there it is ``python -m airflow_provider_dataworks.cli.check`` (the tests above)

    if "airflow_provider_dataworks.cli.commands.get_cli_commands" not in get_provider_info().get("cli", []):
        pytest.skip("provider_info.py does not register check_cli.get_cli_commands yet (see the issue 28 handoff)")
    done = cli("--dag-file", str(path), "--json", airflow=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout[done.stdout.index("{") :])["ok"]


def test_the_check_reads_a_run_s_trigger_time_as_the_operator_does(tmp_path: Path) -> None:
    """Both cron timetables name the instance at the fire time (``data_interval_end``): Airflow 3's cron string
    (CronTriggerTimetable), Airflow 2's (CronDataIntervalTimetable)."""
    from airflow_provider_dataworks.timetables.fire_times import scheduler_timetable, trigger_times

    (dag,) = load_dags(None, str(dag_file(tmp_path, "tt", "pass")), None)
    fires = trigger_times(dag, scheduler_timetable(dag), pendulum.datetime(2026, 12, 6, tz="UTC"), 2)
    first = datetime(2026, 12, 6, 16, 30, tzinfo=UTC)
    assert fires == [to_epoch_ms(first), to_epoch_ms(first + timedelta(days=1))]
