"""Checks the end-to-end modules share (tests/system/test_e2e_stack.py on SQLite,
tests/system/celery/test_e2e_celery.py on PostgreSQL)."""

from __future__ import annotations

from devtools.airflow_stack import AirflowStack


def assert_no_secret_anywhere(stack: AirflowStack, dag_id: str, task_id: str, logical_date: str) -> None:
    """No secret in ``stack.secret_places()`` (task and component logs, XCom, rendered fields, the database dump)
    or in ``airflow tasks render`` of one task. The failure says where, not what."""
    places = stack.secret_places()
    assert len(stack.task_logs()) >= 10, "the scenarios before it wrote task logs"
    assert places["xcom"] != "[]" and places["rendered_task_instance_fields"] != "[]"
    render = stack.cli("tasks", "render", dag_id, task_id, logical_date)
    assert "dataworks_task_id" in render.stdout, render.stdout[-2000:]
    places["airflow tasks render"] = render.stdout + render.stderr
    for secret in stack.secrets:
        leaked = [where for where, text in places.items() if secret in text]
        assert not leaked, f"a secret appears in {leaked}"
