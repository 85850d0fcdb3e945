"""(8) DataWorks upstream, Airflow downstream (Airflow 3.0+): a DAG runs when a DataWorks node's instance succeeds.

The asset's watcher (DataWorksInstanceSucceededTrigger, in the triggerer) reads node 700001 of the demo workspace
once a minute, one ListTaskInstances per business date it still has to watch, and fires one asset event per
instance of the daily schedule that reaches Success. The DAG is scheduled on the asset; its task reads the
instance and business date from the triggering asset events. Airflow may gather several events into one run (two
instances that succeed between two scheduler loops), so the task handles each event.

Airflow 2.11 has no asset watchers: there the file defines no DAG.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_0_PLUS

if AIRFLOW_V_3_0_PLUS:
    import pendulum
    from airflow.sdk import DAG, Asset, AssetWatcher, task

    from airflow_provider_dataworks.triggers.asset_watcher import DataWorksInstanceSucceededTrigger

    release_done = Asset(
        name="dataworks_release_from_airflow",
        watchers=[
            AssetWatcher(
                name="release_from_airflow_succeeded",
                trigger=DataWorksInstanceSucceededTrigger(dataworks_task_id=700001, poll_interval=60),
            )
        ],
    )

    with DAG(
        dag_id="example_dataworks_asset_watcher",
        schedule=[release_done],
        start_date=pendulum.datetime(2026, 11, 1, tz="Asia/Shanghai"),
        catchup=False,
        tags=["dataworks", "example"],
    ):

        @task
        def consume(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
            """Each succeeded instance behind this run: its id and business date (the payload has more: the
            scheduled time, the node's name, the workflow instance)."""
            found = []
            for event in triggering_asset_events[release_done]:
                payload = (event.extra or {}).get("payload") or {}
                print(
                    f"DataWorks instance {payload.get('instance_id')} of node {payload.get('node_id')} succeeded: "
                    f"business date {payload.get('bizdate')}, scheduled {payload.get('scheduled_time')}"
                )
                found.append({"instance_id": payload.get("instance_id"), "bizdate": payload.get("bizdate")})
            return found

        consume()
