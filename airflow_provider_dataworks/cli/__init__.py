"""The command line: ``airflow dataworks plan`` and ``airflow dataworks check``.

One module per command (``plan.py``, ``check.py``: the logic and its ``python -m`` entry), their arguments
(``options.py``), what both do at the process's edges (``shared_io.py``), and Airflow 3.2+'s registration
(``commands.py``).
"""
