"""Load on one account: a wide backfill of trigger-and-wait tasks on the production stack (PostgreSQL, Redis,
CeleryExecutor, 2 workers of 16 slots, 2 triggerers) against an account limit far below what the tasks ask.

Every task try and each triggerer is a process with its own limiter (``qps`` extra, default 2 a second) that knows
nothing of the others, as in production; the emulator plays one account in one region (``--read-qps`` /
``--write-qps``) and refuses the excess with 429 Throttling.User. Reported: whether every instance was released
exactly once and no try failed, the calls accepted and refused (each refusal retried), and the wall time against
the time the accepted calls need at that QPS. The machinery is ``devtools/load.py``, shared with
``tests/system/celery/test_e2e_load.py`` (40 runs).

    python -m benchmarks.load [--runs 300] [--max-active-runs 32] [--read-qps 5] [--write-qps 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from benchmarks.common import machine
from devtools.load import load_stack, run_backfill


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--max-active-runs", type=int, default=32)
    parser.add_argument("--read-qps", type=float, default=5)
    parser.add_argument("--write-qps", type=float, default=2)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="load-dags-") as dags,
        load_stack(args.read_qps, args.write_qps, Path(dags)) as stack,
    ):
        result = run_backfill(stack, args.runs, args.max_active_runs, args.read_qps, args.write_qps)
    print(f"Machine: {machine()}\n")
    print(result.table())
    held = (
        result.run_states == {"success": args.runs}
        and set(result.tries) == {1}
        and result.releases == {1: args.runs}
        and result.accepted_triggers == {1: args.runs}
    )
    print(f"\nheld: {held} (every run succeeded on its first try, every instance released exactly once)")
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
