"""``dataworks-emulator``: run the emulator as a process and print how to reach it.

It prints one JSON line (endpoint, credentials, the Airflow connection, the HTTP trigger nodes and the logical
dates whose instance waits; ``--info-file`` gets the same), then the same for a person as a shell snippet: the
``export AIRFLOW_CONN_DATAWORKS_DEFAULT=...`` lines to paste and the dates to run.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from datetime import datetime
from typing import Any

from airflow_provider_dataworks.domain.api_limits import EDITIONS
from airflow_provider_dataworks.emulator.quickstart import connection_info, describe, http_trigger_tasks
from airflow_provider_dataworks.emulator.server import DataWorksEmulator
from airflow_provider_dataworks.emulator.spec import DEMO_SPEC, load_spec_file


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dataworks-emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--spec", help="scenario file (.json/.yaml); without it, the built-in demo workspace")
    parser.add_argument("--access-key-id", help="AccessKey id to accept (default generated)")
    parser.add_argument("--access-key-secret", help="its secret (default random)")
    parser.add_argument("--repeat-trigger", choices=["success", "error"], default="success")
    limits = parser.add_argument_group(
        "limits", "per account and region, shared by all its keys (default: none); a flag overrides the --spec's quota"
    )
    limits.add_argument(
        "--edition",
        choices=sorted(EDITIONS),
        help="an edition's limits: enterprise = 50 read / 20 write QPS, no daily cap; basic = 5 QPS in all, "
        "100 calls a day (the flags below override its numbers)",
    )
    limits.add_argument("--read-qps", type=float, help="Get*/List* calls a second (Enterprise: 50)")
    limits.add_argument("--write-qps", type=float, help="Trigger/Stop/Rerun/... calls a second (Enterprise: 20)")
    limits.add_argument("--qps", type=float, help="calls a second, reads and writes together (Basic: 5)")
    limits.add_argument("--daily-quota", type=int, help="calls a day (Basic: 100; Enterprise: no cap)")
    limits.add_argument(
        "--throttle-retry-after-ms",
        type=int,
        help="send x-acs-retry-after with a QPS refusal (DataWorks does not document one; default: none)",
    )
    limits.add_argument(
        "--daily-quota-reset", help="when the quota day begins: 'HH:MM[:SS] Zone' (00:00 Asia/Shanghai)"
    )
    parser.add_argument("--region", help="play this region's endpoint: other regions' workspaces are not found")
    parser.add_argument("--freeze-at", help="freeze the clock at this ISO-8601 instant (with offset)")
    parser.add_argument("--sts", action="store_true", help="also issue STS credentials (id, secret, security token)")
    parser.add_argument("--info-file", help="also write the JSON line it prints to this file")
    return parser


#: ``Quota.configure`` argument -> the flag (its ``args`` name) that sets it.
_LIMIT_FLAGS = {
    "qps": "qps",
    "read_qps": "read_qps",
    "write_qps": "write_qps",
    "daily": "daily_quota",
    "retry_after_ms": "throttle_retry_after_ms",
}


def apply_limits(emu: DataWorksEmulator, args: argparse.Namespace) -> None:
    """The limit flags given, over the scenario's quota (a flag not given keeps what the scenario set)."""
    flags = [*_LIMIT_FLAGS.values(), "edition", "daily_quota_reset"]
    if all(getattr(args, flag) is None for flag in flags):
        return
    quota = emu.quota
    limits: dict[str, Any] = {name: getattr(quota, name) for name in _LIMIT_FLAGS}
    if args.edition:
        limits |= EDITIONS[args.edition]
    given = {name: getattr(args, flag) for name, flag in _LIMIT_FLAGS.items()}
    limits |= {k: v for k, v in given.items() if v is not None}
    reset = args.daily_quota_reset or str(quota.reset)
    emu.quota.configure(reset=reset, **limits)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _announce(emu: DataWorksEmulator, args: argparse.Namespace, tasks: Any) -> None:
    """The first stdout line (JSON: address, limits, the connection, the HTTP trigger nodes), then the same in words."""
    info = {**emu.info(), "quota": emu.quota.limits(), "connection": connection_info(emu), "http_trigger_tasks": tasks}
    if args.sts:
        sts = emu.add_sts_credentials()
        info["sts"] = {
            "access_key_id": sts.access_key_id,
            "access_key_secret": sts.access_key_secret,
            "security_token": sts.security_token,
        }
    if args.info_file:
        with open(args.info_file, "w") as handle:
            json.dump(info, handle)
    print(json.dumps(info), *describe(info), sep="\n", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    emu = DataWorksEmulator(
        args.host,
        args.port,
        access_key_id=args.access_key_id,
        access_key_secret=args.access_key_secret,
        repeat_trigger=args.repeat_trigger,
        region=args.region,
    )
    spec = load_spec_file(args.spec) if args.spec else DEMO_SPEC
    emu.load_spec(spec)
    apply_limits(emu, args)
    if args.freeze_at:
        emu.clock.freeze(datetime.fromisoformat(args.freeze_at))
    tasks = http_trigger_tasks(spec, emu.clock.now())
    signal.signal(signal.SIGTERM, _interrupt)
    emu.start()
    try:  # SIGTERM or Ctrl-C at any point from here (even while printing) stops the emulator and exits 0
        _announce(emu, args, tasks)
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
