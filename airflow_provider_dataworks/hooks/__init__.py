"""The DataWorks hook (``hooks.dataworks``) and its connection. This package's own module loads nothing else."""

#: The connection id operators, sensors and the hook use when none is named.
DEFAULT_CONN_ID = "dataworks_default"
