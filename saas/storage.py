"""Uploaded files: written whole or not at all, and a full disk is a clear error (issue 26).

Django's FileSystemStorage writes straight into the final file, so a disk that fills up mid-write leaves
a half-written file behind and the OSError becomes a 500. This storage writes to a hidden temporary file
in the same folder and links it to its name only once every byte is on disk; on any error the temporary
file is removed, and "no space left" (ENOSPC, EDQUOT) becomes `StorageFull`, which the error views
answer with 507 and a message that nothing was saved (saas/errors.py). The database work of the request
rolls back with the exception, so no record points at a missing file."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from typing import Any

from django.core.files.storage import FileSystemStorage
from django_tenants.files.storage import TenantFileSystemStorage

FULL = {errno.ENOSPC, errno.EDQUOT}


class StorageFull(OSError):
    """The upload did not fit on the file storage; nothing of it was kept."""


class AtomicTenantFileSystemStorage(TenantFileSystemStorage):
    def _clear_cached_properties(self, setting: str, **kwargs: Any) -> None:
        """A changed MEDIA_ROOT/MEDIA_URL moves the tenant folders too. django-tenants 3.x hands Django's
        handler the settings object instead of the setting's name and keeps `relative_media_root` (which
        holds MEDIA_ROOT) until MULTITENANT_RELATIVE_MEDIA_ROOT changes: after an override (tests), files
        went on being written under the first MEDIA_ROOT the process used."""
        FileSystemStorage._clear_cached_properties(self, setting, **kwargs)  # type: ignore[arg-type]
        if setting in {"MEDIA_ROOT", "MEDIA_URL", "MULTITENANT_RELATIVE_MEDIA_ROOT"}:
            self.__dict__.pop("relative_media_root", None)
            self.__dict__.pop("relative_media_url", None)

    def _save(self, name: str, content: Any) -> str:
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        temp = None
        try:
            os.makedirs(directory, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=directory, prefix=".partial-")
            with os.fdopen(fd, "wb") as handle:
                for chunk in content.chunks():
                    handle.write(chunk if isinstance(chunk, bytes) else chunk.encode())
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, self.file_permissions_mode if self.file_permissions_mode is not None else 0o644)
            while True:
                try:
                    os.link(temp, full_path)  # never replaces an existing file
                    break
                except FileExistsError:
                    name = self.get_available_name(name)
                    full_path = self.path(name)
        except OSError as exc:
            if exc.errno in FULL:
                raise StorageFull(exc.errno, "no space left for the upload; nothing was saved") from exc
            raise
        finally:
            if temp is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp)
        return str(name).replace("\\", "/")
