"""Connections from every place Airflow keeps them, in the worker and deferred, with dag.test() (2.11 and 3.x).

Each source runs one DAG: ``in_worker`` triggers node 700001 and waits for it in the worker (sync lookup), then
``deferred`` finds it released and waits for its workflow in a trigger (async lookup; ``dag.test()`` runs the
trigger in-process). The sources: an ``AIRFLOW_CONN_*`` variable, the metadata database (``airflow connections
add``), and Airflow's local-filesystem secrets backend (configured through the environment, so that DAG runs as
``airflow dags test`` in its own process: Airflow builds its secrets backends once per process).

The lookup errors are checked with Airflow's own exception classes and a real ``LocalFilesystemBackend``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_2_PLUS

from airflow_provider_dataworks.emulator import DataWorksEmulator
from airflow_provider_dataworks.exceptions import DataWorksConfigError, DataWorksError
from airflow_provider_dataworks.hooks.connection_lookup import async_lookup_unsupported, lookup_failure
from airflow_provider_dataworks.hooks.dataworks import DataWorksHook
from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_0_PLUS
from tests.conftest import RUN_DATE, T, connection_json, dag_source, run_dag

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.every_airflow]
LOCAL_FILESYSTEM_BACKEND = "airflow.secrets.local_filesystem.LocalFilesystemBackend"
#: What each Airflow logs when a task defers under dag.test() / airflow dags test.
DEFERRED = "Pausing task as DEFERRED" if AIRFLOW_V_3_0_PLUS else "[DAG TEST] running trigger in line"


def both_waits(conn_id: str) -> str:
    """The DAG body: a wait in the worker, then a deferred one, both through ``conn_id``."""
    common = f"dataworks_task_id=700001, dataworks_conn_id={conn_id!r}, wait_for_completion=True, poll_interval=1"
    in_worker = f"DataWorksTriggerOperator(task_id='in_worker', {common}, wait_for='instance', deferrable=False)"
    deferred = f"DataWorksTriggerOperator(task_id='deferred', {common}, wait_for='workflow', deferrable=True)"
    return f"{in_worker} >> {deferred}"


def task_states(dag_id: str) -> dict[str, str]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(TaskInstance.task_id, TaskInstance.state).filter(TaskInstance.dag_id == dag_id)
        return {task_id: str(state) for task_id, state in rows}


def assert_released_once_and_waited_deferred(emulator: DataWorksEmulator, dag_id: str, output: str) -> None:
    assert task_states(dag_id) == {"in_worker": "success", "deferred": "success"}, output[-3000:]
    assert [c.params["TriggerTime"] for c in emulator.calls_of("TriggerSchedulerTaskInstance")] == [str(T)]
    assert DEFERRED in output
    # Only the trigger waits on the workflow: these polls were signed with the connection it looked up.
    polls = emulator.calls_of("GetWorkflowInstance")
    assert polls and {c.access_key_id for c in polls} == {emulator.access_key_id}
    assert {c.http_status for c in polls} == {200}


def add_connection(conn_id: str, conn_json: str) -> None:
    """``airflow connections add`` into the session's metadata database.

    With this process's ``fernet_key``: it read its configuration before ``airflow db migrate`` wrote the one the
    CLI reads, and a password encrypted with another key cannot be read here (Airflow then says "isn't defined").
    """
    from airflow.configuration import conf

    env = {**os.environ, "AIRFLOW__CORE__FERNET_KEY": conf.get("core", "fernet_key")}
    cmd = [sys.executable, "-m", "airflow", "connections", "add", conn_id, "--conn-json", conn_json]
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=300)


def test_environment_variable(
    emulator: DataWorksEmulator, ticking: None, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_ENV", connection_json(emulator))
    run_dag(dag_source("conn_from_env", both_waits("dataworks_env")), "conn_from_env", RUN_DATE)
    assert_released_once_and_waited_deferred(emulator, "conn_from_env", capfd.readouterr().out)


def test_metadata_database(emulator: DataWorksEmulator, ticking: None, capfd: pytest.CaptureFixture) -> None:
    """The issue's case: on Airflow 3 dag.test()'s in-process runner cannot look this one up asynchronously."""
    add_connection("dataworks_db", connection_json(emulator))
    assert "AIRFLOW_CONN_DATAWORKS_DB" not in os.environ
    run_dag(dag_source("conn_from_db", both_waits("dataworks_db")), "conn_from_db", RUN_DATE)
    assert_released_once_and_waited_deferred(emulator, "conn_from_db", capfd.readouterr().out)


def test_local_filesystem_secrets_backend(emulator: DataWorksEmulator, ticking: None, tmp_path: Path) -> None:
    conn = json.loads(connection_json(emulator))
    conn["extra"] = json.dumps(conn["extra"])  # the file's form: extra as a JSON string
    connections_file = tmp_path / "connections.json"
    connections_file.write_text(json.dumps({"dataworks_file": conn}))
    dag_id = "conn_from_secrets_backend"
    dags = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    (dags / f"{dag_id}.py").write_text(dag_source(dag_id, both_waits("dataworks_file")))
    env = {
        **os.environ,
        "AIRFLOW__SECRETS__BACKEND": LOCAL_FILESYSTEM_BACKEND,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({"connections_file_path": str(connections_file)}),
    }
    done = subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "test", dag_id, RUN_DATE.isoformat()],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert_released_once_and_waited_deferred(emulator, dag_id, done.stdout + done.stderr)


# ----------------------------------------------------------------------------------------------- lookup errors
def test_not_found_in_any_backend_says_create_it() -> None:
    from airflow.providers.common.compat.sdk import AirflowNotFoundException

    failure = lookup_failure("dataworks_missing", AirflowNotFoundException("The conn_id isn't defined"), backends=[])
    assert isinstance(failure, DataWorksConfigError)
    assert str(failure).startswith("Connection 'dataworks_missing' was not found: create a connection")
    assert "AIRFLOW_CONN_DATAWORKS_MISSING" in str(failure)


def test_not_found_asynchronously_too() -> None:
    with pytest.raises(DataWorksConfigError, match="'dataworks_nowhere' was not found"):
        asyncio.run(DataWorksHook("dataworks_nowhere").aget_settings())


@pytest.mark.parametrize("form", ["json", "yaml"])
def test_a_failing_backend_is_named_not_called_not_found(tmp_path: Path, form: str) -> None:
    """Airflow logs a backend's error and says "isn't defined": the hook asks again and names the backend."""
    from airflow.providers.common.compat.sdk import AirflowNotFoundException
    from airflow.secrets.local_filesystem import LocalFilesystemBackend

    secret = "Sup3r-s3cret-AccessKeySecret"  # in the broken file, next to the syntax error
    broken = tmp_path / f"connections.{form}"
    if form == "json":
        broken.write_text('{"dataworks_file": {"conn_type": "dataworks", "password": "' + secret + '",}}')
    else:
        broken.write_text(f"dataworks_file:\n  conn_type: dataworks\n  password: {secret}\n   login: [x\n")
    backends: list[Any] = [LocalFilesystemBackend(connections_file_path=str(broken))]
    failure = lookup_failure("dataworks_file", AirflowNotFoundException("isn't defined"), backends=backends)
    text = str(failure)
    assert type(failure) is DataWorksError, text  # retried: the store may be fixed meanwhile
    assert text.startswith("Looking up connection 'dataworks_file' failed in LocalFilesystemBackend: ")
    assert "AirflowFileParseException: Failed to load the secret file." in text and str(broken) in text
    assert "line " in text and "Fix the backend, its store" in text
    assert "not found" not in text and secret not in text


def test_a_backend_that_has_it_when_asked_again_is_not_called_not_found(tmp_path: Path) -> None:
    from airflow.providers.common.compat.sdk import AirflowNotFoundException
    from airflow.secrets.local_filesystem import LocalFilesystemBackend

    good = tmp_path / "connections.json"
    good.write_text(json.dumps({"dataworks_file": {"conn_type": "dataworks", "login": "id", "password": "pw"}}))
    backends: list[Any] = [LocalFilesystemBackend(connections_file_path=str(good))]
    failure = lookup_failure("dataworks_file", AirflowNotFoundException("isn't defined"), backends=backends)
    assert type(failure) is DataWorksError and "LocalFilesystemBackend has it when asked again" in str(failure)


def test_another_lookup_error_names_its_type_and_first_line_only() -> None:
    from airflow.providers.common.compat.sdk import AirflowConfigException

    err = AirflowConfigException("The secrets backend could not be imported\n[parameters: ('s3cret-value',)]")
    failure = lookup_failure("dataworks_default", err, backends=[])
    assert str(failure).startswith(
        "Looking up connection 'dataworks_default' failed in Airflow's connection lookup: AirflowConfigException: "
        "The secrets backend could not be imported. "
    )
    assert "s3cret-value" not in str(failure)


@pytest.mark.skipif(
    not AIRFLOW_V_3_2_PLUS,
    reason="AirflowSecretsBackendAccessDenied appears in Airflow 3.2 (task SDK 1.2; not in 3.0, 3.1)",
)
def test_an_execution_api_denial_says_so() -> None:
    from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied

    denied = AirflowSecretsBackendAccessDenied("Access denied for connection 'dataworks_default' by Execution API")
    failure = lookup_failure("dataworks_default", denied, backends=[])
    assert "failed in the Execution API (it denied this task the connection): AirflowSecretsBackendAccessDenied" in (
        str(failure)
    )


def test_only_a_runner_without_an_async_channel_falls_back_to_the_sync_lookup() -> None:
    """Outside a task and on Airflow 2: Airflow's async lookup; under dag.test()'s in-process runner: the fallback."""
    assert async_lookup_unsupported() is False
    if not AIRFLOW_V_3_0_PLUS:
        return
    from airflow.jobs.triggerer_job_runner import TriggerCommsDecoder
    from airflow.sdk.execution_time.supervisor import InProcessSupervisorComms, set_supervisor_comms

    assert hasattr(TriggerCommsDecoder, "asend")  # a real triggerer's channel: Airflow's async lookup
    with set_supervisor_comms(InProcessSupervisorComms(supervisor=None)):  # type: ignore[arg-type]
        assert async_lookup_unsupported() is True


def _channel_locks_send_and_asend() -> bool:
    try:
        from airflow.sdk.execution_time.comms import CommsDecoder
    except ImportError:  # Airflow 2: no supervisor channel
        return False
    return hasattr(CommsDecoder, "asend") and "_thread_lock" in {a.name for a in CommsDecoder.__attrs_attrs__}


@pytest.mark.skipif(
    not _channel_locks_send_and_asend(),
    reason="the stand-in channel is the task SDK's CommsDecoder, which serialises send() and asend() from Airflow "
    "3.2 on (before, two lookups at once interleave its frames; 3.0/3.1 triggerers bridge send() to asend())",
)
def test_async_lookups_never_call_the_supervisor_synchronously_on_the_event_loop(
    emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a triggerer every lookup talks to the supervisor (Airflow masks the secrets it found). A sync ``send()``
    on the event loop blocks it for the round trip, and raises ``DeadlockImminentError`` while another coroutine's
    ``asend()`` holds the channel: checking the connection (``extra_dejson``, our own masking) runs in a thread."""
    import msgspec
    from airflow.sdk.execution_time.comms import CommsDecoder, _RequestFrame, _ResponseFrame
    from airflow.sdk.execution_time.supervisor import set_supervisor_comms

    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emulator))
    ours, supervisors = socket.socketpair()
    sync_sends: list[int] = []  # the threads that called send()

    class Channel(CommsDecoder):  # the triggerer's channel, minus its socket set-up; records who calls send()
        def send(self, msg: Any) -> Any:
            sync_sends.append(threading.get_ident())
            return super().send(msg)

    def supervisor() -> None:  # answers each request (MaskSecret) with an empty body
        decoder = msgspec.msgpack.Decoder(_RequestFrame)
        while length := supervisors.recv(4, socket.MSG_WAITALL):
            frame = decoder.decode(supervisors.recv(int.from_bytes(length, "big"), socket.MSG_WAITALL))
            supervisors.sendall(_ResponseFrame(id=frame.id).as_bytes())

    answering = threading.Thread(target=supervisor, daemon=True)
    answering.start()

    async def two_waits_at_once() -> tuple[int, list[Any]]:
        settings = await asyncio.gather(*(DataWorksHook().aget_settings() for _ in range(2)))
        return threading.get_ident(), settings

    try:
        with set_supervisor_comms(Channel(socket=ours)):
            loop_thread, settings = asyncio.run(two_waits_at_once())
    finally:
        ours.close()
        answering.join(timeout=10)
    assert [s.access_key_id for s in settings] == [emulator.access_key_id] * 2
    assert sync_sends and loop_thread not in sync_sends
