from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _storage(media_root):
    """Every import test stores its files under a fresh MEDIA_ROOT."""
    return media_root
