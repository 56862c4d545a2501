"""Reads of installed extensions in the current tenant schema."""

from __future__ import annotations

from django.db.models import QuerySet

from crm_apps.engine.metadata import NameTable
from crm_apps.modules.deals.models import Stage
from marketplace.installs.models import ExtensionInstallation, LabelTranslation, OwnedKind, OwnedObject, WebhookDelivery


def installation_list() -> QuerySet[ExtensionInstallation]:
    """Every extension this workspace installed (uninstalled ones too, for reinstalling)."""
    return ExtensionInstallation.objects.order_by("name")


def installation_get(*, listing_id: int) -> ExtensionInstallation | None:
    return ExtensionInstallation.objects.filter(listing_id=listing_id).first()


def label_translations_for(language: str) -> dict[str, str]:
    """Labels installed extensions translate into `language` (engine metadata label source)."""
    return dict(
        LabelTranslation.objects.filter(language=language, installation__state="installed").values_list(
            "source", "text"
        )
    )


def name_translations_for(language: str) -> NameTable:
    """Pipelines and saved views installed extensions added, with each extension's translations into
    `language` (engine metadata name source; a pipeline's stages with the same translations)."""
    tables: dict[int, dict[str, str]] = {}
    rows = LabelTranslation.objects.filter(language=language, installation__state="installed").values_list(
        "installation_id", "source", "text"
    )
    for installation_id, source, text in rows:
        tables.setdefault(installation_id, {})[source] = text
    if not tables:
        return {}
    owned = OwnedObject.objects.filter(
        installation_id__in=list(tables), kind__in=[OwnedKind.PIPELINE, OwnedKind.SAVED_VIEW]
    ).values_list("installation_id", "kind", "ident", "object_id")
    names: NameTable = {}
    pipelines: dict[int, dict[str, str]] = {}
    for installation_id, kind, ident, object_id in owned:
        # Pipelines are owned by name, saved views by "<module>.<name>".
        name = ident if kind == OwnedKind.PIPELINE else ident.split(".", 1)[1]
        names[(str(kind), object_id)] = (name, tables[installation_id])
        if kind == OwnedKind.PIPELINE:
            pipelines[int(object_id)] = tables[installation_id]
    # Stages by id, so that showing one never needs its pipeline (list pages load only id and name).
    stages = Stage.objects.filter(pipeline_id__in=list(pipelines)).values_list("id", "pipeline_id", "name")
    for stage_id, pipeline_id, name in stages:
        names[("stage", str(stage_id))] = (name, pipelines[pipeline_id])
    return names


def delivery_list(*, installation: ExtensionInstallation, limit: int = 50) -> list[WebhookDelivery]:
    return list(
        WebhookDelivery.objects.filter(subscription__installation=installation)
        .select_related("subscription")
        .order_by("-created_at", "-id")[:limit]
    )
