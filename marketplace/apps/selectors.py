"""Reads of OAuth apps."""

from __future__ import annotations

from django.db.models import QuerySet

from marketplace.apps.models import App, AppInstallation, InstallationState
from marketplace.partners.models import PartnerMember
from tenants.models import Tenant


def installation_for(*, app: App, tenant: Tenant) -> AppInstallation | None:
    return AppInstallation.objects.filter(app=app, tenant=tenant, state=InstallationState.INSTALLED).first()


def installation_list(*, tenant: Tenant) -> QuerySet[AppInstallation]:
    """The apps installed in this tenant (suspended ones included, shown as such)."""
    return (
        AppInstallation.objects.filter(tenant=tenant, state=InstallationState.INSTALLED)
        .select_related("app", "app__partner", "user")
        .order_by("app__name", "pk")
    )


def installation_get(*, tenant: Tenant, installation_id: int) -> AppInstallation | None:
    """This tenant's installation; None for another tenant's (the same "not found")."""
    return installation_list(tenant=tenant).filter(pk=installation_id).first()


def app_list_for_partner(*, pm: PartnerMember) -> QuerySet[App]:
    return App.objects.filter(partner=pm.partner).prefetch_related("versions").order_by("name", "pk")


def access_app(*, pm: PartnerMember, app_id: int) -> App | None:
    """The partner's own app; None for another partner's (the same "not found")."""
    return App.objects.filter(partner=pm.partner, pk=app_id).select_related("listing").first()
