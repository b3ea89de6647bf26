"""`faqsearch --version` prints the installed package's version, as a real process."""

import subprocess
import sys
from importlib.metadata import version


def test_version_prints_the_package_version_and_exits_0():
    result = subprocess.run(
        [sys.executable, "-m", "faqsearch.cli", "--version"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"faqsearch {version('faqsearch')}\n"
    assert version("faqsearch") == "0.1.0"  # pyproject.toml
