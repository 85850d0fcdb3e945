"""The command line: ``airflow dataworks plan`` and ``airflow dataworks check``."""
