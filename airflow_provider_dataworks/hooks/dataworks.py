"""DataWorksHook: the ``dataworks`` connection and the few OpenAPI calls the provider makes.

The SDK (``alibabacloud_*``, ``darabonba``, ``Tea``) is imported only when the first call is made,
never when this module is imported, so DAG files stay cheap to parse.

Every operation has a sync method for workers and an ``a``-prefixed async twin for triggers, both driving
the one copy of the operation in ``domain/api_calls.py``. Each method's calls (what a run spends per path: see the
API-call budget in docs/concepts/api-calls.md; the account's limits: ``domain/api_limits.py``):

| method (and its ``a`` twin)  | OpenAPI operation                  | calls                        |
|------------------------------|------------------------------------|------------------------------|
| trigger_instance             | TriggerSchedulerTaskInstance       | 1                            |
| get_instance                 | GetTaskInstance                    | 1                            |
| list_instances/find_instance | ListTaskInstances (500 a page)     | 1 per 500 instances          |
| list_downstream              | ListDownstreamTaskInstances        | 1 per 500 instances          |
| get_workflow_instance        | GetWorkflowInstance                | 1                            |
| get_task / get_project       | GetTask / GetProject               | 1                            |
| stop_instances               | StopTaskInstances                  | 1                            |
| stop_workflow_instances      | StopWorkflowInstances              | 1                            |
| rerun_instances              | RerunTaskInstances                 | 1 (throttling-only retries)  |

A role connection (``ram_role_arn``, ``oidc_role_arn``) also calls STS (AssumeRole / AssumeRoleWithOIDC) once
per connection and process and then once an hour: STS, not DataWorks quota (``hooks/credentials.py``).

Retries (tenacity): what :attr:`DataWorksApiError.transient` calls passing (throttling, HTTP 5xx, no answer)
is retried, with exponential back-off and jitter, honouring ``x-acs-retry-after``: a 5xx or no answer up to
``retry_limit`` attempts; throttling (429 ``Throttling.*``, the account's QPS shared by every process on it) for as
long as ``throttling_budget_s`` (default 300 s) from the first attempt, however many attempts that takes, each
refusal also halving this process's rate for that kind of call (``hooks/ratelimit.py``); everything else
(signature, authorization, invalid parameter, the daily quota) fails at once. The trigger call is retried on
throttling only (``surely_not_applied``): after a 5xx or no answer it may have taken effect, so the operator reads
the instance before it sends it again. RerunTaskInstances likewise (a second rerun would run the job again); a
stop is retried as a read is (a repeated stop changes nothing).

Metrics (``hooks/metrics.py``, through Airflow's ``Stats``): each call by action and outcome, with its duration
(retries included), each throttled attempt and each retry.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import Any

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    wait_random_exponential,
)
from typing_extensions import Unpack

from airflow_provider_dataworks.domain import api_calls
from airflow_provider_dataworks.domain.api_calls import FindOptions
from airflow_provider_dataworks.domain.api_limits import api_kind
from airflow_provider_dataworks.domain.api_records import Project, Task, TaskInstance, WorkflowInstance
from airflow_provider_dataworks.domain.hook_calls import run_async, run_sync
from airflow_provider_dataworks.exceptions import DataWorksApiError, DataWorksConfigError
from airflow_provider_dataworks.hooks import DEFAULT_CONN_ID, metrics
from airflow_provider_dataworks.hooks.connection import ConnectionSettings, parse_connection
from airflow_provider_dataworks.hooks.connection_fields import EXTRA_FIELDS, UI_FIELD_BEHAVIOUR
from airflow_provider_dataworks.hooks.connection_lookup import async_lookup_unsupported, lookup_failure
from airflow_provider_dataworks.hooks.credentials import build_credential, credentials_failure
from airflow_provider_dataworks.hooks.ratelimit import RateLimiter, limiter_for
from airflow_provider_dataworks.version_compat import BaseHook, mask_secret

log = logging.getLogger(__name__)

#: One SDK client per connection (as it is now) and process: the hooks of a triggerer's waits share it, and
#: with it a role's temporary key (one STS call an hour, not one per wait). Clients keep no per-call state.
_CLIENTS: dict[ConnectionSettings, Any] = {}
_CLIENTS_LOCK = threading.Lock()
#: Back-off between attempts, seconds (exponential with full jitter).
RETRY_WAIT_MIN_S = 0.5
RETRY_WAIT_MAX_S = 30.0


def _snake(action: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


def _retry_rule(action: str, retry_ambiguous: bool) -> Callable[[BaseException], bool]:
    """Whether an SDK exception is worth another attempt: the one rule, on :class:`DataWorksApiError`."""

    def worth_retrying(err: BaseException) -> bool:
        if not _is_sdk_error(err):
            return False
        failed = _to_api_error(action, err)
        return failed.transient if retry_ambiguous else failed.surely_not_applied

    return worth_retrying


def _throttled(action: str, err: BaseException | None) -> bool:
    """DataWorks refused the call for its QPS (429 ``Throttling.*`` other than the daily quota): it did nothing."""
    return err is not None and _is_sdk_error(err) and _to_api_error(action, err).surely_not_applied


class _StopRetrying:
    """Stop retrying after ``retry_limit`` attempts that failed for a reason other than throttling (5xx, no
    answer), or once a throttled call has been retried for ``budget_s`` seconds since the first attempt."""

    def __init__(self, action: str, retry_limit: int, budget_s: float) -> None:
        self.action, self.retry_limit, self.budget_s = action, retry_limit, budget_s
        self.other_failures = 0

    def __call__(self, state: RetryCallState) -> bool:
        err = state.outcome.exception() if state.outcome else None
        if _throttled(self.action, err):
            return (state.seconds_since_start or 0.0) >= self.budget_s
        self.other_failures += 1
        return self.other_failures >= self.retry_limit


def limiter_of(settings: ConnectionSettings, action: str) -> RateLimiter:
    """This process's limiter for ``action``'s kind (read or write) on the connection: at most ``qps``, nor
    more than the account's own limit of that kind."""
    kind = api_kind(action)
    account_qps = settings.read_qps if kind == "read" else settings.write_qps
    return limiter_for(settings.conn_id, settings.endpoint, min(settings.qps, account_qps), kind)


def _retry_after_s(err: BaseException | None) -> float | None:
    retry_after_ms = getattr(err, "retry_after", None)
    return retry_after_ms / 1000.0 if retry_after_ms else None


class _RetryWait:
    """Exponential back-off with jitter, but never shorter than the server's ``x-acs-retry-after``."""

    def __init__(self) -> None:
        self._jitter = wait_random_exponential(multiplier=RETRY_WAIT_MIN_S, max=RETRY_WAIT_MAX_S)

    def __call__(self, state: RetryCallState) -> float:
        backoff = self._jitter(state)
        err = state.outcome.exception() if state.outcome else None
        hint = _retry_after_s(err)
        return max(backoff, hint) if hint is not None else backoff


def _to_api_error(
    action: str, err: BaseException, conn_id: str | None = None, sent_at: float | None = None
) -> DataWorksApiError:
    """The SDK's exception as our own, with Code, Message, RequestId, the connection's id and when the failed
    attempt was sent (epoch s), and nothing else (no headers)."""
    from Tea.exceptions import UnretryableException

    if isinstance(err, UnretryableException):
        inner = err.inner_exception
        failed = credentials_failure(inner, conn_id)
        if failed is not None:
            return failed
        detail = f"{type(inner).__name__}: {inner}" if inner is not None else str(err.message)
        return DataWorksApiError(
            action, "NoAnswer", f"no usable answer from DataWorks ({detail[:300]})", conn_id=conn_id, sent_at=sent_at
        )
    data = getattr(err, "data", None) or {}
    message = data.get("Message") if isinstance(data, dict) else None
    return DataWorksApiError(
        action,
        str(getattr(err, "code", None) or type(err).__name__),
        str(message or getattr(err, "message", "") or err),
        getattr(err, "status_code", None),
        getattr(err, "request_id", None) or (data.get("RequestId") if isinstance(data, dict) else None),
        conn_id=conn_id,
        sent_at=sent_at,
    )


class DataWorksHook(BaseHook):
    """Talks to Alibaba Cloud DataWorks (OpenAPI 2024-05-18) through the official SDK.

    :param dataworks_conn_id: the ``dataworks`` connection: login = AccessKey ID, password = AccessKey
        Secret, extras as in :data:`~airflow_provider_dataworks.hooks.connection_fields.EXTRA_FIELDS`.
    """

    conn_name_attr = "dataworks_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "dataworks"
    hook_name = "Alibaba Cloud DataWorks"

    def __init__(self, dataworks_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataworks_conn_id = dataworks_conn_id
        self._async_settings: ConnectionSettings | None = None
        self._client: Any = None

    # ----------------------------------------------------------------------------- connection form
    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Airflow 2.x's form behaviour; the same as ``ui-field-behaviour`` in the provider info."""
        return {key.replace("-", "_"): value for key, value in UI_FIELD_BEHAVIOUR.items()}

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra fields for Airflow 2.x's connection form (Airflow 3 reads ``conn-fields``)."""
        from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import PasswordField, StringField

        # Airflow 2.x accepts only String/Password/Integer/Boolean fields here (no SelectField).
        widgets: dict[str, Any] = {}
        for name, (label_text, description) in EXTRA_FIELDS.items():
            label = lazy_gettext(label_text)
            if name == "security_token":
                widgets[name] = PasswordField(label, widget=BS3PasswordFieldWidget(), description=description)
            else:
                widgets[name] = StringField(label, widget=BS3TextFieldWidget(), description=description)
        return widgets

    # ----------------------------------------------------------------------------- settings
    @staticmethod
    def _settings_from(conn: Any) -> ConnectionSettings:
        if conn.conn_type not in (None, "", DataWorksHook.conn_type):
            raise DataWorksConfigError(
                f"Connection {conn.conn_id!r} is of type {conn.conn_type!r}; DataWorks needs one of type "
                f"'{DataWorksHook.conn_type}' (Alibaba Cloud DataWorks): change its type or name another connection."
            )
        extras = conn.extra_dejson or {}
        settings = parse_connection(conn.conn_id, conn.login, conn.password, extras)
        for secret in settings.secrets:
            mask_secret(secret)
        return settings

    @cached_property
    def settings(self) -> ConnectionSettings:
        """The checked connection (sync lookup; use :meth:`aget_settings` in a trigger)."""
        try:
            conn = self.get_connection(self.dataworks_conn_id)
        except Exception as err:  # not found, a backend's error: lookup_failure tells which
            raise lookup_failure(self.dataworks_conn_id, err) from err
        return self._settings_from(conn)

    async def aget_settings(self) -> ConnectionSettings:
        """The checked connection, looked up without blocking the event loop.

        Airflow's async lookup where the process can serve it (a triggerer). Under Airflow 3's in-process runner
        (``dag.test()``, ``airflow dags test``), which cannot (:func:`async_lookup_unsupported`), the sync lookup
        in a worker thread instead, where blocking on that runner's in-process supervisor is safe. Checking the
        connection, explaining a failure and masking the secrets run in a worker thread too: on Airflow 3 they make
        sync supervisor calls, which must not block the loop (nor meet another wait's ``asend``).
        """
        if self._async_settings is None:
            from airflow.providers.common.compat.connection import get_async_connection

            conn_id = self.dataworks_conn_id
            try:
                if async_lookup_unsupported():
                    conn = await asyncio.to_thread(self.get_connection, conn_id)
                else:
                    conn = await get_async_connection(conn_id, hook=self)
            except Exception as err:
                raise await asyncio.to_thread(lookup_failure, conn_id, err) from err
            self._async_settings = await asyncio.to_thread(self._settings_from, conn)
        return self._async_settings

    # ----------------------------------------------------------------------------- SDK client
    @staticmethod
    def build_client(settings: ConnectionSettings) -> Any:
        """An SDK ``Client`` for ``settings`` (imports the SDK)."""
        from alibabacloud_dataworks_public20240518.client import Client
        from alibabacloud_tea_openapi.models import Config

        from airflow_provider_dataworks import __version__

        s = settings
        config = Config(
            credential=build_credential(s),
            endpoint=s.endpoint,
            protocol=s.protocol,
            region_id=s.region_id,
            connect_timeout=s.connect_timeout_ms,
            read_timeout=s.read_timeout_ms,
            user_agent=f"airflow-provider-dataworks/{__version__}",
        )
        return Client(config)

    def _client_for(self, settings: ConnectionSettings) -> Any:
        if self._client is None:
            with _CLIENTS_LOCK:
                if settings not in _CLIENTS:
                    _CLIENTS[settings] = self.build_client(settings)
                self._client = _CLIENTS[settings]
        return self._client

    def get_conn(self) -> Any:
        """The SDK client (sync connection lookup)."""
        return self._client_for(self.settings)

    # ----------------------------------------------------------------------------- the call
    def _request_objects(self, action: str, params: dict[str, Any]) -> tuple[Any, Any]:
        from alibabacloud_dataworks_public20240518 import models
        from darabonba.runtime import RuntimeOptions

        request = getattr(models, f"{action}Request")(**params)
        return request, RuntimeOptions()

    def _retrying_kwargs(self, settings: ConnectionSettings, action: str, retry_ambiguous: bool) -> dict[str, Any]:
        def before_sleep(state: RetryCallState) -> None:
            err = state.outcome.exception() if state.outcome else None
            metrics.retry(action, settings.conn_id, "throttled" if _throttled(action, err) else "transient")
            if _throttled(action, err):
                log.warning(
                    "DataWorks %s attempt %d throttled (%s); retrying in %.1f s (for up to %.0f s in all, extra "
                    "'throttling_budget_s')",
                    action,
                    state.attempt_number,
                    _to_api_error(action, err) if err else "no error",
                    state.upcoming_sleep,
                    settings.throttling_budget_s,
                )
                return
            log.warning(
                "DataWorks %s attempt %d failed (%s); retrying in %.1f s (at most %d failed attempts)",
                action,
                state.attempt_number,
                _to_api_error(action, err) if err else "no error",
                state.upcoming_sleep,
                settings.retry_limit,
            )

        return {
            "stop": _StopRetrying(action, settings.retry_limit, settings.throttling_budget_s),
            "wait": _RetryWait(),
            "retry": retry_if_exception(_retry_rule(action, retry_ambiguous)),
            "before_sleep": before_sleep,
            "reraise": True,
        }

    def call(self, action: str, *, retry_ambiguous: bool = True, **params: Any) -> dict[str, Any]:
        """Make one OpenAPI call (with retries); the response body as a PascalCase dict.

        :param retry_ambiguous: also retry a 5xx or a missing answer, after which the call may have been
            carried out (False for calls that must not be repeated blindly).
        """
        settings = self.settings
        client = self._client_for(settings)
        method = getattr(client, f"{_snake(action)}_with_options")
        limiter = limiter_of(settings, action)
        sent_at: float | None = None

        def attempt() -> Any:
            nonlocal sent_at
            limiter.wait()
            request, runtime = self._request_objects(action, params)
            sent_at = time.time()
            try:
                answer = method(request, runtime)
            except Exception as err:
                if _throttled(action, err):
                    limiter.throttled()
                    metrics.throttled(action, settings.conn_id)
                raise
            limiter.succeeded()
            return answer

        with metrics.api_call(action, settings.conn_id):
            try:
                response = Retrying(**self._retrying_kwargs(settings, action, retry_ambiguous))(attempt)
            except Exception as err:
                if _is_sdk_error(err):
                    raise _to_api_error(action, err, settings.conn_id, sent_at) from err
                raise
        return response.body.to_map()

    async def acall(self, action: str, *, retry_ambiguous: bool = True, **params: Any) -> dict[str, Any]:
        """Async :meth:`call`: async SDK method, async connection lookup, ``asyncio.sleep`` between attempts."""
        settings = await self.aget_settings()
        # The first build imports the SDK (~0.5 s): off the event loop.
        client = self._client or await asyncio.to_thread(self._client_for, settings)
        method: Callable[..., Awaitable[Any]] = getattr(client, f"{_snake(action)}_with_options_async")
        limiter = limiter_of(settings, action)
        sent_at: float | None = None
        with metrics.api_call(action, settings.conn_id):
            try:
                async for attempt in AsyncRetrying(**self._retrying_kwargs(settings, action, retry_ambiguous)):
                    with attempt:
                        await limiter.await_slot()
                        request, runtime = self._request_objects(action, params)
                        sent_at = time.time()
                        try:
                            response = await method(request, runtime)
                        except Exception as err:
                            if _throttled(action, err):
                                limiter.throttled()
                                metrics.throttled(action, settings.conn_id)
                            raise
                        limiter.succeeded()
            except Exception as err:
                if _is_sdk_error(err):
                    raise _to_api_error(action, err, settings.conn_id, sent_at) from err
                raise
        return response.body.to_map()

    # ----------------------------------------------------------------------------- operations
    # Each pair drives the one copy of the operation in ``domain/api_calls.py`` (arguments and calls there).
    def get_settings(self) -> ConnectionSettings:
        """The checked connection (sync lookup); :meth:`aget_settings` is the async twin."""
        return self.settings

    def trigger_instance(self, task_id: int, trigger_time_ms: int, env_type: str | None = None) -> None:
        """TriggerSchedulerTaskInstance in ``env_type`` (default: the connection's); see the operation."""
        run_sync(api_calls.trigger_instance(task_id, trigger_time_ms, env_type), self)

    async def atrigger_instance(self, task_id: int, trigger_time_ms: int, env_type: str | None = None) -> None:
        await run_async(api_calls.trigger_instance(task_id, trigger_time_ms, env_type), self)

    def get_instance(self, instance_id: int) -> TaskInstance:
        return run_sync(api_calls.get_instance(instance_id), self)

    async def aget_instance(self, instance_id: int) -> TaskInstance:
        return await run_async(api_calls.get_instance(instance_id), self)

    def list_instances(
        self, project_id: int, bizdate: int, **filters: Unpack[api_calls.InstanceFilters]
    ) -> list[TaskInstance]:
        """ListTaskInstances of one business date (epoch ms), every page, narrowed by the filters given."""
        return run_sync(api_calls.list_instances(project_id, bizdate, **filters), self)

    async def alist_instances(
        self, project_id: int, bizdate: int, **filters: Unpack[api_calls.InstanceFilters]
    ) -> list[TaskInstance]:
        return await run_async(api_calls.list_instances(project_id, bizdate, **filters), self)

    def find_instance(
        self, task_id: int, trigger_time_ms: int, *, project_id: int, zone: str, **options: Unpack[FindOptions]
    ) -> TaskInstance:
        """The scheduled instance of (task, TriggerTime in ``zone``): one ListTaskInstances call; see the operation."""
        steps = api_calls.find_instance(task_id, trigger_time_ms, project_id=project_id, zone=zone, **options)
        return run_sync(steps, self)

    async def afind_instance(
        self, task_id: int, trigger_time_ms: int, *, project_id: int, zone: str, **options: Unpack[FindOptions]
    ) -> TaskInstance:
        steps = api_calls.find_instance(task_id, trigger_time_ms, project_id=project_id, zone=zone, **options)
        return await run_async(steps, self)

    def list_downstream(self, instance_id: int) -> list[TaskInstance]:
        return run_sync(api_calls.list_downstream(instance_id), self)

    async def alist_downstream(self, instance_id: int) -> list[TaskInstance]:
        return await run_async(api_calls.list_downstream(instance_id), self)

    def get_workflow_instance(self, workflow_instance_id: int) -> WorkflowInstance:
        return run_sync(api_calls.get_workflow_instance(workflow_instance_id), self)

    async def aget_workflow_instance(self, workflow_instance_id: int) -> WorkflowInstance:
        return await run_async(api_calls.get_workflow_instance(workflow_instance_id), self)

    def get_task(self, task_id: int) -> Task:
        return run_sync(api_calls.get_task(task_id), self)

    async def aget_task(self, task_id: int) -> Task:
        return await run_async(api_calls.get_task(task_id), self)

    def get_project(self, project_id: int) -> Project:
        return run_sync(api_calls.get_project(project_id), self)

    async def aget_project(self, project_id: int) -> Project:
        return await run_async(api_calls.get_project(project_id), self)

    def stop_instances(self, ids: list[int], comment: str) -> api_calls.BatchOutcome:
        """StopTaskInstances: the unfinished ones end in Failure; see the operation."""
        return run_sync(api_calls.stop_instances(ids, comment), self)

    async def astop_instances(self, ids: list[int], comment: str) -> api_calls.BatchOutcome:
        return await run_async(api_calls.stop_instances(ids, comment), self)

    def stop_workflow_instances(self, ids: list[int], comment: str) -> api_calls.BatchOutcome:
        """StopWorkflowInstances: every unfinished instance of each workflow instance is stopped."""
        return run_sync(api_calls.stop_workflow_instances(ids, comment), self)

    async def astop_workflow_instances(self, ids: list[int], comment: str) -> api_calls.BatchOutcome:
        return await run_async(api_calls.stop_workflow_instances(ids, comment), self)

    def rerun_instances(self, ids: list[int], comment: str, use_latest_config: bool = False) -> api_calls.BatchOutcome:
        """RerunTaskInstances, retried on throttling only (a rerun must not be repeated blindly)."""
        return run_sync(api_calls.rerun_instances(ids, comment, use_latest_config), self)

    async def arerun_instances(
        self, ids: list[int], comment: str, use_latest_config: bool = False
    ) -> api_calls.BatchOutcome:
        return await run_async(api_calls.rerun_instances(ids, comment, use_latest_config), self)

    def test_connection(self) -> tuple[bool, str]:
        """GetProject when a project id is set, else ListProjects with one row (one API call)."""
        try:
            settings = self.settings
            if settings.project_id:
                project = self.get_project(settings.project_id)
                return True, f"Connected to {settings.endpoint}: workspace {project.id} ({project.name})."
            info = self.call("ListProjects", page_size=1)["PagingInfo"]
            return True, f"Connected to {settings.endpoint}: {info.get('TotalCount', 0)} workspace(s) visible."
        except Exception as err:
            return False, str(err)


def _is_sdk_error(err: BaseException) -> bool:
    try:
        from Tea.exceptions import TeaException
    except ImportError:  # pragma: no cover - the SDK is a dependency
        return False
    return isinstance(err, TeaException)
