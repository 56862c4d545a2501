"""Per-module document settings (default terms, the invoice status that ships stock), edited by admins."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.audit import services as audit
from crm_apps.inventory.models import DocumentSettings

# The status an invoice takes stock out at, until an admin picks another (vtiger deducts on save; a
# workspace that invoices before delivery picks "Sent", one that never ships picks nothing).
DEFAULT_STOCK_STATUS = {"invoices": "Approved", "purchase-orders": "Received Shipment"}


def document_settings(module: str) -> DocumentSettings:
    found = DocumentSettings.objects.filter(module=module).first()
    if found is None:
        return DocumentSettings(module=module, stock_status=DEFAULT_STOCK_STATUS.get(module, ""))
    return found


def document_settings_update(
    *, actor: Member, module: str, terms_conditions: str, stock_status: str | None = None
) -> DocumentSettings:
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied
    if len(terms_conditions) > 20_000:
        raise ValidationError({"terms_conditions": [_("At most 20,000 characters.")]})
    current = document_settings(module)
    before = {"terms_conditions": current.terms_conditions, "stock_status": current.stock_status}
    current.terms_conditions = terms_conditions
    if stock_status is not None:
        current.stock_status = stock_status[:100]
    current.save()
    after = {"terms_conditions": current.terms_conditions, "stock_status": current.stock_status}
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changes:
        audit.audit_log(
            action=audit.SETTINGS_CHANGED, actor=actor, module=module, changes=changes, details={"setting": "documents"}
        )
    return current
