"""Images in the tenant's storage (company logo, product pictures): sniffed, size-limited, generated names.

Bytes live under MEDIA_ROOT/<schema>/ (django-tenants' tenant-aware storage) as `<prefix>/<uuid>`, never
under the uploaded name, and leave the server only through permission-checked views (`image_response`):
the content type is the sniffed one, never the browser's, and only raster images are accepted (no SVG,
which can carry scripts)."""

from __future__ import annotations

import uuid
from typing import IO

import filetype
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.http import FileResponse
from django.utils.translation import gettext as _

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
MAX_IMAGE_BYTES = 5 * 1024 * 1024


def image_store(upload: IO[bytes], *, prefix: str) -> tuple[str, int, str]:
    """Check and store an uploaded image: (storage name, size, content type). ValidationError on anything
    that is not a PNG, JPEG, GIF or WebP picture of at most 5 MB."""
    upload.seek(0, 2)
    size = upload.tell()
    upload.seek(0)
    if size == 0:
        raise ValidationError({"file": [_("The file is empty.")]})
    if size > MAX_IMAGE_BYTES:
        raise ValidationError({"file": [_("The picture is larger than 5 MB.")]})
    kind = filetype.guess(upload.read(8192))
    upload.seek(0)
    if kind is None or kind.mime not in IMAGE_TYPES:
        raise ValidationError({"file": [_("Upload a PNG, JPEG, GIF or WebP picture.")]})
    name = default_storage.save(f"{prefix}/{uuid.uuid4().hex}", File(upload))
    return name, size, str(kind.mime)


def image_discard(storage_name: str) -> None:
    if storage_name and default_storage.exists(storage_name):
        default_storage.delete(storage_name)


def image_response(*, storage_name: str, content_type: str, size: int) -> FileResponse:
    """The image bytes, inline (only sniffed raster types were stored), never sniffed by the browser."""
    response = FileResponse(default_storage.open(storage_name, "rb"), content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, max-age=300"
    response["Content-Length"] = str(size)
    return response
