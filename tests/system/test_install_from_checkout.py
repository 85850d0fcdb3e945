"""The README's install-from-checkout command for Airflow 3.3, run as written in a fresh virtualenv.

The command is read from README.md, the fenced block between ``<!-- install: checkout -->`` and
``<!-- /install: checkout -->``, so the README and this test cannot drift. It runs with ``bash`` (the block is a
shell's lines) in a copy of the checkout (its files as they are, uncommitted changes included; the build writes
nothing into the working tree), inside a new virtualenv that ``.venv/bin/uv venv --seed`` makes (pip in it, as a
user's). Its constraints come from ``constraints/airflow.ini`` through ``devtools/airflow_pins.py``: a file this
test reaches without a network beyond the package registry. Then ``airflow providers get`` must list the provider,
installed from that checkout (not editable) with the Airflow release the file names.

Runs in ``make test`` only: its Airflow is 3.3 and its ``.venv`` has uv; skipped on other Airflow versions
(``make test-airflow2``) and not listed in the matrix rows' or the oldest SDK's suites. A few minutes: pip
resolves and installs Airflow (from its cache after the first time).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import airflow_provider_dataworks
from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_3_PLUS
from devtools.airflow_pins import requirements
from tests.walkthrough import clean_env

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BEGIN, END = "<!-- install: checkout -->", "<!-- /install: checkout -->"
UV = ROOT / ".venv" / "bin" / "uv"
PACKAGE = "airflow-provider-dataworks"
MINOR = "3.3"
#: Where the package was imported from, the Airflow release, how pip installed it (PEP 610's direct_url.json).
WHAT_IS_INSTALLED = (
    "import json, airflow, airflow_provider_dataworks as p, importlib.metadata as md; "
    "print(json.dumps({'file': p.__file__, 'airflow': airflow.__version__, "
    f"'direct_url': md.distribution('{PACKAGE}').read_text('direct_url.json')}}))"
)

pytestmark = pytest.mark.skipif(
    not AIRFLOW_V_3_3_PLUS or not UV.exists(),
    reason="make test's row (Airflow 3.3, .venv/bin/uv) installs the checkout as the README says",
)


def install_block(readme: str) -> str:
    """The shell lines of the README's fenced block between the install-from-checkout markers."""
    if readme.count(BEGIN) != 1 or readme.count(END) != 1:
        pytest.fail(f"README.md must hold one install-from-checkout block between {BEGIN} and {END}")
    inner = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip().splitlines()
    assert inner[0].startswith("```") and inner[-1] == "```", f"not a fenced block between the markers: {inner}"
    return "\n".join(inner[1:-1])


def checkout_copy(target: Path) -> Path:
    """The checkout's files as they are (tracked and new, git's ignores aside) under ``target``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a file deleted in the working tree is still in git's index
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def run(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 600) -> str:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def json_output(text: str) -> Any:
    """The JSON document of a CLI's ``-o json`` output (Airflow may log a line or two before it)."""
    return json.loads(text[min(i for i in (text.find("["), text.find("{")) if i >= 0) :])


def test_the_readme_block_installs_airflow_3_3_and_the_provider_from_the_checkout(tmp_path: Path) -> None:
    block = install_block(README.read_text(encoding="utf-8"))
    assert f"airflow_pins.py {MINOR}" in block, "the block installs the Airflow release CI tests on 3.3"

    checkout = checkout_copy(tmp_path / "checkout")
    venv = tmp_path / "venv"
    run([str(UV), "venv", "-q", "--seed", "--python", sys.executable, str(venv)], clean_env(UV.parent, tmp_path), ROOT)
    env = {**clean_env(venv / "bin", tmp_path / "airflow-home"), "VIRTUAL_ENV": str(venv)}
    run(["bash", "-euo", "pipefail", "-c", block], env, checkout, timeout=1500)  # as written, from the checkout

    elsewhere = tmp_path / "elsewhere"  # not the checkout: nothing is imported from its source tree
    elsewhere.mkdir()
    airflow = str(venv / "bin" / "airflow")
    (info,) = json_output(run([airflow, "providers", "get", PACKAGE, "-o", "json"], env, elsewhere))
    assert info == {"Provider": PACKAGE, "Version": airflow_provider_dataworks.__version__}
    installed = json.loads(run([str(venv / "bin" / "python"), "-c", WHAT_IS_INSTALLED], env, elsewhere))
    assert Path(installed["file"]).is_relative_to(venv), f"imported from {installed['file']}, not the new virtualenv"
    assert '"editable": true' not in (installed["direct_url"] or ""), "installed editable, not as pip install ."
    assert f"apache-airflow=={installed['airflow']}" == requirements(MINOR)[0]
    usage = run([airflow, "dataworks", "plan", "--help"], env, elsewhere)  # the provider's CLI (Airflow 3.2+)
    assert "airflow dataworks plan" in usage and "--expected-duration" in usage
