"""Fixtures of the portal's page tests: a quartier, a norm (rows built by tests/builders.py)."""
from __future__ import annotations

import pytest

from tests.builders import add_graffiti_norm, add_quartier


@pytest.fixture
def quartier(connection):
    """One quartier ``Q1`` « Les Halles-Test » with no data."""
    return add_quartier(connection, "Q1", "Les Halles-Test")


# --- shared by the incident and Open311 tests -------------------------------------------------

@pytest.fixture
def graffiti_norm(connection):
    """A territory-wide norm: graffiti removed within 72 hours."""
    return add_graffiti_norm(connection)
