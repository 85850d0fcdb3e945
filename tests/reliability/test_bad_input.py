"""Bad input: each mistake a user can make fails with a message that names the field and the fix.

Parse-time cases are DAG files loaded by Airflow's DagBag (what the dag-processor does): the DAG must not
load and the import error must be the provider's DataWorksConfigError. Run-time cases (what is known only
then: the connection, rendered templates, the instances DataWorks has) run with ``dag.test()`` against the
emulator: the task must fail with the provider's message and without retries (the DAG sets 2: none can mend
a mistake), configuration errors without a single API call. ``docs/bad-input.md`` is written from this suite.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dataworks.emulator import DataWorksEmulator
from tests.conftest import (
    RELEASE,
    RUN_DATE,
    connection_json,
    dag_source,
    run_dag,
    task_states,
    write_generated_doc,
)

pytestmark = pytest.mark.usefixtures("airflow_db")
DOC = Path(__file__).resolve().parents[2] / "docs" / "bad-input.md"
OPERATOR = "DataWorksTriggerOperator(task_id='release', retries={retries}{args})"
#: The provider's exceptions: a failure must end in one of these, never only in an SDK (Tea) traceback.
OURS = re.compile(
    r"^(airflow_provider_dataworks\.exceptions\.\w+|\S*AirflowFailException): (?P<message>.+)$", re.MULTILINE
)


@dataclass(frozen=True)
class BadInput:
    what: str
    #: the field the message must name, and a fragment of the fix it must give
    names: str
    fix: str
    #: the task's code: the operator with ``args`` (dataworks_task_id=700001 unless they set it), or ``body``
    args: str = ""
    body: str | None = None
    #: connection fields replacing the working ones ("extra" keys are merged; None removes one)
    connection: dict[str, Any] = field(default_factory=dict)
    #: the region whose endpoint the emulator plays (None: it knows every region's workspaces)
    endpoint_region: str | None = None
    #: run-time errors DataWorks reports cost calls; configuration errors none. Either fails at once, the DAG's 2
    #: retries unused.
    api_calls: int = 0
    when: str = "run"  # "parse" | "run"

    @property
    def source(self) -> str:
        if self.body:
            return self.body
        args = self.args if "dataworks_task_id=" in self.args else f", dataworks_task_id={RELEASE}{self.args}"
        return OPERATOR.format(retries=2, args=args)


def parse(what: str, names: str, fix: str, args: str = "", body: str | None = None) -> BadInput:
    return BadInput(what, names, fix, args=args, body=body, when="parse")


SENSOR = "DataWorksTaskInstanceSensor(task_id='wait'{})"
#: A RAM role connection whose STS is the emulator (EMULATOR stands for its endpoint).
EMULATOR = "<the emulator's endpoint>"
ROLE = {"auth_type": "ram_role_arn", "role_arn": "acs:ram::1234567890123456:role/airflow", "sts_endpoint": EMULATOR}
CASES = [
    parse("task id is a node name", "dataworks_task_id", "use the numeric id", ", dataworks_task_id='release'"),
    parse("task id is negative", "dataworks_task_id", "positive id", ", dataworks_task_id=-3"),
    parse("unknown env type", "env_type", "'Prod' (production) or 'Dev'", ", env_type='prod'"),
    parse("ISO time without an offset", "trigger_time", "add one (e.g. +08:00)", ", trigger_time='2026-11-25T00:30'"),
    parse("epoch seconds for milliseconds", "trigger_time", "wants milliseconds (1795537800000)",
          ", trigger_time=1795537800"),
    parse("epoch ms out of range", "trigger_time", "between 2000 and 2100", ", trigger_time=99999999999999"),
    parse("float epoch", "trigger_time", "whole epoch milliseconds (int)", ", trigger_time=1795537800000.0"),
    parse("naive datetime", "trigger_time", "attach a zone", ", trigger_time=pendulum.naive(2026, 11, 25, 0, 30)"),
    parse("a date, not a time", "trigger_time", "needs the scheduled time",
          ", trigger_time=pendulum.date(2026, 11, 25)"),
    parse("not a time at all", "trigger_time", "use epoch ms", ", trigger_time='tomorrow 00:30'"),
    parse("empty time", "trigger_time", "did a template render to nothing", ", trigger_time='  '"),
    parse("a boolean time", "trigger_time", "pass epoch milliseconds", ", trigger_time=True"),
    parse("impossible calendar date", "trigger_time", "check the digits", ", trigger_time='2026-02-30 00:30:00'"),
    parse("time in the hour DST skips", "trigger_time", "use the next hour",
          ", trigger_time='2026-03-29 02:30:00', timezone='Europe/Berlin'"),
    parse("abbreviation for a zone", "timezone", "IANA", ", timezone='CST'"),
    parse("unknown wait target", "wait_for", "instance", ", wait_for_completion=True, wait_for='everything'"),
    parse("poll interval of 0", "poll_interval", "at least 1", ", poll_interval=0"),
    parse("max poll interval below poll interval", "max_poll_interval", "at least 60",
          ", max_poll_interval=10"),
    parse("timeout as text", "timeout", "number of seconds or a timedelta", ", timeout='1h'"),
    parse("workspace id is a name", "project_id", "use the numeric id", ", project_id='ws'"),
    parse("empty connection id", "dataworks_conn_id", "name a 'dataworks' connection", ", dataworks_conn_id=''"),
    parse("cancel_on_kill on a task that does not wait", "cancel_on_kill", "needs wait_for_completion=True",
          ", cancel_on_kill=True"),
    parse("rerun_failed on a task that does not wait", "rerun_failed", "needs wait_for_completion=True",
          ", rerun_failed=True"),
    parse("rerun_failed of the trigger node itself", "rerun_failed", "use wait_for='downstream' or 'workflow'",
          ", wait_for_completion=True, rerun_failed=True"),
    parse("sensor with nothing to wait for", "instance_id", "or dataworks_task_id", body=SENSOR.format("")),
    parse("sensor on an instance id that is text", "instance_id", "use the numeric id",
          body=SENSOR.format(", instance_id='release'")),
    BadInput("connection that does not exist", "'dataworks_missing' was not found",
             "AIRFLOW_CONN_DATAWORKS_MISSING", args=", dataworks_conn_id='dataworks_missing'"),
    BadInput("connection of another type", "is of type 'http'", "change its type", connection={"conn_type": "http"}),
    BadInput("unknown auth type", "auth_type", "use one of access_key, sts", connection={"auth_type": "password"}),
    BadInput("endpoint with a path", "endpoint", "no path", connection={"endpoint": "http://127.0.0.1:1/dataworks"}),
    BadInput("endpoint port out of range", "endpoint", "port out of range", connection={"endpoint": "127.0.0.1:70000"}),
    BadInput("no region and no endpoint", "region_id", "or 'endpoint'",
             connection={"region_id": None, "endpoint": None}),
    BadInput("region id that is not one", "region_id", "such as cn-hangzhou",
             connection={"region_id": "Hangzhou", "endpoint": None}),
    BadInput("misspelt extra", "regionid", "known extras", connection={"regionid": "cn-hangzhou"}),
    BadInput("connection zone as an offset", "timezone", "IANA", connection={"timezone": "+08:00"}),
    BadInput("sts without its token", "security_token", "auth_type 'sts' needs", connection={"auth_type": "sts"}),
    BadInput("empty AccessKey Secret", "Password", "AccessKey Secret", connection={"password": None}),
    BadInput("STS endpoint with a path", "sts_endpoint", "no path",
             connection={**ROLE, "sts_endpoint": "https://sts.aliyuncs.com/v1"}),
    BadInput("RAM role that does not exist", "EntityNotExist.Role", "check extra 'role_arn'",
             connection={**ROLE, "role_arn": "acs:ram::1234567890123456:role/typo"}, api_calls=1),
    BadInput("OIDC token file the worker cannot read", "oidc_token_file", "point it at the OIDC token file",
             connection={**ROLE, "auth_type": "oidc_role_arn", "login": None, "password": None,
                         "oidc_provider_arn": "acs:ram::1234567890123456:oidc-provider/ack",
                         "oidc_token_file": "/var/run/secrets/tokens/oidc-token"}),
    BadInput("console time in the hour DST skips (connection zone)", "trigger_time", "use the next hour",
             args=", trigger_time='2026-03-29 02:30:00'", connection={"timezone": "Europe/Berlin"}),
    BadInput("template that renders to a name", "dataworks_task_id", "use the numeric id",
             args=", dataworks_task_id='{{ params.node }}', params={'node': 'release'}"),
    BadInput("template that renders a time without offset", "trigger_time", "add one (e.g. +08:00)",
             args=", trigger_time='{{ logical_date.naive().isoformat() }}'"),
    BadInput("template that renders to nothing", "trigger_time", "did a template render to nothing",
             args=", trigger_time=\"{{ dag_run.conf.get('trigger_time', '') }}\""),
    BadInput("a time with no instance", "no instance scheduled at 2026-11-25 00:45:00",
             "set trigger_time to one of the node's times", args=", trigger_time='2026-11-25 00:45:00'",
             api_calls=2),
    BadInput("workspace of another region", "Invalid.Project.NotFound", "region_id (or endpoint) is the workspace's",
             connection={"region_id": "cn-shanghai"}, endpoint_region="cn-shanghai", api_calls=1),
]  # fmt: skip
ROWS: dict[str, list[str]] = {}


@pytest.fixture(scope="module", autouse=True)
def write_bad_input_doc() -> Iterator[None]:
    yield
    if len(ROWS) != len(CASES):
        return
    write_generated_doc(
        DOC,
        __file__,
        "Bad input: what each mistake gets",
        [
            "Each row is a DAG with one mistake. *Caught* says when: at DAG parse (the DAG does not load; the "
            "dag-processor shows the error) or when the task runs (the value is known only then: the connection, "
            "a rendered template, DataWorks' instances). Every one fails the task without retries (no retry can mend "
            'it; only "no instances generated yet" and passing API faults are retried), configuration errors '
            "without an API call. The message is the provider's exception text as the user sees it.",
        ],
        ["mistake", "caught", "message"],
        [ROWS[case.what] for case in CASES],
    )


def _connection(emu: DataWorksEmulator, changes: dict[str, Any]) -> str:
    fields = json.loads(connection_json(emu))
    for key, value in changes.items():
        where = fields if key in ("conn_type", "login", "password") else fields["extra"]
        if value is None:
            where.pop(key, None)
        else:
            where[key] = emu.endpoint if value == EMULATOR else value
    return json.dumps(fields)


def _message(text: str, case: BadInput) -> str:
    """The provider's error message in ``text`` (the last one raised), failing if there is none."""
    found = [m.group("message") for m in OURS.finditer(text)]
    assert found, f"{case.what}: no provider exception in:\n{text[-3000:]}"
    return found[-1]


@pytest.mark.parametrize("case", [c for c in CASES if c.when == "parse"], ids=lambda c: c.what)
def test_caught_at_parse_time(case: BadInput, tmp_path: Path) -> None:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2.x
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

    path = tmp_path / "bad.py"
    path.write_text(dag_source("bad", case.source))
    bag = DagBag(str(path))
    assert bag.get_dag("bad") is None, f"{case.what}: the DAG loaded"
    (error,) = bag.import_errors.values()
    message = _message(error, case)
    assert "DataWorksConfigError" in error
    assert case.names in message and case.fix in message, message
    ROWS[case.what] = [case.what, "DAG parse", message]


@pytest.mark.parametrize("case", [c for c in CASES if c.when == "run"], ids=lambda c: c.what)
def test_caught_when_the_task_runs(
    case: BadInput, emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", _connection(emulator, case.connection))
    monkeypatch.delenv("AIRFLOW_CONN_DATAWORKS_MISSING", raising=False)
    monkeypatch.setattr(emulator.backend, "settings", replace(emulator.backend.settings, region=case.endpoint_region))
    dag_id = f"bad_{abs(hash(case.what)) % 10**8}"
    dr = run_dag(dag_source(dag_id, case.source), dag_id, RUN_DATE)
    out = capfd.readouterr()
    text = out.out + out.err
    assert task_states(dr) == {"release": "failed"}, f"{case.what}: not failed for good (retried?)"
    message = _message(text, case)
    assert case.names in message and case.fix in message, message
    assert len(emulator.calls) == case.api_calls, [c.action for c in emulator.calls]
    assert emulator.access_key_secret not in text
    caught = "task run" + (f", after {case.api_calls} API call" if case.api_calls else ", no API call")
    ROWS[case.what] = [case.what, caught, re.sub(r"RequestId [0-9A-F-]{36}", "RequestId <id>", message)]
