"""``make bench``: every benchmark, one after the other, each printing its table of figures and ratios.

python -m benchmarks [--quick]
"""

from __future__ import annotations

import subprocess
import sys

from benchmarks.common import machine

QUICK = {
    "parse_cost": ["--repeat", "3"],
    "triggerer_density": ["--sizes", "100", "1000", "--cycles", "2"],
    "wake_latency": ["--waits", "10"],
    "load": ["--runs", "40"],
}


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    print(f"Machine: {machine()}\n")
    for name in ("parse_cost", "api_calls", "triggerer_density", "wake_latency", "call_overhead", "load"):
        args = [sys.executable, "-m", f"benchmarks.{name}", *(QUICK.get(name, []) if quick else [])]
        out = subprocess.run(args, capture_output=True, text=True)
        if out.returncode != 0:
            print(f"## {name}: failed\n{out.stderr[-3000:]}")
            return 1
        lines = out.stdout.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith("| "))
        print(f"## {name} ({' '.join(args[1:])})\n")
        print("\n".join(lines[start:]) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
