"""Triggerer density: N deferred waits in one asyncio loop (the real trigger class and hook) vs the emulator.

Each N runs in a fresh process (so peak RSS is its own) against an emulator process holding N running
instances of one workspace and business date. After the first poll cycle (SDK import, clients), it
measures over the next cycles: API calls per cycle (from the emulator's call log), CPU seconds per cycle
(``time.process_time`` of the waiting process) and peak RSS. Then the same N with ``shared=False`` (one
call per wait, the pattern without shared polling) as the baseline. The client rate limit is lifted for
both (``qps`` extra): with the default 2 QPS, 5,000 unshared waits would need 2,500 s per cycle.

    python -m benchmarks.triggerer_density [--sizes 1000 5000 10000] [--poll 5] [--cycles 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import sys
import time
from typing import Any

from benchmarks.common import RUNNING_AT, RUNNING_BIZDATE_MS, EmulatorProcess, run_child, running_workspace

WORKSPACE, FIRST_TASK = 3003, 1_000_000


def ids_read(calls: list[dict[str, Any]]) -> int:
    """How many instance reads the calls answered (a ListTaskInstances(Ids) answers len(Ids))."""
    return sum(len(json.loads(c["params"]["Ids"])) if "Ids" in c["params"] else 1 for c in calls)


def child(n: int, shared: bool, info: dict[str, Any], poll: float, cycles: int) -> dict[str, Any]:
    """Run ``n`` waits in this process; return the figures."""
    from airflow_provider_dataworks.domain.wait_state import WaitState
    from airflow_provider_dataworks.emulator import EmulatorControl
    from airflow_provider_dataworks.hooks.dataworks import DataWorksHook
    from airflow_provider_dataworks.triggers.dataworks import DataWorksTaskInstanceTrigger

    control = EmulatorControl(info["endpoint"], timeout=300)
    instances = DataWorksHook().list_instances(WORKSPACE, RUNNING_BIZDATE_MS)[:n]
    assert len(instances) == n, f"the emulator holds {len(instances)} instances, not {n}"
    control.clear_calls()
    waits = [
        DataWorksTaskInstanceTrigger(
            dataworks_conn_id="dataworks_default",
            wait=WaitState(
                instance_id=i.id,
                poll_interval=poll,
                max_poll_interval=poll,
                project_id=WORKSPACE,
                bizdate_ms=RUNNING_BIZDATE_MS,
            ),
            shared=shared,
        )
        for i in instances
    ]

    async def drain(trigger: DataWorksTaskInstanceTrigger) -> None:
        async for _ in trigger.run():
            return

    async def measure() -> dict[str, Any]:
        tasks = [asyncio.create_task(drain(w)) for w in waits]
        while ids_read(await asyncio.to_thread(control.calls)) < n:  # the first cycle
            await asyncio.sleep(0.5)
        calls0 = await asyncio.to_thread(control.calls)
        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.sleep(cycles * poll)
        calls1 = await asyncio.to_thread(control.calls)
        cpu1, wall1 = time.process_time(), time.monotonic()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        done = (ids_read(calls1) - ids_read(calls0)) / n
        return {
            "n": n,
            "shared": shared,
            "cycles": round(done, 2),
            "calls_per_cycle": (len(calls1) - len(calls0)) / done if done else math.nan,
            "cpu_s_per_cycle": (cpu1 - cpu0) / done if done else math.nan,
            "wall_s": round(wall1 - wall0, 1),
            "actions": sorted({c["action"] for c in calls1[len(calls0) :]}),
        }

    figures = asyncio.run(measure())
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def run(sizes: list[int], poll: float, cycles: int, baseline_max: int) -> list[dict[str, Any]]:
    emulator = EmulatorProcess(running_workspace(WORKSPACE, FIRST_TASK, max(sizes)), freeze_at=RUNNING_AT)
    conn = emulator.connection(project_id=WORKSPACE, qps=100000, read_timeout_ms=120000)
    env = {**os.environ, "AIRFLOW_CONN_DATAWORKS_DEFAULT": conn}
    results = []
    try:
        for n in sizes:
            for shared in (True, False) if n <= baseline_max else (True,):
                args = [sys.executable, "-m", "benchmarks.triggerer_density", "--child", str(n), str(int(shared)),
                        json.dumps(emulator.info), "--poll", str(poll), "--cycles", str(cycles)]  # fmt: skip
                results.append(run_child(args, env, f"N={n} shared={shared}", timeout=1800))
    finally:
        emulator.stop()
    return results


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| waits | shared polling | API calls / cycle | CPU s / cycle | peak RSS MB | cycles measured |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['n']:,} | {'yes' if r['shared'] else 'no (baseline)'} | {r['calls_per_cycle']:.1f} | "
            f"{r['cpu_s_per_cycle']:.3f} | {r['peak_rss_mb']:.0f} | {r['cycles']} |"
        )
    by = {(r["n"], r["shared"]): r for r in results}
    for n in sorted({r["n"] for r in results}):
        on, off = by[(n, True)], by.get((n, False))
        if off is None:
            lines.append(f"\nN={n:,}: no baseline (one call per wait per cycle does not keep up at this size here).")
            continue
        lines.append(
            f"\nN={n:,}: shared polling makes {off['calls_per_cycle'] / on['calls_per_cycle']:.0f}x fewer calls "
            f"and uses {off['cpu_s_per_cycle'] / max(on['cpu_s_per_cycle'], 1e-9):.1f}x less CPU per cycle."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--poll", type=float, default=5.0, help="poll interval of every wait, seconds")
    parser.add_argument("--cycles", type=int, default=3, help="cycles measured after the first")
    parser.add_argument("--baseline-max", type=int, default=5000, help="largest N also run without sharing")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--child", nargs=3, metavar=("N", "SHARED", "INFO"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        n, shared, info = int(args.child[0]), bool(int(args.child[1])), json.loads(args.child[2])
        print(json.dumps(child(n, shared, info, args.poll, args.cycles)))
        return 0
    results = run(args.sizes, args.poll, args.cycles, args.baseline_max)
    print(json.dumps(results) if args.json else table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
