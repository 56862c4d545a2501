"""The "Portal access" box on a contact's page (engine extension point `record_panel_add`): its status,
and for members who manage settings and may edit the contact, give access (support dates, language),
send the invitation again, or disable it. The forms post to `portal_settings:contact_access`."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.engine import registry
from crm_apps.engine.spec import ModuleSpec
from crm_apps.portal import services
from crm_apps.portal.models import PortalAccount


def applies(spec: ModuleSpec) -> bool:
    return spec.key == "contacts"


def contact_access_panel(record: Any, member: Member, request: HttpRequest) -> dict[str, Any]:
    """Shown to members who manage settings (the portal's administrators) only; one query (the account)."""
    if not visibility.has_privilege(actor=member, privilege=Privilege.MANAGE_SETTINGS):
        return {"hidden": True}
    account = PortalAccount.objects.filter(contact_id=record.pk).first()
    status = services.account_status(account) if account else ""
    return {
        "hidden": False,
        "account": account,
        "status": status,
        "status_label": services.STATUS_LABELS.get(status, ""),
        "can_change": visibility.can_edit(actor=member, spec=registry.get("contacts"), record=record),
        "has_email": bool(getattr(record, "email", "")),
        "languages": services.LANGUAGES,
    }
