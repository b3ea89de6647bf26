"""The CLI turns faqsearch's own errors (`FaqsearchError`) into one `error:` line and exit 2, as
before; a plain ValueError (a numpy or torch bug) is no longer dressed up as a user mistake."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from faqsearch.cli import cli
from indexing.snapshots import SnapshotError, Snapshots
from models.errors import FaqsearchError


@pytest.fixture
def data_dir(tmp_path):
    (tmp_path / "snapshots").mkdir()
    return tmp_path


def test_our_error_is_one_line_and_exit_2(data_dir, monkeypatch):
    def refuse(self, version=None):
        raise SnapshotError("no snapshot 'v9'; valid: v000001")

    monkeypatch.setattr(Snapshots, "info", refuse)
    result = CliRunner().invoke(cli, ["index", "info", "v9", "--index", str(data_dir)])
    assert (result.exit_code, result.stderr) == (2, "error: no snapshot 'v9'; valid: v000001\n")


def test_a_plain_value_error_is_a_bug_not_a_message(data_dir, monkeypatch):
    def bug(self, version=None):
        raise ValueError("operands could not be broadcast together")

    monkeypatch.setattr(Snapshots, "info", bug)
    result = CliRunner().invoke(cli, ["index", "info", "--index", str(data_dir)])
    assert result.exit_code == 1
    assert isinstance(result.exception, ValueError) and not isinstance(result.exception, FaqsearchError)
    assert "error:" not in result.stderr


def test_our_own_option_checks_are_faqsearch_errors():
    from faqsearch.cli import _function_weights

    with pytest.raises(FaqsearchError, match=r"--function-weights: '2' is not a number within \[0, 1\]"):
        _function_weights("1,2")
