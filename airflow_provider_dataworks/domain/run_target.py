"""The instance a DAG run names, worked out once per run (pure): the node, its TriggerTime, where it runs.

Times are epoch milliseconds; ``zone`` is the IANA scheduling zone the TriggerTime was read in.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunTarget:
    """The instance a DAG run names: the HTTP trigger node's task and its TriggerTime, in a workspace and env.

    ``source`` says where the TriggerTime came from (``trigger_time``, ``data_interval_end``, ``logical_date``).
    """

    task_id: int
    trigger_time_ms: int
    source: str
    zone: str
    env_type: str
    project_id: int
    region_id: str | None
