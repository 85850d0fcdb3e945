"""Print the uv requirements of one Airflow minor of constraints/airflow.ini, one per line.

``python devtools/airflow_pins.py 3.0`` prints the Airflow release and that minor's pins, for
``uv pip install $(python devtools/airflow_pins.py 3.0) -e ".[dev]"``. Standard library only: it runs
before any virtualenv exists, on the Python that creates it.
"""

from __future__ import annotations

import configparser
import sys
from pathlib import Path

PINS_FILE = Path(__file__).resolve().parent.parent / "constraints" / "airflow.ini"


def requirements(minor: str, pins_file: Path = PINS_FILE) -> list[str]:
    """The requirements for Airflow ``minor`` (e.g. ``"3.0"``): its release first, then its pins."""
    table = configparser.ConfigParser(comment_prefixes=("#",), interpolation=None)
    table.read(pins_file, encoding="utf-8")
    if not table.has_section(minor):
        known = ", ".join(table.sections())
        raise SystemExit(f"{pins_file.name}: no section [{minor}]; the Airflow minors it lists are {known}")
    row = table[minor]
    if not row.get("airflow", "").startswith("apache-airflow"):
        raise SystemExit(f"{pins_file.name} [{minor}]: 'airflow' must be a requirement on apache-airflow")
    pins = [line.strip() for line in row.get("pins", "").splitlines() if line.strip()]
    return [row["airflow"].strip(), *pins]


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit("usage: python devtools/airflow_pins.py MINOR   (e.g. 3.0)")
    print("\n".join(requirements(argv[0])))


if __name__ == "__main__":
    main(sys.argv[1:])
