"""A local emulator of the DataWorks OpenAPI (2024-05-18) that the official SDK talks to.

State and rules live in ``backend`` (with ``schedule`` and ``clock``); ``wire`` answers one request
(``auth`` and ``signature`` check who signed it, ``operations`` types and renders it, ``sts`` plays STS);
``httpd`` serves HTTP with aiohttp; ``control`` is the control API; ``server.DataWorksEmulator`` puts them
together.
"""

from airflow_provider_dataworks.emulator.backend import ApiError, Backend, Settings
from airflow_provider_dataworks.emulator.clock import EmulatorClock
from airflow_provider_dataworks.emulator.control import EmulatorControl
from airflow_provider_dataworks.emulator.server import DataWorksEmulator
from airflow_provider_dataworks.emulator.spec import DEMO_SPEC

__all__ = ["DEMO_SPEC", "ApiError", "Backend", "DataWorksEmulator", "EmulatorClock", "EmulatorControl", "Settings"]
