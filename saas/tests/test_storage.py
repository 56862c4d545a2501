"""The tenant file storage follows MEDIA_ROOT when it changes (django-tenants keeps the first one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django_tenants.utils import tenant_context

pytestmark = pytest.mark.django_db


def test_a_changed_media_root_moves_each_workspace_s_folder(settings, tmp_path, tenant_a, tenant_b):
    settings.MEDIA_ROOT = str(tmp_path / "one")
    with tenant_context(tenant_a):
        first = default_storage.path("note.txt")
    settings.MEDIA_ROOT = str(tmp_path / "two")
    with tenant_context(tenant_a):
        name = default_storage.save("note.txt", ContentFile(b"alpha"))
        second = default_storage.path(name)
    with tenant_context(tenant_b):
        other = default_storage.path(name)

    assert first.startswith(str(tmp_path / "one"))
    assert second.startswith(str(tmp_path / "two"))
    assert Path(second).read_bytes() == b"alpha"
    assert other.startswith(str(tmp_path / "two")) and other != second  # each workspace its own folder
    assert not (tmp_path / "one").exists()
