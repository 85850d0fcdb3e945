"""Airflow as DataWorks' control plane: stop what a run released, rerun what failed, every timeout in both modes.

The emulator's StopTaskInstances / StopWorkflowInstances / RerunTaskInstances through the hook (the official SDK over
loopback HTTP), then the operator through dag.test() on Airflow 3.3 and 2.11 (this module runs in both venvs), and
the trigger's ``on_kill`` as Airflow 3.3's triggerer calls it. The real stack's cancel and repair are in
tests/system/test_e2e_control.py.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest

from airflow_provider_dataworks.domain import run_control as control
from airflow_provider_dataworks.domain.api_records import TaskInstanceStatus as S
from airflow_provider_dataworks.domain.wait_state import WaitState
from airflow_provider_dataworks.emulator import DataWorksEmulator
from airflow_provider_dataworks.exceptions import DataWorksApiError
from airflow_provider_dataworks.hooks.dataworks import DataWorksHook
from airflow_provider_dataworks.triggers.dataworks import DataWorksTaskInstanceTrigger
from tests.conftest import LOAD_A, LOAD_B, RELEASE, RUN_DATE, UPSTREAM, WORKSPACE, T, dag_source, run_dag, task_states

pytestmark = pytest.mark.usefixtures("dataworks_conn")
REPORT = 700004  # a second level after load_a: shows what a stop or a rerun does to the downstream
EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "example_dataworks_control.py"


@pytest.fixture
def emu(emulator: DataWorksEmulator) -> DataWorksEmulator:
    """The conftest workspace plus ``report`` after load_a; the clock frozen at 00:31, the trigger instance waiting."""
    emulator.add_task(WORKSPACE, REPORT, "report", cron="30 0 * * *", upstream=[LOAD_A], duration=timedelta(minutes=1))
    return emulator


def ids(emu: DataWorksEmulator, *tasks: int) -> list[int]:
    return [emu.instance_of(task, T).id for task in tasks]


def status(emu: DataWorksEmulator, task: int) -> S:
    return emu.instance_of(task, T).status


def sent_ids(emu: DataWorksEmulator, action: str) -> list[list[int]]:
    """The ``Ids`` of each ``action`` call in the emulator's call log."""
    return [json.loads(c.params["Ids"]) for c in emu.calls_of(action)]


def release(emu: DataWorksEmulator, minutes: float = 0) -> None:
    """Trigger the 00:30 instance as an earlier try would have, then let ``minutes`` pass."""
    emu.backend.trigger(RELEASE, T, "Prod")
    emu.clock.advance(timedelta(minutes=minutes))


def operator(**args: object) -> str:
    listed = ", ".join(f"{k}={v!r}" if not isinstance(v, Raw) else f"{k}={v}" for k, v in args.items())
    return f"DataWorksTriggerOperator(task_id='release', dataworks_task_id={RELEASE}, {listed})"


class Raw(str):
    """Python source put in the DAG file as it is (not as a string literal)."""


SECONDS = "__import__('datetime').timedelta(seconds={})"


def run_to_the_end(body: str, dag_id: str) -> dict[str, str]:
    """The task states after a dag.test() run of ``body``; Airflow 2.11's dag.test() re-raises an
    execution_timeout (after failing the task), 3.x's records it."""
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_0_PLUS

    try:
        return task_states(run_dag(dag_source(dag_id, body), dag_id, RUN_DATE))
    except BaseException as err:  # AirflowTaskTimeout is a BaseException
        if AIRFLOW_V_3_0_PLUS or type(err).__name__ != "AirflowTaskTimeout":
            raise
    with create_session() as session:
        return {ti.task_id: str(ti.state) for ti in session.query(TaskInstance).filter_by(dag_id=dag_id)}


# ------------------------------------------------------------------------------------------- emulator and hook
def test_stop_fails_unfinished_instances_and_their_downstream_never_run(emu: DataWorksEmulator) -> None:
    hook = DataWorksHook()
    release(emu, minutes=1)  # load_a (5 min) and load_b (3 min) are running
    a, b, report = ids(emu, LOAD_A, LOAD_B, REPORT)
    stopped = hook.stop_instances([a], control.CANCEL_COMMENT)
    assert (stopped.done, dict(stopped.refused)) == ((a,), {})
    emu.clock.advance(timedelta(hours=1))
    assert (status(emu, LOAD_A), status(emu, LOAD_B), status(emu, REPORT)) == (S.FAILURE, S.SUCCESS, S.NOT_RUN)
    again = hook.stop_instances([a, b], control.CANCEL_COMMENT)  # both finished: refused, nothing changes
    assert again.done == () and set(again.refused) == {a, b} and "already Success" in again.refused[b]
    assert sent_ids(emu, "StopTaskInstances") == [[a], [a, b]]
    assert emu.calls_of("StopTaskInstances")[0].params["Comment"] == control.CANCEL_COMMENT
    assert emu.instance_of(REPORT, T).started_at is None and report


def test_stop_workflow_stops_every_unfinished_member(emu: DataWorksEmulator) -> None:
    hook = DataWorksHook()
    release(emu, minutes=1)
    wfi = emu.instance_of(RELEASE, T).workflow_instance_id
    stopped = asyncio.run(hook.astop_workflow_instances([wfi], control.CANCEL_COMMENT))
    assert stopped.done == (wfi,)
    emu.clock.advance(timedelta(hours=1))
    assert [status(emu, t) for t in (RELEASE, LOAD_A, LOAD_B, REPORT)] == [S.SUCCESS, S.FAILURE, S.FAILURE, S.FAILURE]
    assert hook.get_workflow_instance(wfi).status == S.FAILURE
    again = hook.stop_workflow_instances([wfi], control.CANCEL_COMMENT)
    assert again.done == () and "already Failure" in again.refused[wfi]
    assert [c.action for c in emu.calls][-1] == "StopWorkflowInstances"


def test_rerun_runs_the_instance_again_and_its_downstream_follow(emu: DataWorksEmulator) -> None:
    hook = DataWorksHook()
    emu.backend.tasks[LOAD_A].failing_runs = 1  # a flaky job: its first run fails
    release(emu, minutes=10)
    a, report = ids(emu, LOAD_A, REPORT)
    assert (status(emu, LOAD_A), status(emu, REPORT)) == (S.FAILURE, S.NOT_RUN)
    rerun = asyncio.run(hook.arerun_instances([a], control.RERUN_COMMENT))
    assert rerun.done == (a,) and emu.instance_of(LOAD_A, T).run_number == 2
    assert hook.rerun_instances([report], control.RERUN_COMMENT).refused[report].startswith("Only a finished")
    emu.clock.advance(timedelta(minutes=10))
    assert (status(emu, LOAD_A), status(emu, REPORT)) == (S.SUCCESS, S.SUCCESS)
    assert emu.instance_of(RELEASE, T).releases == 1 and emu.instance_of(LOAD_B, T).run_number == 1
    assert sent_ids(emu, "RerunTaskInstances") == [[a], [report]]


def test_a_rerun_is_not_repeated_after_an_ambiguous_failure_a_stop_is(emu: DataWorksEmulator) -> None:
    hook = DataWorksHook()
    release(emu, minutes=1)
    (a,) = ids(emu, LOAD_A)
    emu.inject_fault("RerunTaskInstances", kind="lost_answer")  # carried out, then no answer
    with pytest.raises(DataWorksApiError, match="NoAnswer"):
        hook.rerun_instances([a], control.RERUN_COMMENT)
    assert len(emu.calls_of("RerunTaskInstances")) == 1  # not sent again: it may have run
    emu.inject_fault("StopTaskInstances", kind="server_error")
    assert hook.stop_instances([a], control.CANCEL_COMMENT).done == (a,)
    assert [c.http_status for c in emu.calls_of("StopTaskInstances")] == [500, 200]


# ------------------------------------------------------------------------------------------- repair (dag.test)
@pytest.mark.usefixtures("airflow_db", "ticking")
@pytest.mark.parametrize("deferrable", [False, True])
def test_a_failure_during_the_wait_fails_the_try_and_the_next_try_reruns_only_it(
    emu: DataWorksEmulator, deferrable: bool, capfd: pytest.CaptureFixture
) -> None:
    emu.backend.tasks[LOAD_A].failing_runs = 1
    body = operator(wait_for_completion=True, wait_for="workflow", deferrable=deferrable, poll_interval=1,
                    rerun_failed=True, retries=1, retry_delay=Raw(SECONDS.format(0)))  # fmt: skip
    dag_id = f"repair_retry_{deferrable}"
    dr = run_dag(dag_source(dag_id, body), dag_id, RUN_DATE)
    assert task_states(dr) == {"release": "success"}
    assert len(emu.calls_of("TriggerSchedulerTaskInstance")) == 1  # the repair never sends the trigger again
    assert sent_ids(emu, "RerunTaskInstances") == [ids(emu, LOAD_A)]
    assert [emu.instance_of(t, T).run_number for t in (LOAD_A, LOAD_B, REPORT)] == [2, 1, 1]
    assert emu.instance_of(RELEASE, T).releases == 1
    out = capfd.readouterr().out
    assert "load_a) is Failure" in out and "rerunning only the failed instances" in out


@pytest.mark.usefixtures("airflow_db", "ticking")
def test_a_try_that_starts_on_a_failed_downstream_reruns_it_then_waits(
    emu: DataWorksEmulator, capfd: pytest.CaptureFixture
) -> None:
    """A cleared task after DataWorks failed: the instance is past its trigger, load_a in Failure."""
    emu.backend.tasks[LOAD_A].failing_runs = 1
    release(emu, minutes=10)
    body = operator(wait_for_completion=True, wait_for="downstream", deferrable=True, poll_interval=1,
                    rerun_failed=True)  # fmt: skip
    dr = run_dag(dag_source("repair_at_start", body), "repair_at_start", RUN_DATE)
    assert task_states(dr) == {"release": "success"}
    actions = [c.action for c in emu.calls]
    # find, the try's first poll, the rerun; then the deferred wait's polls; never a trigger
    assert actions[:3] == ["ListTaskInstances", "ListDownstreamTaskInstances", "RerunTaskInstances"]
    assert set(actions[3:]) == {"ListDownstreamTaskInstances"} and "TriggerSchedulerTaskInstance" not in actions
    assert sent_ids(emu, "RerunTaskInstances") == [ids(emu, LOAD_A)]
    assert (status(emu, LOAD_A), status(emu, LOAD_B)) == (S.SUCCESS, S.SUCCESS)


@pytest.mark.usefixtures("airflow_db")
def test_without_rerun_failed_a_failed_target_fails_the_try(emu: DataWorksEmulator) -> None:
    emu.backend.tasks[LOAD_A].failing_runs = 1
    release(emu, minutes=10)
    body = operator(wait_for_completion=True, wait_for="downstream", deferrable=False, poll_interval=1)
    dr = run_dag(dag_source("no_repair", body), "no_repair", RUN_DATE)
    assert task_states(dr) == {"release": "failed"}
    assert not emu.calls_of("RerunTaskInstances") and status(emu, LOAD_A) == S.FAILURE


# ------------------------------------------------------------------------------------------- cancel and timeouts
@pytest.mark.usefixtures("airflow_db")
def test_sync_execution_timeout_stops_the_running_downstream_and_a_new_try_does_not_trigger_again(
    emu: DataWorksEmulator, capfd: pytest.CaptureFixture
) -> None:
    """The clock is frozen: what is released runs forever. Airflow's alarm ends the try and calls on_kill."""
    DataWorksHook().get_conn()  # the SDK imported before the try's alarm starts (it can take seconds under load)
    body = operator(wait_for_completion=True, wait_for="downstream", deferrable=False, poll_interval=1,
                    cancel_on_kill=True, execution_timeout=Raw(SECONDS.format(5)))  # fmt: skip
    assert run_to_the_end(body, "cancel_exec_timeout_sync") == {"release": "failed"}
    assert [sorted(x) for x in sent_ids(emu, "StopTaskInstances")] == [sorted(ids(emu, LOAD_A, LOAD_B))]
    assert [status(emu, t) for t in (RELEASE, LOAD_A, LOAD_B, REPORT)] == [S.SUCCESS, S.FAILURE, S.FAILURE, S.NOT_RUN]
    assert "cancel_on_kill: stopped downstream instances" in capfd.readouterr().out
    # The same run's task again (a clear, a backfill re-run): past its trigger, it is not triggered again.
    # its downstream is stopped: the wait fails at once
    assert run_to_the_end(body, "cancel_exec_timeout_again") == {"release": "failed"}
    assert len(emu.calls_of("TriggerSchedulerTaskInstance")) == 1 and emu.instance_of(RELEASE, T).releases == 1


@pytest.mark.usefixtures("airflow_db")
@pytest.mark.parametrize("deferrable", [False, True])
def test_the_operators_timeout_stops_the_workflow_with_cancel_on_kill(
    emu: DataWorksEmulator, deferrable: bool, capfd: pytest.CaptureFixture
) -> None:
    body = operator(wait_for_completion=True, wait_for="workflow", deferrable=deferrable, poll_interval=1, timeout=2,
                    cancel_on_kill=True)  # fmt: skip
    dag_id = f"cancel_timeout_{deferrable}"
    dr = run_dag(dag_source(dag_id, body), dag_id, RUN_DATE)
    assert task_states(dr) == {"release": "failed"}
    wfi = emu.instance_of(RELEASE, T).workflow_instance_id
    assert sent_ids(emu, "StopWorkflowInstances") == [[wfi]]
    assert emu.backend.workflow_status(emu.backend.workflow_instance(wfi))[0] == S.FAILURE
    out = capfd.readouterr().out
    assert "The timeout (2 s) passed while waiting for the workflow" in out
    assert f"cancel_on_kill: stopped workflow instance {wfi}." in out


@pytest.mark.usefixtures("airflow_db")
@pytest.mark.parametrize("cancel_on_kill", [False, True])
def test_deferred_execution_timeout_ends_the_wait_and_says_so(
    emu: DataWorksEmulator, cancel_on_kill: bool, capfd: pytest.CaptureFixture
) -> None:
    """Airflow 3.3 does not apply execution_timeout to a deferral (2.11 fails the task without execute_complete):
    the trigger holds it as its deadline."""
    body = operator(wait_for_completion=True, wait_for="downstream", deferrable=True, poll_interval=1,
                    cancel_on_kill=cancel_on_kill, execution_timeout=Raw(SECONDS.format(4)))  # fmt: skip
    dag_id = f"exec_timeout_deferred_{cancel_on_kill}"
    dr = run_dag(dag_source(dag_id, body), dag_id, RUN_DATE)
    assert task_states(dr) == {"release": "failed"}
    out = capfd.readouterr().out
    assert "The execution_timeout (4 s) passed while waiting for the downstream" in out
    if cancel_on_kill:
        assert [sorted(x) for x in sent_ids(emu, "StopTaskInstances")] == [sorted(ids(emu, LOAD_A, LOAD_B))]
        assert (status(emu, LOAD_A), status(emu, LOAD_B)) == (S.FAILURE, S.FAILURE)
    else:
        assert "DataWorks keeps running what was released" in out and not emu.calls_of("StopTaskInstances")
        assert status(emu, LOAD_A) == S.RUNNING


@pytest.mark.usefixtures("airflow_db")
def test_a_cancel_before_the_release_stops_the_trigger_instance_and_nothing_is_triggered_again(
    emu: DataWorksEmulator, capfd: pytest.CaptureFixture
) -> None:
    """Upstream still runs: our trigger is kept by DataWorks. Stopping the trigger instance keeps it from releasing."""
    upstream = emu.instance_of(UPSTREAM, T - 30 * 60_000).id  # 00:00, still running (frozen clock)
    emu.set_instance_status(upstream, "Running")
    emu.set_instance_status(emu.instance_of(RELEASE, T).id, "NotRun")
    body = operator(wait_for_completion=True, wait_for="workflow", deferrable=False, poll_interval=1, timeout=2,
                    cancel_on_kill=True)  # fmt: skip
    dr = run_dag(dag_source("cancel_unreleased", body), "cancel_unreleased", RUN_DATE)
    assert task_states(dr) == {"release": "failed"}
    assert sent_ids(emu, "StopTaskInstances") == [ids(emu, RELEASE)] and not emu.calls_of("StopWorkflowInstances")
    assert "stopped the HTTP-trigger instance (not released yet)" in capfd.readouterr().out
    emu.set_instance_status(upstream, "Success")
    assert (status(emu, RELEASE), status(emu, LOAD_A)) == (S.FAILURE, S.NOT_RUN)
    assert emu.instance_of(RELEASE, T).releases == 0
    dr = run_dag(dag_source("cancel_unreleased_again", body), "cancel_unreleased_again", RUN_DATE)
    assert task_states(dr) == {"release": "failed"} and len(emu.calls_of("TriggerSchedulerTaskInstance")) == 1


# ------------------------------------------------------------------------------------------- the trigger's on_kill
def _trigger(emu: DataWorksEmulator, wait_for: str, cancel_on_kill: bool) -> DataWorksTaskInstanceTrigger:
    wait = WaitState(
        instance_id=emu.instance_of(RELEASE, T).id, wait_for=wait_for, poll_interval=1, released=True,
        trigger_sent_at_ms=T, cancel_on_kill=cancel_on_kill,
    )  # fmt: skip
    return DataWorksTaskInstanceTrigger(dataworks_conn_id="dataworks_default", wait=wait)


@pytest.mark.parametrize("cancel_on_kill", [False, True])
def test_trigger_on_kill_stops_the_downstream_only_with_cancel_on_kill(
    emu: DataWorksEmulator, cancel_on_kill: bool
) -> None:
    """As Airflow 3.3's triggerer does on a user's action: the running wait is cancelled, then ``on_kill`` awaited."""
    release(emu, minutes=1)
    trigger = _trigger(emu, "downstream", cancel_on_kill)

    async def first_poll() -> None:
        while not emu.calls:
            await asyncio.sleep(0.01)

    async def kill_while_waiting() -> None:
        wait = asyncio.ensure_future(trigger.run().__anext__())
        await asyncio.wait_for(first_poll(), 60)  # the wait has polled: the downstream still runs (frozen clock)
        wait.cancel()
        await asyncio.gather(wait, return_exceptions=True)
        await trigger.on_kill()

    emu.clear_calls()
    asyncio.run(kill_while_waiting())
    stops = sent_ids(emu, "StopTaskInstances")
    if cancel_on_kill:
        assert [sorted(x) for x in stops] == [sorted(ids(emu, LOAD_A, LOAD_B))]
        assert (status(emu, LOAD_A), status(emu, LOAD_B)) == (S.FAILURE, S.FAILURE)
    else:
        assert stops == [] and status(emu, LOAD_A) == S.RUNNING
    assert trigger.serialize()[1]["wait"]["cancel_on_kill"] is cancel_on_kill


def test_trigger_on_kill_gives_up_when_dataworks_does_not_answer(
    emu: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    release(emu, minutes=1)
    monkeypatch.setattr(control, "CANCEL_TIMEOUT_S", 1.0)
    fault = emu.inject_fault("StopWorkflowInstances", kind="hold")
    try:
        assert asyncio.run(control.cancel_in_triggerer(DataWorksHook(), _log(), **_target(emu))) is None
    finally:
        fault.release()
    assert fault.arrived.is_set() and "did not answer within 1 s" in caplog.text


def _target(emu: DataWorksEmulator) -> dict[str, object]:
    return {"instance_id": emu.instance_of(RELEASE, T).id, "wait_for": "workflow"}


def _log() -> object:
    import logging

    return logging.getLogger("tests.control")


# ------------------------------------------------------------------------------------------- the example DAG
@pytest.mark.usefixtures("airflow_db", "ticking")
def test_example_control_dag_repairs_a_flaky_node_on_its_retry(emu: DataWorksEmulator) -> None:
    emu.backend.tasks[LOAD_B].failing_runs = 1
    source = EXAMPLE.read_text().replace("timedelta(minutes=5)", "timedelta(0)")  # the retry without its delay
    dr = run_dag(source, "example_dataworks_control", RUN_DATE)
    assert task_states(dr) == {"release_and_wait": "success"}
    assert len(emu.calls_of("TriggerSchedulerTaskInstance")) == 1
    assert sent_ids(emu, "RerunTaskInstances") == [ids(emu, LOAD_B)]
