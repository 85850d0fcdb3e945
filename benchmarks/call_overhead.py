"""Per-call overhead: the hook's get and trigger calls vs the bare SDK call, against the emulator.

Both sides use the same SDK client over loopback HTTP; the hook adds connection settings, the rate
limiter (lifted here: ``qps`` extra), tenacity and the model parsing. Interleaved rounds, median of each.

    python -m benchmarks.call_overhead [--calls 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from benchmarks.common import machine  # noqa: F401 - sets the SDK's environment first


def timed(fn: Callable[[], object], calls: int) -> float:
    """Median seconds per call over ``calls`` calls."""
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run(calls: int) -> list[tuple[str, float, float]]:
    from alibabacloud_dataworks_public20240518 import models
    from darabonba.runtime import RuntimeOptions

    from airflow_provider_dataworks.emulator import DataWorksEmulator
    from airflow_provider_dataworks.hooks.dataworks import DataWorksHook

    fire = datetime(2026, 11, 24, 16, 30, tzinfo=timezone.utc)
    with DataWorksEmulator() as emu:
        ws = emu.add_workspace(1001, "cn-hangzhou")
        emu.add_task(ws, 700001, "release", http_trigger=True, cron="30 0 * * *")
        emu.clock.freeze(fire + timedelta(minutes=1))
        instance_id, fire_ms = emu.instance_of(700001, fire).id, int(fire.timestamp() * 1000)
        os.environ["AIRFLOW_CONN_DATAWORKS_DEFAULT"] = (
            f'{{"conn_type": "dataworks", "login": "{emu.access_key_id}", "password": "{emu.access_key_secret}", '
            f'"extra": {{"endpoint": "{emu.endpoint}", "region_id": "cn-hangzhou", "qps": 100000}}}}'
        )
        hook = DataWorksHook()
        client, runtime = hook.get_conn(), RuntimeOptions()
        get = models.GetTaskInstanceRequest(id=instance_id)
        trigger = models.TriggerSchedulerTaskInstanceRequest(task_id=700001, env_type="Prod", trigger_time=fire_ms)
        pairs = {
            "GetTaskInstance": (
                lambda: client.get_task_instance_with_options(get, runtime),
                lambda: hook.get_instance(instance_id),
            ),
            "TriggerSchedulerTaskInstance (repeated: answers Success)": (
                lambda: client.trigger_scheduler_task_instance_with_options(trigger, runtime),
                lambda: hook.trigger_instance(700001, fire_ms),
            ),
        }
        rows = []
        for name, (bare, ours) in pairs.items():
            timed(bare, 20), timed(ours, 20)  # warm up
            sdk, wrapped = [], []
            for _ in range(5):  # interleaved rounds
                sdk.append(timed(bare, calls // 5))
                wrapped.append(timed(ours, calls // 5))
            rows.append((name, statistics.median(sdk), statistics.median(wrapped)))
        return rows


def table(rows: list[tuple[str, float, float]]) -> str:
    lines = ["| call | bare SDK ms | hook ms | ratio (goal <= 1.2x) |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {sdk * 1000:.2f} | {ours * 1000:.2f} | {ours / sdk:.2f}x |" for name, sdk, ours in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300, help="calls per side and operation")
    print(table(run(parser.parse_args(argv).calls)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
