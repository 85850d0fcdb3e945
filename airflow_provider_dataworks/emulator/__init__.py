"""A local emulator of the DataWorks OpenAPI (2024-05-18) that the official SDK talks to.

``backend/`` is the model (DataWorks' state and rules, no HTTP); ``api/`` the API layer in front of it (HTTP,
signatures, STS, quotas, faults, answers in the official shape, the control API and its client ``EmulatorControl``);
``clock`` the emulated time; ``server.DataWorksEmulator`` puts them together; ``spec`` reads scenario files; ``cli``
runs it as the ``dataworks-emulator`` process, printing what ``quickstart`` works out.
"""

from airflow_provider_dataworks.emulator.api.control_api import EmulatorControl
from airflow_provider_dataworks.emulator.backend import ApiError, Backend, Settings
from airflow_provider_dataworks.emulator.clock import EmulatorClock
from airflow_provider_dataworks.emulator.server import DataWorksEmulator
from airflow_provider_dataworks.emulator.spec import DEMO_SPEC

__all__ = ["DEMO_SPEC", "ApiError", "Backend", "DataWorksEmulator", "EmulatorClock", "EmulatorControl", "Settings"]
