"""Pure domain code: time arithmetic, API and run records, wait verdicts, argument checks, limits.

Also the sans-I/O call sequences. Nothing here imports Airflow, the SDK or the package's other layers: only
``domain`` itself and ``airflow_provider_dataworks.exceptions``.
"""
