"""The tenant's custom modules as ModuleSpecs, overlaid on the built-in registry (registry.get/all_specs).

Built once per tenant and metadata version (engine.metadata memoises per schema, so one tenant's
modules are never seen by another) and shared by the requests of that version."""

from __future__ import annotations

from django.utils import translation

from crm_apps.custom_modules.models import CustomModule, CustomRecord
from crm_apps.engine import metadata
from crm_apps.engine.spec import MENU_GROUPS, Block, Menu, ModuleSpec
from tenants.runtime import in_public_schema


def spec_for(module: CustomModule, translations: dict[str, str] | None = None) -> ModuleSpec:
    """The engine's description of one custom module: the generic model restricted to its key. Labels
    an installed extension translates are shown in the member's language."""
    table = translations or {}
    label = table.get(module.label, module.label)
    return ModuleSpec(
        key=module.key,
        model=CustomRecord,
        label=label,
        label_plural=table.get(module.label_plural, module.label_plural),
        number_prefix=module.number_prefix,
        title_fields=("name",),
        blocks=(Block("main", label, ("name",)),),
        list_columns=("name", "owner"),
        search_fields=("name",),
        filter_fields=("name",),
        icon=module.icon or "record",
        duplicate_rules=(("name",),),
        example={"name": f"{module.label} 1"},
        scope={"module_key": module.key},
        custom=True,
        # The admin's menu group; none chosen (or one no longer offered) files it under Tools, the default.
        menu=Menu(group=module.menu_group) if module.menu_group in MENU_GROUPS else Menu(),
    )


def tenant_specs() -> dict[str, ModuleSpec]:
    """The active tenant's live custom modules by key ({} in the public schema), per language only when
    installed extensions translate labels (none are read in the default language)."""
    if in_public_schema():
        return {}
    table = metadata.label_translations()

    def load() -> dict[str, ModuleSpec]:
        rows = CustomModule.objects.filter(archived_at__isnull=True).order_by("label", "id")
        return {row.key: spec_for(row, table) for row in rows}

    return metadata.memoised(("custom_modules", translation.get_language() if table else ""), load)
