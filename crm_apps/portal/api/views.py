"""/api/v1/portal/: the portal's settings and contacts' access, for members who manage settings
(invitations also need the right to edit the contact)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.access.privileges import Privilege
from crm_apps.portal import services
from crm_apps.portal.models import PUBLISHABLE, PortalAccount, PortalSettings, publishable
from saas.openapi import json_object_view


def _data(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise ValidationError({"non_field_errors": [_("Send a JSON object.")]})
    return dict(request.data)


def _manager(request: Request) -> Any:
    actor = request_member(request)
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied
    return actor


def settings_to_api(found: PortalSettings) -> dict[str, Any]:
    return {
        "enabled": found.enabled,
        "title": found.title,
        "welcome_text": found.welcome_text,
        "accent_colour": found.accent_colour,
        "logo_text": found.logo_text,
        "ticket_scope": found.ticket_scope,
        "ticket_fields": found.published("tickets"),
        "published_fields": {section: found.published(section) for section in PUBLISHABLE},
        # What may be published per section (custom fields as "custom.<key>"), for clients building a screen.
        "publishable": {section: publishable(section) for section in PUBLISHABLE},
        "logo": bool(found.logo_storage_name),
        "sections": found.sections,
        "frame_origins": found.frame_origins,
    }


def account_to_api(account: PortalAccount) -> dict[str, Any]:
    return {
        "contact": str(account.contact_id),
        "email": account.email,
        "active": account.active,
        "status": services.account_status(account),
        "language": account.language,
        "support_start": account.support_start.isoformat() if account.support_start else None,
        "support_end": account.support_end.isoformat() if account.support_end else None,
        "invited_at": account.invited_at.isoformat() if account.invited_at else None,
        "last_login": account.last_login.isoformat() if account.last_login else None,
    }


@json_object_view()
class PortalSettingsView(APIView):
    """GET / PATCH the portal's branding and publication."""

    def get(self, request: Request) -> Response:
        _manager(request)
        return Response(settings_to_api(services.settings_get()))

    def patch(self, request: Request) -> Response:
        return Response(settings_to_api(services.settings_save(actor=_manager(request), data=_data(request))))


@json_object_view("PUT a multipart `logo` file; DELETE removes the logo.", upload=True)
class PortalLogoView(APIView):
    """PUT a multipart `logo` file (PNG, JPEG, GIF or WebP, at most 512 KB) -> the settings; DELETE removes it."""

    def put(self, request: Request) -> Response:
        upload = request.FILES.get("logo")
        if upload is None:
            raise ValidationError({"logo": [_("Choose a picture to upload.")]})
        return Response(settings_to_api(services.logo_set(actor=_manager(request), upload=upload)))

    def delete(self, request: Request) -> Response:
        services.logo_set(actor=_manager(request), upload=None)
        return Response(status=status.HTTP_204_NO_CONTENT)


@json_object_view()
class PortalAccessListView(APIView):
    """GET the contacts with portal access; POST {"contact", "support_start", "support_end", "language"}
    gives access and emails the invitation -> 201."""

    def get(self, request: Request) -> Response:
        _manager(request)
        return Response({"results": [account_to_api(a) for a in PortalAccount.objects.order_by("email")[:1000]]})

    def post(self, request: Request) -> Response:
        actor = _manager(request)
        data = _data(request)
        account = services.portal_invite(
            actor=actor,
            contact_id=data.get("contact"),
            support_start=data.get("support_start"),
            support_end=data.get("support_end"),
            language=str(data.get("language") or ""),
        )
        return Response(account_to_api(account), status=status.HTTP_201_CREATED)


@json_object_view()
class PortalAccessDetailView(APIView):
    def delete(self, request: Request, contact_id: str) -> Response:
        services.portal_revoke(actor=_manager(request), contact_id=contact_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
