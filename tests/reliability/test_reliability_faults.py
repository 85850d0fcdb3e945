"""The fault matrix: each fault the emulator can inject, on the sync and the deferrable path, through dag.test().

Every case runs the trigger-and-wait-for-workflow task against a fault hitting the trigger call and the
wait's poll (or the connection, or the server itself) and checks what users get: success with the
instance released exactly once, or a fast failure whose message says what to do. The table of what
happened (outcome, API calls, time to outcome) is written to ``docs/reliability.md``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dataworks.domain.api_limits import RESUME_MARGIN_S
from airflow_provider_dataworks.emulator import DataWorksEmulator
from tests.conftest import (
    RELEASE,
    RUN_DATE,
    T,
    connection_json,
    dag_source,
    run_dag,
    task_states,
    write_generated_doc,
)
from tests.reliability.test_quota import STAND_IN_RESET, TEST_MARGIN_S, ResetAtTheRefusal

pytestmark = [pytest.mark.usefixtures("airflow_db", "ticking"), pytest.mark.oldest_sdk]
DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
TRIGGER, POLL = "TriggerSchedulerTaskInstance", "GetWorkflowInstance"
#: The connection of these runs: 4 attempts per call, a 1 s read timeout (the "slow" fault outlasts it).
CONNECTION = {"retry_limit": 4, "read_timeout_ms": 1000, "qps": 50}


@dataclass(frozen=True)
class FaultCase:
    name: str
    inject: Callable[[DataWorksEmulator], None]
    succeeds: bool
    #: what the task's log must say: for a failure its error (the code and what to do)
    says: tuple[str, ...] = ()
    #: connection fields that replace the working ones (login, password, extra keys)
    connection: Callable[[DataWorksEmulator], dict[str, Any]] | None = None
    #: per path: the outcome column's note on how it came about, and what else the log must say
    note: dict[str, str] = field(default_factory=dict)
    says_on: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _on_trigger_and_poll(kind: str, times: int = 1, **kwargs: object) -> Callable[[DataWorksEmulator], None]:
    def inject(emu: DataWorksEmulator) -> None:
        emu.inject_fault(TRIGGER, kind=kind, times=times, **kwargs)
        emu.inject_fault(POLL, kind=kind, times=times, **kwargs)

    return inject


#: The emulator's daily quota in the quota case (after the reset the task needs 2-3 calls to go on).
QUOTA_DAILY = 6


def _quota_used_up_during_the_wait(emu: DataWorksEmulator) -> None:
    """A daily quota; right after the trigger call the day's quota is used up (by others): the trigger took effect,
    the first poll is refused, and the reset is decided at that refusal (the test's ``ResetAtTheRefusal``)."""
    emu.quota.configure(qps=emu.quota.qps, daily=QUOTA_DAILY)


def _forbidden(emu: DataWorksEmulator) -> None:
    emu.inject_fault(None, kind="error", times=1, http_status=403, code="Forbidden.Access", message="No permission.")


#: the restart's thread and the calls logged when the server came back (the wait must poll after that)
RESTART: dict[str, Any] = {}


def _restart_mid_wait(emu: DataWorksEmulator) -> None:
    """Stop the server right after the trigger, start it again 3 s later (state kept, as after a deploy)."""

    def restart() -> None:
        deadline = time.monotonic() + 60
        while not emu.calls_of(TRIGGER) and time.monotonic() < deadline:
            time.sleep(0.01)
        emu.stop()
        time.sleep(3)
        emu.start()
        RESTART["calls_before"] = len(emu.calls)

    RESTART.clear()
    RESTART["thread"] = threading.Thread(target=restart, daemon=True)
    RESTART["thread"].start()


def _wrong_sts_token(emu: DataWorksEmulator) -> dict[str, Any]:
    sts = emu.add_sts_credentials()
    return {"login": sts.access_key_id, "password": sts.access_key_secret,
            "extra": {"auth_type": "sts", "security_token": "not-the-token"}}  # fmt: skip


def _refused_connection(
    name: str, says: tuple[str, ...], connection: Callable[[DataWorksEmulator], dict[str, Any]]
) -> FaultCase:
    """A connection DataWorks refuses: nothing injected, the task fails at once."""
    return FaultCase(name, inject=lambda emu: None, succeeds=False, says=says, connection=connection)


CASES = [
    FaultCase("burst of 3 HTTP 500", _on_trigger_and_poll("server_error", times=3), True),
    FaultCase("HTTP 429 with x-acs-retry-after 2000 ms", _on_trigger_and_poll("throttle", retry_after_ms=2000), True),
    FaultCase("HTTP 429 without x-acs-retry-after (x2)", _on_trigger_and_poll("throttle", times=2), True),
    FaultCase("read timeout (answer after 2.5 s, timeout 1 s)", _on_trigger_and_poll("slow", delay_seconds=2.5), True),
    FaultCase("connection dropped before the call", _on_trigger_and_poll("drop"), True),
    FaultCase("answer lost after the call took effect", _on_trigger_and_poll("lost_answer"), True),
    FaultCase("non-JSON body (HTTP 502 HTML)", _on_trigger_and_poll("non_json"), True),
    FaultCase("emulator restarted mid-wait (down 3 s)", _restart_mid_wait, True),
    _refused_connection(
        "signature mismatch (wrong AccessKey Secret)",
        ("SignatureDoesNotMatch", "check the AccessKey Secret"),
        lambda emu: {"password": "not-the-secret"},
    ),
    _refused_connection(
        "unknown AccessKey ID",
        ("InvalidAccessKeyId.NotFound", "check the AccessKey ID"),
        lambda emu: {"login": "LTAI5tNobodyKnowsMe"},
    ),
    _refused_connection(
        "STS token that does not match its key",
        ("InvalidSecurityToken", "refresh extra 'security_token'"),
        _wrong_sts_token,
    ),
    FaultCase("forbidden (HTTP 403 Forbidden.Access)", _forbidden, False, ("Forbidden.Access", "lacks permission")),
    FaultCase(
        "daily quota used up during the wait (reset at the next second)",
        inject=_quota_used_up_during_the_wait,
        succeeds=True,
        says=("Throttling.Api.Risk", "used up"),
        connection=lambda emu: {"extra": {"daily_quota_reset": STAND_IN_RESET}},
        note={
            "sync": f"deferred to the quota's reset + the margin ({RESUME_MARGIN_S} s; {TEST_MARGIN_S} s here), "
            "then went on",
            "deferrable": f"the wait slept to the quota's reset + the margin ({RESUME_MARGIN_S} s; {TEST_MARGIN_S} s "
            "here), then polled on",
        },
        says_on={
            "sync": ("resuming at", "The daily quota has reset: going on"),
            "deferrable": ("the wait sleeps until",),
        },
    ),
]
PATHS = ("sync", "deferrable")
ROWS: dict[tuple[str, str], list[str]] = {}


@pytest.fixture(scope="module", autouse=True)
def write_reliability_doc() -> Iterator[None]:
    """After the module: docs/reliability.md from the rows of this run (only when every case ran)."""
    yield
    if len(ROWS) != len(CASES) * len(PATHS):
        return
    write_generated_doc(
        DOC,
        __file__,
        "Reliability: the fault matrix",
        [
            "Each row runs `DataWorksTriggerOperator(wait_for_completion=True, wait_for='workflow', "
            "poll_interval=1)` with `dag.test()` against the emulator, the fault hitting both the trigger call "
            f"and the wait's poll (or the connection, or the server). Connection extras: `{CONNECTION}`; the "
            "hook's own retries use exponential back-off with jitter (0.5 s base), so times vary from run to run.",
            "*Time to outcome* is the task instance's start to end (deferral included). *Released* counts the "
            "instance's releases in DataWorks; *API calls* are every call the emulator received (failed ones "
            "included).",
        ],
        ["fault", "path", "outcome", "released", "trigger calls", "API calls", "time to outcome"],
        [ROWS[(case.name, path)] for case in CASES for path in PATHS],
        [
            "A poll that still fails after the hook's retries on a passing cause (throttling, 5xx, no answer) "
            "costs one poll and the wait goes on, up to 5 in a row; anything else fails the wait at once. The "
            "trigger call is retried by the hook on throttling only: after a 5xx or no answer the operator reads "
            "the instance (one GetTaskInstance) and sends the trigger again only while the instance still waits.",
        ],
    )


def task_seconds(dag_run: Any, task_id: str, fallback: float) -> float:
    """The task instance's start to end in seconds (deferral included): time to outcome, without dag.test()'s own
    set-up. ``fallback`` when Airflow did not record an end (Airflow 2's dag.test(); the page is Airflow 3's)."""
    from airflow.utils.session import create_session

    with create_session() as session:
        ti = dag_run.get_task_instance(task_id, session=session)
        if ti.start_date is None or ti.end_date is None:
            return fallback
        return (ti.end_date - ti.start_date).total_seconds()


@pytest.fixture(scope="module", autouse=True)
def sdk_imported() -> None:
    """Import the SDK before the first case, so that its import time (~0.5 s) is not in that case's time."""
    import alibabacloud_dataworks_public20240518.client  # noqa: F401


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault(
    emulator: DataWorksEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture,
    case: FaultCase,
    path: str,
) -> None:
    fields = json.loads(connection_json(emulator, **CONNECTION))
    if case.connection:
        changes = case.connection(emulator)
        fields.update({k: v for k, v in changes.items() if k != "extra"})
        fields["extra"].update(changes.get("extra", {}))
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", json.dumps(fields))
    case.inject(emulator)
    quota = (
        ResetAtTheRefusal(emulator, monkeypatch, use_up_after=TRIGGER)
        if case.inject is _quota_used_up_during_the_wait
        else None
    )
    body = (
        "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001, wait_for_completion=True, "
        f"wait_for='workflow', poll_interval=1, timeout=120, deferrable={path == 'deferrable'})"
    )
    dag_id = f"fault_{path}_{abs(hash(case.name)) % 10**8}"
    started = time.monotonic()
    dr = run_dag(dag_source(dag_id, body), dag_id, RUN_DATE)
    took = task_seconds(dr, "release", fallback=time.monotonic() - started)
    out = capfd.readouterr().out
    if case.inject is _restart_mid_wait:
        RESTART["thread"].join()
        assert any(c.action == POLL for c in emulator.calls[RESTART["calls_before"] :]), "no poll after the restart"
    inst = emulator.instance_of(RELEASE, T)
    calls = Counter(c.action for c in emulator.calls)
    expected_state = "success" if case.succeeds else "failed"
    assert task_states(dr) == {"release": expected_state}, out[-3000:]
    assert inst.releases == (1 if case.succeeds else 0)
    assert inst.status.value != "Failure"
    for fragment in (*case.says, *case.says_on.get(path, ())):
        assert fragment in out, (
            f"{fragment!r} not in the log; calls: {[(c.action, c.error_code) for c in emulator.calls]}"
        )
    assert emulator.access_key_secret not in out
    if quota is not None:
        quota.assert_waited_for_the_reset()
    outcome = f"failed: {case.says[0]} ({case.says[1]})" if not case.succeeds else "success"
    outcome += f" ({case.note[path]})" if path in case.note else ""
    summary = ", ".join(f"{action} {n}" for action, n in sorted(calls.items()))
    ROWS[(case.name, path)] = [
        case.name,
        path,
        outcome,
        str(inst.releases),
        str(calls[TRIGGER]),
        summary,
        f"{took:.1f} s",
    ]
