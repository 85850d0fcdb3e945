"""The official value sets (enums) of the DataWorks 2024-05-18 API that the emulator speaks.

Values as Alibaba's metadata and the SDK's model documentation list them (``tests/api_meta/`` keeps the slice the
tests check against). Kept here, apart from the provider's ``domain/api_records.py``, so the emulated DataWorks
does not move when the provider's vocabulary does. All are ``str`` enums: a member equals its value.
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

E = TypeVar("E", bound=Enum)


class Status(str, Enum):
    """``TaskInstance.Status`` (``WorkflowInstance.Status`` has the same values but ``WaitTrigger``)."""

    NOT_RUN = "NotRun"
    WAIT_TIME = "WaitTime"
    WAIT_TRIGGER = "WaitTrigger"
    WAIT_RESOURCE = "WaitResource"
    CHECKING_CONDITION = "CheckingCondition"
    RUNNING = "Running"
    CHECKING = "Checking"
    SUCCESS = "Success"
    FAILURE = "Failure"

    @classmethod
    def terminal(cls) -> frozenset[Status]:
        return frozenset({cls.SUCCESS, cls.FAILURE})

    @classmethod
    def before_trigger(cls) -> frozenset[Status]:
        """Statuses of an HTTP-trigger instance that has not yet been released by a trigger."""
        return frozenset({cls.NOT_RUN, cls.WAIT_TIME, cls.WAIT_TRIGGER})

    @property
    def is_terminal(self) -> bool:
        return self.value in ("Success", "Failure")


class TriggerRecurrence(str, Enum):
    """``TaskInstance.TriggerRecurrence``: how an instance runs when scheduling reaches it."""

    NORMAL = "Normal"
    MANUAL = "Manual"  # a manual task's (manual workflow's) instance: runs when started, not scheduled daily
    PAUSE = "Pause"  # scheduled, set to failed when scheduling reaches it
    PAUSE_CALENDAR = "PauseCalendar"  # the same, by a referenced scheduling calendar
    SKIP = "Skip"  # dry run: set to successful without running
    SKIP_CYCLE = "SkipCycle"  # a weekly / monthly node on a day outside its cycle
    SKIP_CALENDAR = "SkipCalendar"  # a scheduling calendar's dry-run day
    SKIP_UNCHOOSE = "SkipUnchoose"  # not selected in a temporary workflow
    CONDITION_UNCHOOSE = "ConditionUnchoose"  # not chosen by an upstream branch node
    REALTIME_DEPRECATED = "RealtimeDeprecated"  # an expired instance generated in real time

    @property
    def is_dry_run(self) -> bool:
        return self.value in DRY_RUNS

    @property
    def is_paused(self) -> bool:
        return self.value in PAUSED


#: Recurrences whose instance ends Success at its time without running (and releases its downstream).
DRY_RUNS = frozenset({"Skip", "SkipCycle", "SkipCalendar", "SkipUnchoose", "ConditionUnchoose", "RealtimeDeprecated"})
#: Recurrences whose instance ends Failure at its time without running.
PAUSED = frozenset({"Pause", "PauseCalendar"})


class WorkflowInstanceType(str, Enum):
    """``TaskInstance.WorkflowInstanceType`` (``WorkflowInstance.Type`` has the same values but ``ManualFlow``)."""

    NORMAL = "Normal"  # periodic scheduling
    SUPPLEMENT_DATA = "SupplementData"  # data backfill
    MANUAL = "Manual"  # a manual task
    MANUAL_WORKFLOW = "ManualWorkflow"
    MANUAL_FLOW = "ManualFlow"  # a manually executed business flow
    SMOKE_TEST = "SmokeTest"
    TRIGGER_WORKFLOW = "TriggerWorkflow"


#: Instance types started by hand: their instances carry TriggerType/TriggerRecurrence ``Manual`` and start at once.
MANUAL_TYPES = frozenset({"Manual", "ManualWorkflow", "ManualFlow"})


class TriggerType(str, Enum):
    SCHEDULER = "Scheduler"
    MANUAL = "Manual"


class RerunMode(str, Enum):
    ALL_ALLOWED = "AllAllowed"
    FAILURE_ALLOWED = "FailureAllowed"
    ALL_DENIED = "AllDenied"


class ProjectEnv(str, Enum):
    PROD = "Prod"
    DEV = "Dev"


def parse(enum: type[E], value: str, what: str) -> E:
    """``enum(value)``, or a ValueError that lists the official values."""
    try:
        return enum(getattr(value, "value", value))
    except ValueError:
        allowed = ", ".join(str(m.value) for m in enum)
        raise ValueError(f"{what} {value!r} is not an official value ({allowed})") from None
