"""The package picture of the README holds: webapp -> demo -> sync -> inspections -> tickets ->
foundation, each importing only what lies below it (checked by import-linter's layers contract
in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("webapp", "demo", "sync", "inspections", "tickets", "foundation")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )


def copy_of_the_code(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_every_import_follows_the_layers(tmp_path):
    result = lint_imports(copy_of_the_code(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_import_upwards_breaks_the_contract(tmp_path):
    tree = copy_of_the_code(tmp_path)
    org = tree / "foundation" / "org.py"
    org.write_text(org.read_text() + "\nfrom tickets.models import Ticket  # noqa\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "foundation.org -> tickets.models" in result.stdout
