"""README.md documents every environment variable the code reads."""

import re
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PATTERNS = [
    re.compile(r"""env\.\w+\(\s*["']([A-Z][A-Z0-9_]+)["']"""),
    re.compile(r"""["']([A-Z][A-Z0-9_]+)["'] (?:not )?in env\b"""),
    re.compile(r"""os\.environ(?:\.get)?[\[(]\s*["']([A-Z][A-Z0-9_]+)["']"""),
]
SOURCES = ["relay/settings.py", "relay/embedded/run.py"]


def variables():
    found = set()
    for source in SOURCES:
        text = (BASE_DIR / source).read_text()
        for pattern in PATTERNS:
            found.update(pattern.findall(text))
    return found - {"DJANGO_SETTINGS_MODULE", "PYTHONUNBUFFERED"}


def test_every_setting_is_documented():
    readme = (BASE_DIR / "README.md").read_text()
    names = variables()
    assert len(names) > 20
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert not missing, f"README.md does not document {missing}"


def test_ci_runs_the_readme_test_command():
    readme = (BASE_DIR / "README.md").read_text()
    ci = (BASE_DIR / ".ci/run").read_text()
    assert "make test" in readme and "make test" in ci
