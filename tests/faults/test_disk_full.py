"""Disk full for uploads (issue 26): a clear 507 error, nothing half-written, no record created.

The media folder is a real 1 MB tmpfs mounted for the test (the tests run as root on CI; without the
right to mount, the test is skipped and says so). It is filled to about 100 KB of free space, then a
300 KB document is uploaded through the API and through the storage directly: the kernel answers ENOSPC
mid-write. Expected: 507 with a message that nothing was saved, no document row, no file or partial
file left in the media folder; a small upload afterwards still works."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from saas.storage import AtomicTenantFileSystemStorage, StorageFull

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny_media(settings) -> Iterator[Path]:
    mount = Path(tempfile.mkdtemp(prefix="crm-media-full-"))
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if result.returncode != 0:
        shutil.rmtree(mount, ignore_errors=True)
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {result.stderr.strip()}")
    try:
        filler = mount / "filler.bin"
        free = shutil.disk_usage(mount).free
        filler.write_bytes(b"\0" * (free - 100 * 1024))
        settings.MEDIA_ROOT = str(mount)
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)
        shutil.rmtree(mount, ignore_errors=True)


def _files(mount: Path) -> list[str]:
    return sorted(str(path.relative_to(mount)) for path in mount.rglob("*") if path.is_file())


def test_an_upload_that_does_not_fit_is_a_507_and_leaves_nothing(tiny_media, tenant_a, admin_of, client_for):
    from crm_apps.modules.documents.models import Document

    client = client_for(tenant_a, admin_of(tenant_a), raise_request_exception=False)
    with tenant_context(tenant_a):
        before = Document.objects.count()

    big = SimpleUploadedFile("big.bin", os.urandom(300 * 1024), content_type="application/octet-stream")
    response = client.post("/api/v1/documents/", {"title": "Too big", "file": big})

    print(f"\n[drill] 300 KB upload with ~100 KB free: {response.status_code} {response.json()}")
    assert response.status_code == 507
    assert response.json()["code"] == "storage_full"
    assert "nothing was saved" in response.json()["detail"]
    assert _files(tiny_media) == ["filler.bin"]  # no file, no partial file
    with tenant_context(tenant_a):
        assert Document.objects.count() == before

    small = SimpleUploadedFile("small.txt", b"fits" * 1000, content_type="text/plain")
    ok = client.post("/api/v1/documents/", {"title": "Small", "file": small})
    assert ok.status_code == 201, ok.content
    assert len(_files(tiny_media)) == 2


def test_the_storage_removes_what_it_wrote_when_the_disk_fills(tiny_media, tenant_a):
    storage = AtomicTenantFileSystemStorage()
    with tenant_context(tenant_a), pytest.raises(StorageFull):
        storage.save("documents/big.bin", ContentFile(os.urandom(300 * 1024)))
    assert _files(tiny_media) == ["filler.bin"]


def test_a_page_upload_that_does_not_fit_gets_the_507_page(rf, settings):
    from saas.errors import server_error

    request = rf.get("/m/documents/new/")
    try:
        raise StorageFull(28, "no space left for the upload; nothing was saved")
    except StorageFull:
        response = server_error(request)
    assert response.status_code == 507
    assert b"nothing was saved" in response.content
