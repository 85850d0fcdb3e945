"""Apache Airflow provider for Alibaba Cloud DataWorks (HTTP trigger nodes), with a local DataWorks emulator."""

__version__ = "0.1.0"
