from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from marketplace.manifest import Manifest, manifest_validate

EXTENSIONS = Path(__file__).resolve().parents[2] / "extensions"


def first_party(slug: str, **changes: Any) -> Manifest:
    """A first-party manifest, optionally changed (for upgrades)."""
    data = json.loads((EXTENSIONS / slug / "manifest.json").read_text())
    data.update(changes)
    return manifest_validate(data)


@pytest.fixture
def sales_kit() -> Manifest:
    return first_party("saas-sales-kit")
