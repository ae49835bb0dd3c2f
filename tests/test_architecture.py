"""The import contract of pyproject.toml ([tool.importlinter]) holds, and breaks on an upward edge."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ova", "notifications", "layers", "norms", "indicators", "addresses", "incidents", "etl", "portal")
_LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    """Run import-linter on the packages found in ``cwd`` (``python -c`` puts cwd first on sys.path)."""
    return subprocess.run([sys.executable, "-c", _LINT], cwd=cwd, capture_output=True, text=True, timeout=300)


def _not_python(folder: str, names: list[str]) -> list[str]:
    """What ``copytree`` skips: everything but Python files and folders (templates, assets…)."""
    return [n for n in names if not n.endswith(".py") and not (Path(folder) / n).is_dir() or n == "__pycache__"]


def test_dependencies_point_one_way():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=_not_python)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(tmp_path / "norms" / "engine.py", "a", encoding="utf-8") as handle:
        handle.write("\nfrom portal.database import get_session  # an upward edge\n")
    result = _lint(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "0 kept, 1 broken" in result.stdout
    assert "norms.engine -> portal.database" in result.stdout
