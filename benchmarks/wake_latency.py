"""Wake-up latency: how long after an instance finishes in DataWorks its deferred wait reports it.

K waits (the real trigger class and hook, one asyncio loop) on K running instances of an emulator process.
Each instance is set to Success at its own moment, spread over 2..14 poll intervals after the waits start;
the latency of a wait is the time from that change to its event. With backoff (the default: the interval
grows 1.5x per unchanged poll up to 4x) a wait polls less often the longer nothing changes, so it learns of
a change later; shared waits also poll on the shared cycles (multiples of the interval). Time is scaled: the
poll interval is ``--poll`` seconds (1 s) instead of 60 s, and latencies are reported in poll intervals.

    python -m benchmarks.wake_latency [--waits 40] [--poll 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from typing import Any

from benchmarks.common import RUNNING_AT, RUNNING_BIZDATE_MS, EmulatorProcess, run_child, running_workspace

WORKSPACE, FIRST_TASK = 4004, 1_100_000
#: (shared polling, max_poll_interval in poll intervals)
CONFIGS = ((True, 4.0), (True, 1.0), (False, 4.0), (False, 1.0))


def child(info: dict[str, Any], waits: int, poll: float, shared: bool, cap_factor: float) -> dict[str, Any]:
    """Run the waits in this process; the latencies in poll intervals and the calls per wait."""
    from airflow_provider_dataworks.domain.wait_state import WaitState
    from airflow_provider_dataworks.emulator import EmulatorControl
    from airflow_provider_dataworks.hooks.dataworks import DataWorksHook
    from airflow_provider_dataworks.triggers.dataworks import DataWorksTaskInstanceTrigger

    control = EmulatorControl(info["endpoint"], timeout=60)
    instances = DataWorksHook().list_instances(WORKSPACE, RUNNING_BIZDATE_MS)[:waits]
    changes = {inst.id: poll * (2 + 12 * k / max(1, waits - 1)) for k, inst in enumerate(instances)}
    control.clear_calls()

    async def wait(instance_id: int, started: float) -> float:
        wait = WaitState(
            instance_id=instance_id,
            poll_interval=poll,
            max_poll_interval=poll * cap_factor,
            project_id=WORKSPACE,
            bizdate_ms=RUNNING_BIZDATE_MS,
        )
        trigger = DataWorksTaskInstanceTrigger(dataworks_conn_id="dataworks_default", wait=wait, shared=shared)
        async for _ in trigger.run():
            return time.monotonic() - started - changes[instance_id]
        raise AssertionError("no event")

    async def finish(instance_id: int, started: float) -> None:
        await asyncio.sleep(max(0.0, started + changes[instance_id] - time.monotonic()))
        await asyncio.to_thread(control.set_instance_status, instance_id, "Success")

    async def measure() -> list[float]:
        started = time.monotonic()
        finishing = [asyncio.create_task(finish(i.id, started)) for i in instances]
        latencies = await asyncio.gather(*(wait(i.id, started) for i in instances))
        await asyncio.gather(*finishing)
        return list(latencies)

    latencies = sorted(x / poll for x in asyncio.run(measure()))
    calls = control.calls()
    return {
        "shared": shared,
        "cap_factor": cap_factor,
        "median": statistics.median(latencies),
        "p90": latencies[int(0.9 * (len(latencies) - 1))],
        "max": latencies[-1],
        "calls_per_wait": len(calls) / len(instances),
        "calls": len(calls),
    }


def run(waits: int, poll: float) -> list[dict[str, Any]]:
    results = []
    for shared, cap in CONFIGS:
        emulator = EmulatorProcess(
            running_workspace(WORKSPACE, FIRST_TASK, waits), freeze_at=RUNNING_AT
        )  # a fresh one each: every instance running
        conn = emulator.connection(project_id=WORKSPACE, qps=100000, read_timeout_ms=120000)
        env = {**os.environ, "AIRFLOW_CONN_DATAWORKS_DEFAULT": conn}
        try:
            args = [sys.executable, "-m", "benchmarks.wake_latency", "--child", json.dumps(emulator.info),
                    str(int(shared)), str(cap), "--waits", str(waits), "--poll", str(poll)]  # fmt: skip
            results.append(run_child(args, env, f"shared={shared} cap={cap}", timeout=900))
        finally:
            emulator.stop()
    return results


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| polling | max_poll_interval | latency median | p90 | max (poll intervals) | API calls per wait |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        backoff = f"{r['cap_factor']:g} x poll_interval" + (" (default)" if r["cap_factor"] == 4 else " (no backoff)")
        lines.append(
            f"| {'shared cycles' if r['shared'] else 'own timer'} | {backoff} | {r['median']:.2f} | {r['p90']:.2f} | "
            f"{r['max']:.2f} | {r['calls_per_wait']:.2f} |"
        )
    lines.append(
        "\nA change 2..14 poll intervals into the wait; at the default 60 s interval multiply by 60 for seconds. "
        "Shared waits' calls are shared: per wait they cost a fraction of a call per poll."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waits", type=int, default=40)
    parser.add_argument("--poll", type=float, default=1.0, help="poll interval, seconds (stands for 60 s)")
    parser.add_argument("--child", nargs=3, metavar=("INFO", "SHARED", "CAP"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        info, shared, cap = json.loads(args.child[0]), bool(int(args.child[1])), float(args.child[2])
        print(json.dumps(child(info, args.waits, args.poll, shared, cap)))
        return 0
    print(table(run(args.waits, args.poll)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
