"""Airflow 3's UI in headless Chromium (Debian's ``chromium``, driven by Playwright) on the end-to-end stack.

The Add Connection form offers the DataWorks type with its fields and masks the secrets; a connection
saved there releases an instance; the task instance shows the DataWorks console extra link. Screenshots go
to ``$TEST_ARTIFACTS/browser`` (default ``test-artifacts/browser``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_0_PLUS
from devtools.airflow_stack import AirflowStack
from tests.conftest import UI_CONNECTION_DAG
from tests.system.chromium import ARTIFACTS_ROOT, chromium

pytestmark = pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="Airflow 3's React UI")

ARTIFACTS = ARTIFACTS_ROOT / "browser"
#: 2026-11-15 00:30 Asia/Shanghai: a day no other end-to-end scenario releases.
LOGICAL_DATE = datetime(2026, 11, 14, 16, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium(ARTIFACTS) as launched:
        yield launched


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_connection_form_then_a_run_through_it_then_the_console_link(airflow_stack: AirflowStack, page: Any) -> None:
    stack, keys = airflow_stack, airflow_stack.emulator  # the plain AccessKey (dataworks_default is STS)
    page.goto(f"{stack.api_url}/connections")
    page.get_by_role("button", name="Add Connection").click()
    form = page.get_by_role("dialog")
    form.get_by_role("combobox").fill("DataWorks")
    page.get_by_role("option", name="Alibaba Cloud DataWorks").click()

    # The type's own labels; host, port and schema hidden; the secret masked.
    labels = form.locator("label")
    labels.filter(has_text="AccessKey Secret").wait_for()
    texts = [t.strip(" *\n") for t in labels.all_inner_texts()]
    assert {"AccessKey ID", "AccessKey Secret"} <= set(texts)
    assert not {"Host", "Port", "Schema", "Login", "Password"} & set(texts)
    assert form.locator("input[name='password']").get_attribute("type") == "password"
    form.locator("input[name='connection_id']").fill("dataworks_ui")
    form.locator("input[name='login']").fill(keys["access_key_id"])
    form.locator("input[name='password']").fill(keys["access_key_secret"])
    shot(page, "1-add-connection-standard-fields")
    form.get_by_text("Extra Fields", exact=True).click()
    labels = ("Region ID", "Endpoint", "Workspace ID", "Scheduling time zone", "Auth type", "STS security token",
              "STS endpoint")  # fmt: skip
    for label in labels:
        assert form.locator("label").filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")).count() == 1, label
    assert form.locator("#element_security_token").get_attribute("type") == "password"

    form.locator("#element_region_id").fill("cn-hangzhou")
    form.locator("#element_endpoint").fill(keys["endpoint"])
    form.locator("#element_project_id").fill("1001")
    shot(page, "2-add-connection-extra-fields")
    assert keys["access_key_secret"] not in form.inner_text()  # typed, but shown as dots
    form.get_by_role("button", name="Save").click()
    page.get_by_text("dataworks_ui", exact=True).wait_for()
    shot(page, "3-connection-list")

    # A run through the saved connection releases the 2026-11-15 00:30 instance, signed with its key.
    stack.cli("dags", "trigger", UI_CONNECTION_DAG, "--logical-date", LOGICAL_DATE.isoformat())
    (run,) = stack.wait_runs_finished(UI_CONNECTION_DAG, 1)
    assert run["state"] == "success"
    trigger_ms = int(LOGICAL_DATE.timestamp() * 1000)
    sent = [
        c for c in stack.control.calls("TriggerSchedulerTaskInstance") if c["params"]["TriggerTime"] == str(trigger_ms)
    ]
    assert [c["access_key_id"] for c in sent] == [keys["access_key_id"]]
    (instance,) = [i for i in stack.control.instances(700001) if i["TriggerTime"] == trigger_ms]

    # The task instance's Details tab shows the console link of exactly that instance.
    page.goto(f"{stack.api_url}/dags/{UI_CONNECTION_DAG}/runs/{run['run_id']}/tasks/release/details")
    link = page.get_by_role("link", name="DataWorks Instance")
    link.wait_for()
    shot(page, "4-task-instance-extra-link")
    assert link.get_attribute("href") == (
        "https://dataworks.console.aliyun.com/cn-hangzhou/operation-center/instance"
        f"?projectId=1001&instanceId={instance['Id']}&env=prod"
    )
