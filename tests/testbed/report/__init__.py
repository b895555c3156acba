"""Tests of the run reports, the JUnit file and the compare gate."""
