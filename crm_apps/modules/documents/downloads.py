"""The one way a stored document leaves the server: a permission-checked response (HTML and API share it)."""

from __future__ import annotations

from django.http import FileResponse

from crm_apps.modules.documents import files
from crm_apps.modules.documents.models import DocumentVersion


def version_response(version: DocumentVersion) -> FileResponse:
    """The version's bytes: inline only for a few safe types, otherwise (and always for HTML, SVG, XML,
    scripts) an attachment of type application/octet-stream; nosniff and a sandboxing CSP either way."""
    content_type, inline = files.served_as(version.content_type)
    response = FileResponse(
        files.open_stored(version.storage_name),
        as_attachment=not inline,
        filename=version.file_name,
        content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    response["Content-Length"] = str(version.size)
    return response
