"""The CLI refuses unbuilt subcommands with a clear error and its own exit code, never fake output."""

from __future__ import annotations

import pytest

from testbed.cli import EXIT_NOT_BUILT, main


def test_unbuilt_subcommand_exits_with_not_built(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["selftest"]) == EXIT_NOT_BUILT
    captured = capsys.readouterr()
    assert "not built yet" in captured.err
    assert captured.out == ""


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
