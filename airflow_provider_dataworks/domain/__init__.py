"""Pure domain code: time arithmetic, API and run records, wait verdicts, argument checks, limits.

Also the sans-I/O call sequences. Nothing here imports Airflow or the SDK.
"""
