"""Fixtures of the portal's page tests: a quartier (rows built by tests/builders.py)."""
from __future__ import annotations

import pytest

from tests.builders import add_quartier


@pytest.fixture
def quartier(connection):
    """One quartier ``Q1`` « Les Halles-Test » with no data."""
    return add_quartier(connection, "Q1", "Les Halles-Test")
