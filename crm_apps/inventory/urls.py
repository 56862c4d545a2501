"""URL patterns every document module includes with its key (its own urls.py sets `app_name = <key>`)."""

from __future__ import annotations

from typing import Any

from django.urls import path, re_path

from crm_apps.inventory import api, views

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def document_urlpatterns(key: str) -> list[Any]:
    extra = {"module": key}
    return [
        path(f"m/{key}/<uuid:record_id>/pdf/", views.pdf_view, extra, name="pdf"),
        path(f"m/{key}/<uuid:record_id>/preview/", views.pdf_view, {**extra, "inline": True}, name="preview"),
        path(f"m/{key}/<uuid:record_id>/send/", views.send_view, extra, name="send"),
        path(f"m/{key}/<uuid:record_id>/convert/<slug:to>/", views.convert_view, extra, name="convert"),
        path(f"m/{key}/settings/documents/", views.settings_view, extra, name="settings"),
    ]


def document_api_urlpatterns(key: str) -> list[Any]:
    """`/api/v1/<key>/<id>/pdf`, `/convert`, `/send` (no trailing slash, like the deal actions)."""
    name = key.replace("-", "")
    return [
        re_path(
            rf"^{key}/(?P<record_id>{UUID})/pdf$",
            api.DocumentPdfView.as_view(),
            {"module": key},
            name=f"api-{name}-pdf",
        ),
        re_path(
            rf"^{key}/(?P<record_id>{UUID})/convert$",
            api.DocumentConvertView.as_view(),
            {"module": key},
            name=f"api-{name}-convert",
        ),
        re_path(
            rf"^{key}/(?P<record_id>{UUID})/send$",
            api.DocumentSendView.as_view(),
            {"module": key},
            name=f"api-{name}-send",
        ),
    ]
