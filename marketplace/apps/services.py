"""Writes of OAuth apps: partners register apps and rotate secrets, operators review versions and
suspend apps, tenant admins consent (install) and uninstall. Rules in ADR 0045 and README.md."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.settings import oauth2_settings

from crm_apps.access.models import Member
from crm_apps.access.privileges import require_tenant_admin
from crm_apps.audit import services as audit
from marketplace.apps.models import (
    AccessToken,
    App,
    AppInstallation,
    AppStatus,
    AppVersion,
    Grant,
    InstallationState,
    RefreshToken,
    ReviewState,
)
from marketplace.apps.scopes import scope_choices
from marketplace.catalog.models import Listing
from marketplace.partners.models import PartnerMember
from marketplace.partners.permissions import EXTENSIONS_MANAGE, partner_has_perm
from tenants.models import Tenant, User

MAX_REDIRECT_URIS = 10


def _require_partner(pm: PartnerMember) -> None:
    if not partner_has_perm(pm, EXTENSIONS_MANAGE):
        raise PermissionDenied


def _clean_redirect_uris(values: list[str]) -> list[str]:
    uris = [v.strip() for v in values if v.strip()]
    if not uris:
        raise ValidationError({"redirect_uris": [_("Enter at least one redirect URI.")]})
    if len(uris) > MAX_REDIRECT_URIS:
        raise ValidationError({"redirect_uris": [_("At most %(n)d redirect URIs.") % {"n": MAX_REDIRECT_URIS}]})
    schemes = oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES
    for uri in uris:
        parts = urlsplit(uri)
        if parts.scheme not in schemes or not parts.hostname or parts.fragment or " " in uri or len(uri) > 300:
            raise ValidationError(
                {
                    "redirect_uris": [
                        _("“%(uri)s” is not an absolute %(schemes)s address without a fragment.")
                        % {"uri": uri[:100], "schemes": " / ".join(schemes)}
                    ]
                }
            )
    return list(dict.fromkeys(uris))


def _clean_scopes(values: list[str]) -> list[str]:
    known = {scope for scope, _label in scope_choices()}
    scopes = list(dict.fromkeys(v.strip() for v in values if v.strip()))
    if not scopes:
        raise ValidationError({"scopes": [_("Choose at least one scope.")]})
    unknown = [s for s in scopes if s not in known]
    if unknown:
        raise ValidationError({"scopes": [_("Unknown scope “%(scope)s”.") % {"scope": unknown[0][:60]}]})
    return scopes


def _clean_listing(pm: PartnerMember, listing_id: int | None) -> Listing | None:
    if listing_id is None:
        return None
    listing = Listing.objects.filter(pk=listing_id, partner=pm.partner).first()
    if listing is None:
        raise ValidationError({"listing": [_("Choose one of your listings.")]})
    return listing


@transaction.atomic
def app_register(
    *,
    pm: PartnerMember,
    name: str,
    redirect_uris: list[str],
    scopes: list[str],
    description: str = "",
    listing_id: int | None = None,
) -> tuple[App, str]:
    """A partner registers an app; its first version goes to review. The client secret is returned
    once and stored only as a hash."""
    _require_partner(pm)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": [_("Enter a name of at most 100 characters.")]})
    uris = _clean_redirect_uris(redirect_uris)
    clean_scopes = _clean_scopes(scopes)
    listing = _clean_listing(pm, listing_id)
    secret = generate_client_secret()
    app = App.objects.create(
        partner=pm.partner,
        listing=listing,
        name=name,
        description=(description or "").strip()[:300],
        client_type=App.CLIENT_CONFIDENTIAL,
        authorization_grant_type=App.GRANT_AUTHORIZATION_CODE,
        client_secret=secret,
        hash_client_secret=True,
        redirect_uris="",
        scopes=[],
    )
    AppVersion.objects.create(app=app, number=1, redirect_uris=uris, scopes=clean_scopes, submitted_by=pm.user)
    return app, secret


@transaction.atomic
def app_secret_rotate(*, pm: PartnerMember, app: App) -> str:
    """A new client secret, returned once; the old one stops working at once (tokens already issued stay)."""
    _require_partner(pm)
    if app.partner_id != pm.partner_id:
        raise PermissionDenied
    secret = generate_client_secret()
    app.client_secret = secret
    app.secret_rotated_at = timezone.now()
    app.save(update_fields=["client_secret", "secret_rotated_at", "updated"])
    return secret


@transaction.atomic
def app_version_submit(*, pm: PartnerMember, app: App, redirect_uris: list[str], scopes: list[str]) -> AppVersion:
    """New redirect URIs or scopes apply only once an operator approves them."""
    _require_partner(pm)
    if app.partner_id != pm.partner_id:
        raise PermissionDenied
    uris = _clean_redirect_uris(redirect_uris)
    clean_scopes = _clean_scopes(scopes)
    App.objects.select_for_update().filter(pk=app.pk).first()
    number = (app.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    return AppVersion.objects.create(
        app=app, number=number, redirect_uris=uris, scopes=clean_scopes, submitted_by=pm.user
    )


@transaction.atomic
def app_version_review(*, version: AppVersion, reviewer: User, approve: bool, notes: str = "") -> AppVersion:
    """Operators approve or reject a submitted version; approval makes its redirect URIs and scopes the app's."""
    if not reviewer.is_staff:
        raise PermissionDenied
    if version.state != ReviewState.SUBMITTED:
        raise ValidationError({"state": [_("Only submitted versions can be reviewed.")]})
    if not approve and not notes.strip():
        raise ValidationError({"review_notes": [_("Say why the version is rejected.")]})
    version.state = ReviewState.APPROVED if approve else ReviewState.REJECTED
    version.review_notes = notes.strip()
    version.reviewed_by = reviewer
    version.reviewed_at = timezone.now()
    version.save()
    if approve:
        app = App.objects.select_for_update().get(pk=version.app_id)
        app.redirect_uris = " ".join(version.redirect_uris)
        app.scopes = list(version.scopes)
        app.approved = True
        app.save(update_fields=["redirect_uris", "scopes", "approved", "updated"])
    return version


@transaction.atomic
def app_suspend(*, app: App, operator: User, reason: str) -> App:
    """Operators stop an app on every workspace: its tokens are refused from the next request on."""
    if not operator.is_staff:
        raise PermissionDenied
    if not reason.strip():
        raise ValidationError({"suspended_reason": [_("Say why the app is suspended.")]})
    App.objects.filter(pk=app.pk).update(
        status=AppStatus.SUSPENDED, suspended_at=timezone.now(), suspended_reason=reason.strip()[:500]
    )
    app.refresh_from_db()
    return app


@transaction.atomic
def app_unsuspend(*, app: App, operator: User) -> App:
    """Lift a suspension; tokens that have not expired work again."""
    if not operator.is_staff:
        raise PermissionDenied
    App.objects.filter(pk=app.pk).update(status=AppStatus.ACTIVE, suspended_at=None, suspended_reason="")
    app.refresh_from_db()
    return app


def _tenant() -> Any:
    tenant = getattr(connection, "tenant", None)
    if tenant is None or tenant.schema_name == "public":
        raise PermissionDenied
    return tenant


def _audit(*, action_label: str, actor: Member, installation: AppInstallation, details: dict[str, Any]) -> None:
    audit.audit_log(
        action=audit.PERMISSION_CHANGED,
        actor=actor,
        module="apps",
        record_id=installation.pk,
        record_label=installation.app.name,
        details={"operation": action_label, "client_id": installation.app.client_id, **details},
    )


@transaction.atomic
def installation_consent(*, app: App, user: User, scopes: list[str]) -> AppInstallation:
    """A tenant admin consents on the tenant's host: the app is installed (or its grant replaced) with
    exactly the scopes shown, within those approved for it."""
    tenant = _tenant()
    actor = Member.objects.select_related("user").filter(user=user, active=True).first()
    if actor is None:
        raise PermissionDenied
    require_tenant_admin(actor)
    in_force = app.in_force()
    if not in_force.live or not set(scopes) <= set(in_force.scopes):
        raise PermissionDenied
    installation, _created = AppInstallation.objects.select_for_update().get_or_create(
        app=app, tenant=tenant, defaults={"user": user, "scopes": scopes}
    )
    installation.user = user
    installation.scopes = list(scopes)
    installation.state = InstallationState.INSTALLED
    installation.installed_at = timezone.now()
    installation.uninstalled_at = None
    installation.save()
    _audit(action_label="oauth_app_installed", actor=actor, installation=installation, details={"scopes": scopes})
    return installation


def installation_tokens_revoke(*, installation: AppInstallation) -> int:
    """Delete every code and token of an installation (they stop at once); returns how many tokens."""
    Grant.objects.filter(installation=installation).delete()
    refresh, _d = RefreshToken.objects.filter(installation=installation).delete()
    access, _d = AccessToken.objects.filter(installation=installation).delete()
    return int(refresh + access)


@transaction.atomic
def installation_uninstall(*, tenant: Tenant, actor: Member, installation: AppInstallation) -> AppInstallation:
    """A tenant admin removes an app: its codes and tokens are deleted, so they stop at once."""
    require_tenant_admin(actor)
    if installation.tenant_id != tenant.pk:
        raise PermissionDenied
    locked = AppInstallation.objects.select_for_update().select_related("app").get(pk=installation.pk)
    revoked = installation_tokens_revoke(installation=locked)
    locked.state = InstallationState.UNINSTALLED
    locked.uninstalled_at = timezone.now()
    locked.save(update_fields=["state", "uninstalled_at"])
    _audit(action_label="oauth_app_uninstalled", actor=actor, installation=locked, details={"tokens_revoked": revoked})
    return locked


def listing_apps_uninstall(*, tenant: Tenant, actor: Member, listing_id: int) -> int:
    """Uninstalling an extension also removes the apps linked to its listing in this workspace (call in
    the tenant's schema: the audit trail is there)."""
    count = 0
    for installation in AppInstallation.objects.filter(
        tenant=tenant, app__listing_id=listing_id, state=InstallationState.INSTALLED
    ):
        installation_uninstall(tenant=tenant, actor=actor, installation=installation)
        count += 1
    return count
