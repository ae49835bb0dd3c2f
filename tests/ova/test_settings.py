"""Every environment variable is declared once in ova.settings, read there only, and documented."""
import re
from pathlib import Path

import pytest

from ova import settings

ROOT = Path(__file__).resolve().parents[2]
CODE = ("ova", "notifications", "layers", "norms", "indicators", "addresses", "incidents", "etl", "portal")


def _readme_table() -> list[tuple[str, str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Configuration"):text.index("## Architecture")]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [tuple(cell.strip() for cell in row.strip("|").split(" | ")) for row in rows]


def test_readme_configuration_table_is_the_declared_list():
    assert _readme_table() == [(f"`{v.name}`", v.meaning, v.default) for v in settings.VARIABLES]


def test_each_variable_is_listed_once_in_the_readme():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for variable in settings.VARIABLES:
        assert len(re.findall(rf"^\| `{variable.name}` \|", text, flags=re.M)) == 1, variable.name


def test_no_other_module_reads_the_environment():
    readers = []
    for package in CODE:
        for path in (ROOT / package).rglob("*.py"):
            if path == ROOT / "ova" / "settings.py":
                continue
            if re.search(r"os\.environ|os\.getenv|from_envvar", path.read_text(encoding="utf-8")):
                readers.append(str(path.relative_to(ROOT)))
    # etl.pipeline.quiet reads CI (the CI system's variable, not a setting of the project).
    assert readers == ["etl/pipeline.py"]


def test_every_ova_variable_named_in_the_code_is_declared():
    names = set()
    for package in CODE:
        for path in (ROOT / package).rglob("*.py"):
            names |= set(re.findall(r"\bOVA_[A-Z0-9_]+\b", path.read_text(encoding="utf-8")))
    names -= {"OVA_IND", "OVA_MIN_SAMPLE"}  # a JavaScript namespace; a settings-file key (not a variable)
    assert names <= {v.name for v in settings.VARIABLES}, names - {v.name for v in settings.VARIABLES}


def test_portal_settings_from_the_variables_set():
    environ = {"DATABASE_URL": "postgresql://x/y", "OVA_MAX_UPLOAD_MB": "5", "OVA_SECURE_COOKIES": "yes",
               "OVA_BASEMAP_URL": "", "OVA_TRUSTED_PROXIES": "", "SECRET_KEY": "s"}
    assert settings.portal_settings(environ) == {
        "DATABASE_URL": "postgresql://x/y", "MAX_UPLOAD_MB": 5, "SESSION_COOKIE_SECURE": True,
        "REMEMBER_COOKIE_SECURE": True, "BASEMAP_URL": "", "SECRET_KEY": "s"}
    assert settings.portal_settings({}) == {"DATABASE_URL": settings.DEFAULT_DATABASE_URL}


def test_an_undeclared_variable_cannot_be_read():
    with pytest.raises(KeyError, match="OVA_NOT_DECLARED"):
        settings.env("OVA_NOT_DECLARED", {})


def test_test_database_is_never_the_demo_one():
    assert settings.test_database_url({"DATABASE_URL": "postgresql://h/ova?sslmode=disable"}) == \
        "postgresql://h/ova_test?sslmode=disable"
    assert settings.test_database_url({"TEST_DATABASE_URL": "postgresql://h/t"}) == "postgresql://h/t"
