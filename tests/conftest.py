"""Shared fixtures for the Python test suite.

Only ``test_reference_model.py`` runs without the compiled engine; every other module
imports ``lockfree_trading`` itself, so a missing build fails loudly instead of skipping.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def lft():
    import lockfree_trading

    return lockfree_trading


@pytest.fixture
def book(lft):
    """An empty book with a 0.01 tick and a lot of 1."""
    return lft.OrderBook("TEST", tick_size="0.01", lot_size="1")
