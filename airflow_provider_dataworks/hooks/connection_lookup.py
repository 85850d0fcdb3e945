"""What a failed connection lookup means, and which lookup a process can serve.

Airflow (2.11 and 3.x) asks its secrets backends in turn (a custom ``[secrets] backend`` first, then the
``AIRFLOW_CONN_*`` variables, then the metadata database: directly on 2.x, through the Execution API on 3.x);
when one raises, it logs that and asks the next, so a failing backend ends as ``AirflowNotFoundException``
("isn't defined") even for a connection that backend holds. Before saying "not found", :func:`lookup_failure`
asks each backend once more (no DataWorks call, one read of each backend) to tell which one failed.

Airflow imports are made inside the functions: DAG files that import the hook do not pay for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_dataworks.exceptions import DataWorksConfigError, DataWorksError

#: Longest detail of a backend's error quoted in a message, characters.
DETAIL_MAX_CHARS = 300


def async_lookup_unsupported() -> bool:
    """Whether this process's supervisor cannot answer an async lookup: Airflow 3's in-process runner.

    ``dag.test()`` and ``airflow dags test`` run triggers in the task's process with ``InProcessSupervisorComms``,
    which has ``send`` but no ``asend``. The SDK's async lookup then gets nothing from the Execution API (the
    ``AttributeError`` is swallowed) and says a connection of the metadata database "isn't defined". A sync lookup
    in a worker thread works there. A real triggerer's channel has ``asend``; Airflow 2 has no supervisor.
    """
    try:
        from airflow.sdk.execution_time import task_runner
    except ImportError:  # Airflow 2.x
        return False
    comms = getattr(task_runner, "SUPERVISOR_COMMS", None)
    return comms is not None and not hasattr(comms, "asend")


def lookup_failure(conn_id: str, err: Exception, backends: Sequence[Any] | None = None) -> DataWorksError:
    """The error to raise for ``err``, raised by Airflow's lookup of ``conn_id``.

    Not found (``AirflowNotFoundException``) and no backend fails when asked again: :class:`DataWorksConfigError`
    (not retried). A backend that raises, or any other lookup error: :class:`DataWorksError` (retried) naming
    where it failed, the error's type and the first line of its message (never a secret: see :func:`_detail`).

    :param backends: the secrets backends to ask again; default: the ones this process's lookup uses.
    """
    from airflow.providers.common.compat.sdk import AirflowNotFoundException

    if not isinstance(err, AirflowNotFoundException):
        return _failed(conn_id, _where(err), err)
    for backend in _configured_backends() if backends is None else backends:
        try:
            found = backend.get_connection(conn_id=conn_id)
        except Exception as backend_err:
            return _failed(conn_id, type(backend).__name__, backend_err)
        if found is not None:
            return DataWorksError(
                f"Looking up connection {conn_id!r} failed: Airflow did not find it, but {type(backend).__name__} "
                "has it when asked again (a passing failure); the task's retry looks it up again."
            )
    return not_found(conn_id)


def not_found(conn_id: str) -> DataWorksConfigError:
    return DataWorksConfigError(
        f"Connection {conn_id!r} was not found: create a connection of type 'dataworks' "
        f"(Alibaba Cloud DataWorks) with that id, or set AIRFLOW_CONN_{conn_id.upper()}."
    )


def _failed(conn_id: str, where: str, err: BaseException) -> DataWorksError:
    return DataWorksError(
        f"Looking up connection {conn_id!r} failed in {where}: {type(err).__name__}: {_detail(err)}. "
        "Fix the backend, its store or its configuration ([secrets] backend, backend_kwargs); "
        "the task's retry looks the connection up again."
    )


def _where(err: BaseException) -> str:
    try:
        from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied
    except ImportError:  # before Airflow 3.2 (2.x, 3.0, 3.1)
        return "Airflow's connection lookup"
    if isinstance(err, AirflowSecretsBackendAccessDenied):
        return "the Execution API (it denied this task the connection)"
    return "Airflow's connection lookup"


def _detail(err: BaseException) -> str:
    """The first line of ``err``'s message, cut to :data:`DETAIL_MAX_CHARS`, with Airflow's known secrets masked.

    Later lines are dropped: a parse error's code snippet or a database error's SQL parameters can hold a secret.
    A file-parse error (``AirflowFileParseException``) says its file and line numbers instead of its snippet.
    """
    from airflow.providers.common.compat.sdk import redact

    lines = str(err).strip().splitlines()
    detail = lines[0][:DETAIL_MAX_CHARS] if lines else "(no message)"
    file_path = getattr(err, "file_path", None)
    if file_path:
        numbers = [str(e.line_no) for e in getattr(err, "parse_errors", []) if getattr(e, "line_no", None)]
        detail += f" (file {file_path}" + (f", line {', '.join(numbers)})" if numbers else ")")
    return str(redact(detail))


def _configured_backends() -> list[Any]:
    """The secrets backends this process's lookup asks, in Airflow's order."""
    try:
        from airflow.sdk.execution_time.supervisor import ensure_secrets_backend_loaded
    except ImportError:  # Airflow 2.x
        from airflow.configuration import ensure_secrets_loaded

        return list(ensure_secrets_loaded())
    return list(ensure_secrets_backend_loaded())
