"""``DataWorksEmulator``: the emulated DataWorks behind a real HTTP server on a loopback port (the facade).

It puts together the model (``backend.Backend``), the clock, and the API layer (``api/``: the HTTP server, the
request handling, STS, faults, quotas, the call log and the control API); they reach it through protocols and
never import it.

Usage (tests)::

    with DataWorksEmulator() as emu:
        ws = emu.add_workspace(workspace_id=1001, region="cn-hangzhou")
        emu.add_task(ws, task_id=700001, name="release", http_trigger=True, cron="30 0 * * *")
        emu.clock.freeze(datetime(2026, 11, 24, 16, 31, tzinfo=timezone.utc))
        client = Client(Config(endpoint=emu.host_port, protocol="http", access_key_id=emu.access_key_id, ...))
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime, time
from time import time as wall_seconds
from types import TracebackType
from typing import Any

from airflow_provider_dataworks.domain.timing import to_epoch_ms
from airflow_provider_dataworks.emulator.api.auth import Credential, NonceCache
from airflow_provider_dataworks.emulator.api.call_log import Call, CallLog
from airflow_provider_dataworks.emulator.api.control_api import control_answer, is_control
from airflow_provider_dataworks.emulator.api.faults import Fault, FaultPlan
from airflow_provider_dataworks.emulator.api.httpd import EmulatorHTTPServer
from airflow_provider_dataworks.emulator.api.messages import Answer, Request
from airflow_provider_dataworks.emulator.api.quota import Quota
from airflow_provider_dataworks.emulator.api.sts import OidcProvider, StsService
from airflow_provider_dataworks.emulator.api.wire import handle
from airflow_provider_dataworks.emulator.backend import DEFAULT_ACCOUNT_ID, Backend, Instance, Settings, Task, Workspace
from airflow_provider_dataworks.emulator.clock import EmulatorClock
from airflow_provider_dataworks.emulator.spec import apply_spec


class DataWorksEmulator:
    """A local DataWorks OpenAPI (2024-05-18) that the official SDK talks to over HTTP.

    :param host: interface to listen on (loopback by default).
    :param port: 0 picks a free port.
    :param access_key_id: the AccessKey it accepts (generated when not given).
    :param access_key_secret: its secret (random when not given).
    :param repeat_trigger: answer to a trigger that has no effect: ``"success"`` or ``"error"``.
    :param qps: calls per second per account and region, shared by all the account's keys (None: unlimited; Basic
        edition: 5). Other limits (per-kind QPS, an edition's): ``quota.configure``.
    :param daily_quota: calls per quota day per account and region (None: unlimited; Basic: 100).
    :param daily_quota_reset: when the quota day begins, ``"HH:MM[:SS] Zone"`` on the emulated clock (default
        ``00:00 Asia/Shanghai``; see ``domain/api_limits.py``).
    :param generation_time: local time on day D-1 at which instances of day D are generated.
    :param region: the region whose endpoint it plays: workspaces of other regions are not found (None: all).
        :meth:`endpoint_for` opens one more endpoint that plays one given region.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        repeat_trigger: str = "success",
        qps: int | None = None,
        daily_quota: int | None = None,
        daily_quota_reset: str | None = None,
        generation_time: time = time(23, 30),
        fault_seed: int | None = None,
        region: str | None = None,
    ) -> None:
        if repeat_trigger not in ("success", "error"):
            raise ValueError("repeat_trigger must be 'success' or 'error'")
        self.clock = EmulatorClock()
        self.backend = Backend(
            self.clock, Settings(repeat_trigger=repeat_trigger, generation_time=generation_time, region=region)
        )
        self.faults = FaultPlan(fault_seed)
        self.quota = Quota()
        self.quota.configure(qps=qps, daily=daily_quota, reset=daily_quota_reset)
        self.nonces = NonceCache()
        self._host = host
        self._port = port
        self._credentials: dict[str, Credential] = {}
        self._call_log = CallLog()
        self._server = EmulatorHTTPServer(host, port, self._answer)
        self._region_servers: dict[str, EmulatorHTTPServer] = {}
        default = Credential(
            access_key_id or "LTAI5tEmulatorAccessKey",
            access_key_secret or secrets.token_urlsafe(24),
        )
        self._credentials[default.access_key_id] = default
        self._default_credential = default
        self.sts = StsService(self._sts_caller, self._issue_sts_key, lambda n: self.nonces.use(n, wall_seconds()))

    # ------------------------------------------------------------------------------ server
    def start(self) -> DataWorksEmulator:
        """Start serving on a background thread (idempotent); a restart reuses the same port."""
        self._port = self._server.start()
        for server in self._region_servers.values():
            server.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut open connections; state, clock and call log are kept (``start`` brings it back)."""
        self._server.stop()
        for server in self._region_servers.values():
            server.stop()

    def endpoint_for(self, region: str) -> str:
        """``http://host:port`` of an endpoint that plays ``region`` alone, as ``dataworks.<region>.aliyuncs.com``
        does: its calls count in that region's quota and see only its workspaces (another region's answer 404).
        Listens on a free port from the first call on; ``stop``/``start`` stop and restart it on the same port."""
        server = self._region_servers.get(region)
        if server is None:
            server = self._region_servers[region] = EmulatorHTTPServer(
                self._host, 0, lambda request: self._answer(request, region)
            )
            server.start()
        return f"http://{self._host}:{server.port}"

    def _answer(self, request: Request, region: str | None = None) -> Answer:
        """A control API request (on any endpoint), else an OpenAPI or STS one to the endpoint of ``region``."""
        if is_control(request):
            return control_answer(self, request)
        return handle(self, request, region)

    def __enter__(self) -> DataWorksEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def host_port(self) -> str:
        """``host:port``, the form the SDK's ``Config(endpoint=..., protocol="http")`` wants."""
        return f"{self._host}:{self._port}"

    @property
    def endpoint(self) -> str:
        """``http://host:port``."""
        return f"http://{self.host_port}"

    # ------------------------------------------------------------------------------ credentials
    @property
    def access_key_id(self) -> str:
        return self._default_credential.access_key_id

    @property
    def access_key_secret(self) -> str:
        return self._default_credential.access_key_secret

    def add_account(self, account_id: str) -> str:
        """Define an Alibaba Cloud account (numeric id); give it keys with ``add_access_key(account=...)`` and
        workspaces with ``add_workspace(..., account=...)``. Without any, everything is ``DEFAULT_ACCOUNT_ID``'s."""
        return self.backend.add_account(account_id)

    def add_access_key(
        self, access_key_id: str | None = None, access_key_secret: str | None = None, account: str = DEFAULT_ACCOUNT_ID
    ) -> Credential:
        """Accept one more AccessKey pair, of ``account`` (defined already)."""
        cred = Credential(
            access_key_id or f"LTAI5t{secrets.token_hex(8)}",
            access_key_secret or secrets.token_urlsafe(24),
            account_id=self.backend.known_account(str(account)),
        )
        self._credentials[cred.access_key_id] = cred
        return cred

    def add_sts_credentials(self, account: str = DEFAULT_ACCOUNT_ID) -> Credential:
        """Issue an STS key of ``account``: requests must carry its security token, signed."""
        cred = Credential(
            f"STS.{secrets.token_hex(10)}",
            secrets.token_urlsafe(24),
            secrets.token_urlsafe(48),
            self.backend.known_account(str(account)),
        )
        self._credentials[cred.access_key_id] = cred
        return cred

    def credential(self, access_key_id: str) -> Credential | None:
        return self._credentials.get(access_key_id)

    def _sts_caller(self, access_key_id: str) -> tuple[str, str | None, str] | None:
        cred = self._credentials.get(access_key_id)
        return (cred.access_key_secret, cred.security_token, cred.account_id) if cred else None

    def _issue_sts_key(self, account: str) -> tuple[str, str, str]:
        cred = self.add_sts_credentials(account)
        assert cred.security_token is not None
        return cred.access_key_id, cred.access_key_secret, cred.security_token

    def add_role(self, role_arn: str = "acs:ram::1234567890123456:role/airflow-dataworks", **kwargs: Any) -> str:
        """A RAM role the emulated STS lets AccessKeys assume; see :meth:`StsService.add_role`."""
        if kwargs.get("account") is not None:
            kwargs["account"] = self.backend.known_account(str(kwargs["account"]))
        return self.sts.add_role(role_arn, **kwargs)

    def add_oidc_provider(
        self, arn: str = "acs:ram::1234567890123456:oidc-provider/ack-rrsa", token: str | None = None
    ) -> OidcProvider:
        """An OIDC provider whose (one, random unless given) token ``AssumeRoleWithOIDC`` accepts."""
        return self.sts.add_oidc_provider(arn, token)

    # ------------------------------------------------------------------------------ scenario
    def add_workspace(self, workspace_id: int, region: str = "cn-hangzhou", **kwargs: Any) -> Workspace:
        """Define a workspace (DataWorks project); see :meth:`Backend.add_workspace`."""
        return self.backend.add_workspace(workspace_id, region, **kwargs)

    def add_task(self, workspace: Workspace | int, task_id: int, name: str, **kwargs: Any) -> Task:
        """Deploy a task; see :meth:`Backend.add_task` (``cron`` in the workspace zone)."""
        return self.backend.add_task(workspace, task_id, name, **kwargs)

    def instance_of(self, task_id: int, scheduled_at: datetime | int) -> Instance:
        """The instance of ``task_id`` scheduled at ``scheduled_at`` (aware datetime or epoch ms)."""
        ms = scheduled_at if isinstance(scheduled_at, int) else to_epoch_ms(scheduled_at)
        inst = self.backend.find_instance(task_id, ms)
        if inst is None:
            raise LookupError(f"task {task_id} has no instance scheduled at {ms} (yet)")
        return inst

    def add_instance_run(
        self, task_id: int, scheduled_at: datetime | int, workflow_instance_type: str, *, status: str | None = None
    ) -> Instance:
        """A run of ``task_id`` besides its scheduled instance: a data backfill (``SupplementData``), a manual run
        (``Manual``, ``ManualWorkflow``, ``ManualFlow``), a ``SmokeTest`` or a ``TriggerWorkflow``, in a new workflow
        instance of that type, for the day whose scheduled TriggerTime is ``scheduled_at`` (aware datetime or epoch
        ms): it has that TriggerTime and Bizdate, so ListTaskInstances of that business date lists it beside the
        scheduled one. It progresses like any instance (never waiting for a trigger) and ends in the task's outcome
        after its duration, or is set to ``status`` at once. Rules: ``backend/instance_runs.py``."""
        ms = scheduled_at if isinstance(scheduled_at, int) else to_epoch_ms(scheduled_at)
        return self.backend.add_instance_run(task_id, ms, workflow_instance_type, status=status)

    def instances_of(self, task_id: int) -> list[Instance]:
        """Every generated instance of ``task_id``, by scheduled time."""
        self.backend.advance()
        return sorted(
            (i for i in self.backend.instances.values() if i.task_id == task_id), key=lambda i: i.trigger_time
        )

    def set_instance_status(self, instance_id: int, status: str) -> Instance:
        return self.backend.set_status(instance_id, status)

    def load_spec(self, spec: Mapping[str, Any]) -> None:
        """Define workspaces and tasks from a dict (the CLI's JSON/YAML file); see ``spec.py``."""
        apply_spec(self, spec)

    def reset(self) -> None:
        """Forget scenario, calls and faults; the clock goes back to real time."""
        self.backend.reset()
        self.clock.reset()
        self.faults.clear()
        self.clear_calls()

    # ------------------------------------------------------------------------------ faults
    def inject_fault(self, action: str | None = None, kind: str = "server_error", **kwargs: Any) -> Fault:
        """Make ``action`` (None: every action) fail as ``kind`` for the next ``times`` calls or at ``rate``.

        Kinds: see ``api.faults.FAULT_KINDS``. ``retry_after_ms`` (throttle), ``delay_seconds`` (slow),
        ``http_status``/``code``/``message`` (error) tune them.
        """
        return self.faults.add(Fault(kind=kind, action=action, **kwargs))

    def clear_faults(self) -> None:
        self.faults.clear()

    # ------------------------------------------------------------------------------ call log
    def record(self, call: Call) -> None:
        self._call_log.record(call)

    @property
    def calls(self) -> list[Call]:
        """Every OpenAPI call received so far, oldest first."""
        return self._call_log.all()

    def calls_of(self, action: str) -> list[Call]:
        return [c for c in self.calls if c.action == action]

    def clear_calls(self) -> None:
        self._call_log.clear()

    def info(self) -> dict[str, Any]:
        """What a client needs: endpoint and credentials (printed by the CLI; contains the secret)."""
        return {
            "endpoint": self.endpoint,
            "host_port": self.host_port,
            "access_key_id": self.access_key_id,
            "access_key_secret": self.access_key_secret,
            "workspaces": sorted(self.backend.workspaces),
        }
