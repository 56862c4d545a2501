"""Writes of custom module definitions (ADR 0016). Every entry path (settings screens, API,
marketplace manifests) goes through these, so they share one set of rules."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import entitlements
from crm_apps.access import visibility
from crm_apps.access.grants import access_changed
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.audit import services as audit
from crm_apps.custom_modules.models import CustomModule
from crm_apps.custom_modules.overlay import spec_for
from crm_apps.engine import metadata, registry
from crm_apps.engine import services as engine_services
from crm_apps.engine.extensions import MENU_GROUP_LABELS

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,29}$")
PREFIX_RE = re.compile(r"^[A-Z][A-Z0-9-]{0,9}$")
ICON_RE = re.compile(r"^[a-z0-9-]{1,30}$")
# Words a module key can never be: the API's and the web app's own path segments (a module lives at
# /api/v1/<key>/ and /m/<key>/), and the keys of built-in modules already announced (a built-in
# always wins over a tenant's module of the same key, which would become unreachable).
RESERVED_KEYS = frozenset(
    {
        # API and web path segments
        "meta", "pipelines", "auth", "me", "schema", "docs", "search", "api", "m", "settings", "admin",
        "static", "media", "i18n", "batch", "merge", "export", "trash", "views", "lookup", "new", "mass",
        "comments", "timeline", "follow", "tags", "records", "modules", "fields", "webhooks", "tokens",
        "extensions", "marketplace", "home", "health", "login", "logout", "portal", "billing", "audit",
        "access", "partners", "custom", "all", "none", "null", "true", "false", "notifications",
        # built-in modules planned on the engine (Engine v2 and the module issues after it)
        "activities", "calendar", "tasks", "events", "emails", "documents", "products", "services",
        "price_books", "quotes", "invoices", "sales_orders", "purchase_orders", "tickets", "faq",
        "projects", "project_tasks", "project_milestones", "reports", "dashboards", "workflows",
        "imports", "assets", "service_contracts", "users", "members", "groups", "roles", "profiles",
    }
)  # fmt: skip
# Menu groups a custom module can be filed under: the navigation's groups (crm_apps.engine.extensions),
# but not Settings, which holds administration screens rather than records.
MENU_GROUPS: dict[str, Any] = {key: label for key, label in MENU_GROUP_LABELS.items() if key != "settings"}
FIELD_KEYS = {"key", "label", "type", "required", "unique", "default", "options", "choices", "help_text"}


def _require_settings(actor: Member) -> None:
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied


def _text(value: Any, *, max_length: int, name: str, errors: dict[str, list[str]]) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > max_length or "\x00" in text:
        errors[name] = [_("Enter 1-%(max)d characters.") % {"max": max_length}]
    return text


def key_problem(key: Any) -> str | None:
    """Why `key` cannot name a new custom module (None when it can)."""
    if not isinstance(key, str) or not KEY_RE.match(key) or "__" in key:
        return _("Use 2-30 lowercase letters, digits and underscores, starting with a letter.")
    if key in registry.builtin_keys():
        return _("A built-in module already uses this key.")
    if key in RESERVED_KEYS:
        return _("This word is reserved; choose another key.")
    if CustomModule.objects.filter(key=key).exists():
        return _("A custom module with this key already exists (perhaps archived).")
    return None


def _clean_common(data: dict[str, Any], errors: dict[str, list[str]], *, partial: bool) -> dict[str, Any]:
    """Validated label, plural, icon and menu group of `data` (only those present when `partial`)."""
    cleaned: dict[str, Any] = {}
    if not partial or "label" in data:
        cleaned["label"] = _text(data.get("label"), max_length=60, name="label", errors=errors)
    if not partial or "label_plural" in data:
        cleaned["label_plural"] = _text(data.get("label_plural"), max_length=60, name="label_plural", errors=errors)
    if data.get("icon") not in (None, ""):
        if not isinstance(data["icon"], str) or not ICON_RE.match(data["icon"]):
            errors["icon"] = [_("Use 1-30 lowercase letters, digits or hyphens.")]
        else:
            cleaned["icon"] = data["icon"]
    elif not partial:
        cleaned["icon"] = "record"
    if not partial or "menu_group" in data:
        group = data.get("menu_group") or ""
        if group not in MENU_GROUPS and group != "":
            errors["menu_group"] = [_("Choose one of the menu groups.")]
        cleaned["menu_group"] = group
    return cleaned


def _definitions_changed() -> None:
    """Modules are metadata (registry overlay) and access scope (profiles, sharing defaults)."""
    metadata.metadata_changed()
    access_changed()


def custom_module_create(
    *,
    actor: Member,
    key: Any,
    label: Any,
    label_plural: Any,
    icon: Any = "",
    number_prefix: Any = "",
    menu_group: Any = "",
    fields: Any = None,
) -> CustomModule:
    """Admins build a module: its definition, numbering and fields, all or nothing."""
    _require_settings(actor)
    entitlements.feature_require(tenant=entitlements.current_tenant(), feature=entitlements.FEATURE_CUSTOM_FIELDS)
    errors: dict[str, list[str]] = {}
    problem = key_problem(key)
    if problem:
        errors["key"] = [problem]
    cleaned = _clean_common(
        {"label": label, "label_plural": label_plural, "icon": icon, "menu_group": menu_group}, errors, partial=False
    )
    prefix = number_prefix.strip().upper() if isinstance(number_prefix, str) and number_prefix.strip() else ""
    if not prefix and isinstance(key, str):
        prefix = re.sub(r"[^A-Z0-9]", "", key.upper())[:4] or "REC"
    if not PREFIX_RE.match(prefix):
        errors["number_prefix"] = [_("Use 1-10 capital letters, digits or hyphens, starting with a letter.")]
    if fields is None:
        fields = []
    if not isinstance(fields, list) or len(fields) > 200:
        errors["fields"] = [_("Send a list of at most 200 fields.")]
        fields = []
    for index, item in enumerate(fields):
        if not isinstance(item, dict):
            errors[f"fields.{index}"] = [_("Send an object for each field.")]
        elif set(item) - FIELD_KEYS:
            errors.update({f"fields.{index}.{name}": [_("Unknown field.")] for name in set(item) - FIELD_KEYS})
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        module = CustomModule.objects.create(key=key, number_prefix=prefix, created_by=actor, **cleaned)
        _definitions_changed()
        spec = spec_for(module)
        engine_services.numbering_ensure(spec)
        for index, item in enumerate(fields):
            try:
                engine_services.custom_field_create(
                    actor=actor,
                    spec=spec,
                    key=item.get("key", ""),
                    label=item.get("label", ""),
                    type=item.get("type", ""),
                    required=bool(item.get("required")),
                    unique=bool(item.get("unique")),
                    default=item.get("default"),
                    options=item.get("options") if isinstance(item.get("options"), dict) else {},
                    choices=item.get("choices") if isinstance(item.get("choices"), list) else None,
                    help_text=str(item.get("help_text") or ""),
                )
            except ValidationError as exc:
                errors.update({f"fields.{index}.{name}": msgs for name, msgs in exc.message_dict.items()})
        if errors:
            raise ValidationError(errors)  # nothing of the module is kept
        audit.audit_log(
            action=audit.SETTINGS_CHANGED,
            actor=actor,
            module=module.key,
            changes={"label": [None, module.label], "custom_module": [None, module.key]},
            details={"fields": [item.get("key") for item in fields]},
        )
    return module


def custom_module_update(*, actor: Member, module: CustomModule, data: Any) -> CustomModule:
    """Rename a module, change its icon or menu group, archive it or bring it back. The key is fixed
    (URLs, references and numbering name it); archiving hides the module and keeps every record."""
    _require_settings(actor)
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": [_("Send a JSON object.")]})
    allowed = {"label", "label_plural", "icon", "menu_group", "archived"}
    errors: dict[str, list[str]] = {name: [_("This field cannot be changed.")] for name in set(data) - allowed}
    cleaned = _clean_common(data, errors, partial=True)
    archived = data.get("archived")
    if "archived" in data and not isinstance(archived, bool):
        errors["archived"] = [_("Enter true or false.")]
    elif archived is False and module.archived_at is not None and module.key in registry.builtin_keys():
        errors["archived"] = [_("A built-in module now uses this key; the module cannot be restored.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        module = CustomModule.objects.select_for_update().get(pk=module.pk)
        before = {name: getattr(module, name) for name in ("label", "label_plural", "icon", "menu_group")}
        for name, value in cleaned.items():
            setattr(module, name, value)
        was_archived = module.archived_at is not None
        if isinstance(archived, bool):
            module.archived_at = (module.archived_at or timezone.now()) if archived else None
        module.save()
        changes: dict[str, Any] = {
            name: [old, getattr(module, name)] for name, old in before.items() if old != getattr(module, name)
        }
        if was_archived != (module.archived_at is not None):
            changes["archived"] = [was_archived, not was_archived]
        if changes:
            _definitions_changed()
            audit.audit_log(action=audit.SETTINGS_CHANGED, actor=actor, module=module.key, changes=changes)
    return module


def custom_module_archive(*, actor: Member, module: CustomModule) -> CustomModule:
    """Hide a module everywhere; its records, fields and numbering stay and come back on restore."""
    return custom_module_update(actor=actor, module=module, data={"archived": True})
