"""The CLI: unknown subcommands are usage errors; help shows examples and exit codes."""

from __future__ import annotations

import pytest

from testbed.cli import main


def test_unknown_subcommand_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2


def test_compare_has_its_own_help_with_examples_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "exit status" in out


def test_top_level_help_lists_examples_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "testbed run" in out and "exit status:" in out
