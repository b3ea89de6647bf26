"""The README stays true: every setting is documented, and CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

from faqsearch.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_configuration_table():
    rows = set(re.findall(r"^\| `(FAQSEARCH_[A-Z0-9_]+)` \|", README, flags=re.MULTILINE))
    expected = {f"FAQSEARCH_{name.upper()}" for name in Settings.model_fields}
    assert rows == expected


def test_ci_runs_the_readme_test_command():
    test_command = "./scripts/setup.sh && .venv/bin/python -m pytest"
    assert test_command in README
    ci = (ROOT / ".ci/run").read_text(encoding="utf-8").rstrip()
    assert ci.endswith(f"{test_command} && .venv/bin/python -m pytest -m slow")
    assert "`.venv/bin/python -m pytest -m slow`" in README


def test_the_quick_start_serves_the_bundled_sample():
    quick_start = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    serve_line = next(line for line in quick_start.splitlines() if "faqsearch serve" in line)
    assert "index build --faqs testsets/cs_faq/faqs.csv" in serve_line
    assert (ROOT / "testsets/cs_faq/faqs.csv").is_file()


def _shown(default) -> str:
    """A default as the configuration table writes it."""
    if default is None:
        return "unset"
    return f"`{default}`"


def test_the_configuration_table_gives_each_settings_default():
    cells = re.findall(r"^\| `(FAQSEARCH_[A-Z0-9_]+)` \| ([^|]+?) \|", README, flags=re.MULTILINE)
    shown = {name: re.sub(r" \(.*\)$", "", value) for name, value in cells}  # "unset (writes refused)"
    expected = {
        f"FAQSEARCH_{name.upper()}": _shown(field.default) for name, field in Settings.model_fields.items()
    }
    assert shown == expected
