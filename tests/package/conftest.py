"""Shipping checks: the Teams app package and the Azure infrastructure."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Register the `slow` marker here, so this folder needs no change to pytest.ini."""
    config.addinivalue_line("markers", "slow: runs an outside tool (atk, node) for seconds; deselect with -m 'not slow'")
