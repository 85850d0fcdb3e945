"""What the operator pushes to XCom is what OpenLineage and the extra link read back."""

from __future__ import annotations

from dataclasses import fields

from airflow_provider_dataworks.domain.wait_state import XCOM_FIELDS, WaitState
from airflow_provider_dataworks.links.dataworks import CONSOLE_URL_XCOM_KEY
from airflow_provider_dataworks.mixins import lineage


def test_each_pushed_key_is_a_field_of_the_wait_state() -> None:
    assert set(XCOM_FIELDS) <= {field.name for field in fields(WaitState)}
    assert len(set(XCOM_FIELDS)) == len(XCOM_FIELDS)


def test_lineage_reads_the_console_address_under_the_extra_links_key() -> None:
    assert lineage._CONSOLE_URL_XCOM_KEY == CONSOLE_URL_XCOM_KEY
