"""Reads of installed extensions in the current tenant schema."""

from __future__ import annotations

from django.db.models import QuerySet

from marketplace.installs.models import ExtensionInstallation, LabelTranslation, WebhookDelivery


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


def delivery_list(*, installation: ExtensionInstallation, limit: int = 50) -> list[WebhookDelivery]:
    return list(
        WebhookDelivery.objects.filter(subscription__installation=installation)
        .select_related("subscription")
        .order_by("-created_at", "-id")[:limit]
    )
