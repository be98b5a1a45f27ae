"""Shared fixtures: one TestClient for the API, and seeded randomness."""

from __future__ import annotations

import numpy as np
import pytest
from chainrule.server.app import create_app
from fastapi.testclient import TestClient


@pytest.fixture(scope="session")
def client() -> TestClient:
    return TestClient(create_app())


@pytest.fixture(autouse=True)
def _seed() -> None:
    np.random.seed(0)
