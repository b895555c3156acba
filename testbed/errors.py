"""The one exception tree for the testbed package.

    TestbedError
     ├── ConfigError          a config or scenario file is wrong; the message names the key path
     ├── WaitTimeout          a condition was not met before its deadline
     └── ProcessStartError    a child process exited or never printed its ready line
"""

from __future__ import annotations


class TestbedError(Exception):
    """Base class of every error the testbed raises on purpose."""

    __test__ = False  # not a pytest test class, despite the name


class ConfigError(TestbedError):
    """A configuration or scenario file is invalid; the message names the file and key path."""


class WaitTimeout(TestbedError):
    """A condition awaited with a deadline did not become true in time."""


class ProcessStartError(TestbedError):
    """A child server exited, or did not print its ready line before the deadline."""
