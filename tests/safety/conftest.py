"""The safety corpus provisions into the emulator: the library is configured as for a platform."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _library_configured(library_repo: str) -> str:
    """Provisioning needs the platform's library repository configured."""
    return library_repo
