"""Uploaded files: safe names, sniffed content types, the tenant's storage, and how downloads are served.

Bytes live in the tenant's storage (django-tenants' `TenantFileSystemStorage`: MEDIA_ROOT/<schema>/) under
a generated name `documents/<uuid>`, never the uploaded name, and are served only by the permission-checked
download views (nothing maps MEDIA_URL to these files). The stored content type is sniffed from the first
bytes (`filetype`), never taken from the browser; a few safe types are shown inline, everything else, and
always the active types (HTML, SVG, XML, JavaScript...), is sent as an attachment of type
application/octet-stream with `X-Content-Type-Options: nosniff` and a sandboxing CSP.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from typing import IO

import filetype
from django.core.files.base import File
from django.core.files.storage import default_storage

PREFIX = "documents"
SNIFF_BYTES = 8192
# Shown in the browser when asked (everything else downloads).
INLINE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain"})
# Refused outright: programs.
REFUSED_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-executable",
        "application/x-elf",
        "application/x-mach-binary",
        "application/vnd.microsoft.portable-executable",
        "application/x-sharedlib",
    }
)
_ACTIVE_MARKERS = (b"<html", b"<!doctype", b"<svg", b"<?xml", b"<script", b"<body", b"<iframe", b"<head")
_UNSAFE = re.compile(r"[^\w .()+,@=\[\]-]", re.UNICODE)


def safe_name(raw: str, *, limit: int = 150) -> str:
    """The uploaded name made harmless: no folders, control or shell characters, no leading dots,
    at most `limit` characters (the extension kept); "file" when nothing is left."""
    name = unicodedata.normalize("NFKC", raw or "").replace("\\", "/").split("/")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")
    name = re.sub(r"_+", "_", name)
    if not name:
        return "file"
    if len(name) > limit:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:20] if dot and stem else ""
        name = (name if not ext else stem)[: limit - len(ext) - 1].rstrip(" .") + (f".{ext}" if ext else "")
    return name


def sniff(head: bytes) -> str:
    """The content type the bytes say they are (never the client's claim)."""
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    lowered = head[:1024].lstrip().lower()
    if any(lowered.startswith(m) or m in lowered[:512] for m in _ACTIVE_MARKERS):
        return "text/html"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        # A cut in the middle of a multi-byte character at the end of the sample is still text.
        try:
            head[:-4].decode("utf-8")
        except UnicodeDecodeError:
            return "application/octet-stream"
    return "text/plain"


def served_as(content_type: str) -> tuple[str, bool]:
    """(Content-Type header, inline?) for a stored file of this sniffed type."""
    if content_type in INLINE_TYPES:
        return (content_type + "; charset=utf-8" if content_type == "text/plain" else content_type), True
    return "application/octet-stream", False


def store(upload: IO[bytes]) -> tuple[str, int, str, str]:
    """Write the upload to the tenant's storage under a new name: (storage name, size, sha256, sniffed type)."""
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    digest = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: upload.read(1024 * 1024), b""):
        digest.update(chunk)
        size += len(chunk)
    upload.seek(0)
    name = default_storage.save(f"{PREFIX}/{uuid.uuid4().hex}", File(upload))
    return name, size, digest.hexdigest(), sniff(head)


def discard(storage_name: str) -> None:
    """Remove a stored file (a write that was rolled back, a purged document)."""
    if storage_name and default_storage.exists(storage_name):
        default_storage.delete(storage_name)


def open_stored(storage_name: str) -> IO[bytes]:
    return default_storage.open(storage_name, "rb")
