"""``testbed.admin_key``: the admin check, what counts as loopback, and where keys come from (a file
or the command line first, then the environment variable), table-driven."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.admin_key import admin_allowed, env_keys, is_loopback, read_key_file, resolve_keys


@pytest.mark.parametrize(("presented", "key", "allowed"), [
    (None, None, True), ("x", None, True), (None, "k", False), ("", "k", False), ("K", "k", False),
    ("k", "k", True), ("k\udcff", "k", False),
], ids=["off", "off-any", "missing", "empty", "case", "right", "surrogate"])
def test_the_admin_key_is_needed_only_when_set(presented: str | None, key: str | None, allowed: bool) -> None:
    assert admin_allowed(presented, key) is allowed


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("10.0.0.5", False), ("example.org", False),
])
def test_only_loopback_addresses_count_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_key_file_skips_comments_and_blank_lines_and_an_empty_one_is_an_error(tmp_path: Path) -> None:
    good = tmp_path / "keys"
    good.write_text("# a comment\n\n k1 \nt=k2\n")
    assert read_key_file(good) == ["k1", "t=k2"]
    empty = tmp_path / "empty"
    empty.write_text("# nothing\n")
    with pytest.raises(ValueError, match="no key"):
        read_key_file(empty)


@pytest.mark.parametrize(("args", "use_file", "env", "expected"), [
    ([], False, {}, []),
    ([], False, {"V": "a, b\nc"}, ["a", "b", "c"]),
    (["x"], False, {"V": "a"}, ["x"]),
    ([], True, {"V": "a"}, ["f"]),
    (["x"], True, {"V": "a"}, ["f", "x"]),
], ids=["none", "env", "args-over-env", "file-over-env", "file-and-args"])
def test_explicit_keys_win_over_the_environment(tmp_path: Path, args: list[str], use_file: bool,
                                                env: dict[str, str], expected: list[str]) -> None:
    path = tmp_path / "k"
    path.write_text("f\n")
    assert resolve_keys(args, str(path) if use_file else None, env, "V") == expected
    assert env_keys({}, "V") == []


@pytest.mark.parametrize(("argv", "env", "gateway", "middleware"), [
    ([], {}, None, None),
    ([], {"TESTBED_GATEWAY_API_KEY": "g-env", "TESTBED_MIDDLEWARE_API_KEY": "m-env"}, "g-env", "m-env"),
    (["--gateway-api-key", "g-arg"], {"TESTBED_GATEWAY_API_KEY": "g-env"}, "g-arg", None),
], ids=["generated", "environment", "flag-over-environment"])
def test_testbed_up_takes_its_keys_from_flags_then_the_environment(argv: list[str], env: dict[str, str],
                                                                    gateway: str | None, middleware: str | None) -> None:
    from testbed.cli import build_parser, up_settings

    settings = up_settings(build_parser().parse_args(["up", *argv]), env)
    assert settings.gateway_api_key == gateway if gateway else settings.gateway_api_key.startswith("sk-gw-")
    assert settings.middleware_api_key == middleware if middleware else settings.middleware_api_key.startswith("mw-")
    assert settings.host == "127.0.0.1"
