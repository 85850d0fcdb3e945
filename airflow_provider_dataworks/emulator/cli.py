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
    parser.add_argument("--qps", type=int, help="per-AccessKey QPS limit (Basic edition: 5)")
    parser.add_argument("--daily-quota", type=int, help="per-AccessKey calls a day (Basic edition: 100)")
    parser.add_argument(
        "--daily-quota-reset", help="when the quota day begins: 'HH:MM[:SS] Zone' (00:00 Asia/Shanghai)"
    )
    parser.add_argument("--region", help="play this region's endpoint: other regions' workspaces are not found")
    parser.add_argument("--freeze-at", help="freeze the clock at this ISO-8601 instant (with offset)")
    parser.add_argument("--sts", action="store_true", help="also issue STS credentials (id, secret, security token)")
    parser.add_argument("--info-file", help="also write the JSON line it prints to this file")
    return parser


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    emu = DataWorksEmulator(
        args.host,
        args.port,
        access_key_id=args.access_key_id,
        access_key_secret=args.access_key_secret,
        repeat_trigger=args.repeat_trigger,
        qps=args.qps,
        daily_quota=args.daily_quota,
        daily_quota_reset=args.daily_quota_reset,
        region=args.region,
    )
    spec = load_spec_file(args.spec) if args.spec else DEMO_SPEC
    emu.load_spec(spec)
    if args.freeze_at:
        emu.clock.freeze(datetime.fromisoformat(args.freeze_at))
    tasks = http_trigger_tasks(spec, emu.clock.now())
    signal.signal(signal.SIGTERM, _interrupt)
    emu.start()
    info = {**emu.info(), "connection": connection_info(emu), "http_trigger_tasks": tasks}
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
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
