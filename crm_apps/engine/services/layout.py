"""Admin layout of a module's form: block and field order, hidden optional fields."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.audit import services as audit
from crm_apps.engine.models import LayoutOverride
from crm_apps.engine.services._common import _clears_metadata
from crm_apps.engine.services.values import _field
from crm_apps.engine.spec import ModuleSpec


@_clears_metadata
def layout_save(
    *, actor: Member, spec: ModuleSpec, blocks: list[str], fields: dict[str, list[str]], hidden: list[str]
) -> LayoutOverride:
    """Admins reorder blocks and fields and hide optional fields (required ones always show)."""
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied
    block_keys = {b.key for b in spec.blocks}
    if len(set(blocks)) != len(blocks) or any(len(set(n)) != len(n) for n in fields.values()):
        raise ValidationError({"blocks": [_("A block or field is listed twice.")]})
    if set(blocks) - block_keys:
        raise ValidationError({"blocks": [_("Unknown block.")]})
    for key, names in fields.items():
        block = next((b for b in spec.blocks if b.key == key), None)
        if block is None or set(names) - set(block.fields):
            raise ValidationError({"fields": [_("Unknown field.")]})
    required = {n for n in spec.form_fields if not _field(spec, n).blank}
    if set(hidden) & required:
        raise ValidationError({"hidden": [_("Required fields cannot be hidden.")]})
    if set(hidden) - set(spec.form_fields):
        raise ValidationError({"hidden": [_("Unknown field.")]})
    layout = {"blocks": blocks, "fields": fields, "hidden": hidden}
    with transaction.atomic():
        old = LayoutOverride.objects.filter(module=spec.key).values_list("layout", flat=True).first()
        override, _created = LayoutOverride.objects.update_or_create(
            module=spec.key, defaults={"layout": layout, "updated_at": timezone.now()}
        )
        if old != layout:
            audit.audit_log(
                action=audit.SETTINGS_CHANGED,
                actor=actor,
                module=spec.key,
                changes={"layout": [old, layout]},
                details={"setting": "layout"},
            )
    return override
