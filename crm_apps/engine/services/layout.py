"""Admin layout of a module's form: blocks (the module's and the tenant's own), which fields each holds
and in which order, hidden optional fields, fields made mandatory, and the quick-create selection.
`layout_replace` is the editor's whole-layout save; `layout_save` the older per-block reorder."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.audit import services as audit
from crm_apps.engine import metadata
from crm_apps.engine.metadata import CUSTOM_NAME_PREFIX
from crm_apps.engine.models import FieldType, LayoutOverride
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
    layout: dict[str, Any] = {"blocks": blocks, "fields": fields, "hidden": hidden}
    with transaction.atomic():
        old = LayoutOverride.objects.filter(module=spec.key).values_list("layout", flat=True).first()
        # The editor's choices that this older format does not carry survive a save from the plain form.
        layout.update({k: v for k, v in (old or {}).items() if k in ("mandatory", "quick_create") and v})
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


BLOCK_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
MAX_BLOCKS = 30


def _string_list(payload: dict[str, Any], name: str) -> list[str]:
    value = payload.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or len(set(value)) != len(value):
        raise ValidationError({name: [_("Send a list of field names, each once.")]})
    return value


def _block_title(item: dict[str, Any], *, standard: bool) -> str | None:
    title = item.get("title")
    if title in (None, "") and standard:
        return None  # the module's own (translated) title
    if not isinstance(title, str) or not title.strip() or len(title.strip()) > 100 or "\x00" in title:
        raise ValidationError({"blocks": [_("Give every block a title of 1-100 characters.")]})
    return title.strip()


def _clean_layout(spec: ModuleSpec, payload: Any) -> dict[str, Any]:
    """The editor's layout checked whole: known blocks or new ones with a title, every field of the
    module placed exactly once, and hidden/mandatory/quick-create lists that make sense together."""
    if not isinstance(payload, dict) or not isinstance(payload.get("blocks"), list):
        raise ValidationError({"blocks": [_("Send the layout as an object with a list of blocks.")]})
    standard = {b.key for b in spec.blocks}
    placeable = [f for b in spec.blocks for f in b.fields]
    # The module's active custom fields, named "custom.<key>"; placing them is optional (an unplaced one
    # shows under "More fields"). A key of another module, an archived or unknown one is refused.
    custom = {CUSTOM_NAME_PREFIX + f.key: f for f in metadata.custom_fields(spec.key)}
    items = payload["blocks"]
    if not 1 <= len(items) <= MAX_BLOCKS:
        raise ValidationError({"blocks": [_("A layout has 1 to %(max)d blocks.") % {"max": MAX_BLOCKS}]})
    blocks: list[dict[str, Any]] = []
    placed: list[str] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str) or not BLOCK_KEY_RE.match(item["key"]):
            raise ValidationError({"blocks": [_("Every block needs a key of lowercase letters, digits, - or _.")]})
        fields = item.get("fields", [])
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise ValidationError({"fields": [_("Send a list of field names for every block.")]})
        if unknown := [f for f in fields if f not in placeable and f not in custom]:
            raise ValidationError({"fields": [_("Unknown field: %(fields)s.") % {"fields": ", ".join(unknown)}]})
        blocks.append(
            {"key": item["key"], "title": _block_title(item, standard=item["key"] in standard), "fields": fields}
        )
        placed += fields
    if len({b["key"] for b in blocks}) != len(blocks) or len(set(placed)) != len(placed):
        raise ValidationError({"blocks": [_("A block or field is listed twice.")]})
    if missing := [f for f in placeable if f not in placed]:
        raise ValidationError(
            {"fields": [_("Every field must stay in a block; missing: %(fields)s.") % {"fields": ", ".join(missing)}]}
        )
    hidden, mandatory, quick = (_string_list(payload, n) for n in ("hidden", "mandatory", "quick_create"))
    editable = set(spec.form_fields) | set(custom)
    for name, values in (("hidden", hidden), ("mandatory", mandatory), ("quick_create", quick)):
        if unknown := [v for v in values if v not in editable]:
            raise ValidationError({name: [_("Unknown field: %(fields)s.") % {"fields": ", ".join(unknown)}]})
    required = {n for n in spec.form_fields if not _field(spec, n).blank} | {n for n, f in custom.items() if f.required}
    if set(hidden) & (required | set(mandatory)):
        raise ValidationError({"hidden": [_("Required fields cannot be hidden.")]})
    checkboxes = {n for n in spec.form_fields if isinstance(_field(spec, n), models.BooleanField)}
    checkboxes |= {n for n, f in custom.items() if f.type == FieldType.CHECKBOX}
    if set(mandatory) & checkboxes:
        raise ValidationError({"mandatory": [_("A checkbox cannot be mandatory: unticked is an answer.")]})
    return {"blocks": blocks, "hidden": hidden, "mandatory": mandatory, "quick_create": quick}


@_clears_metadata
def layout_replace(*, actor: Member, spec: ModuleSpec, payload: Any) -> LayoutOverride:
    """Admins arrange the form in the layout editor: blocks added, renamed or removed (once empty),
    fields moved between blocks and reordered, optional fields hidden, made mandatory (the form and the
    API then require them) or shown in quick create. All of it or nothing; audited."""
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied
    layout = _clean_layout(spec, payload)
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
