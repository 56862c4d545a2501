"""OAuth 2.0 apps (ADR 0045). Everything lives in `public`, like partner grants (`PartnerAccess`):

- `App` is django-oauth-toolkit's application (swapped in): a partner's registered client with a hashed
  secret; `redirect_uris` and `scopes` are those of its newest approved `AppVersion`.
- `AppInstallation` is one tenant's consent: the scopes its admin granted, who granted them, and
  whether it is still installed.
- `Grant`, `AccessToken`, `RefreshToken` (and `IDToken`, unused) are the toolkit's, each bound to an
  installation. A token is usable only on its installation's tenant host, while the installation is
  installed and the app is not suspended (checked on every call, so both stop tokens at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from oauth2_provider.models import (
    AbstractAccessToken,
    AbstractApplication,
    AbstractGrant,
    AbstractIDToken,
    AbstractRefreshToken,
    ApplicationManager,
)


class AppStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")


@dataclass(frozen=True)
class InForce:
    """What applies to an app on the workspace being served (`App.in_force`)."""

    live: bool
    scopes: list[str]
    redirect_uris: list[str]
    draft: bool  # the newest unreviewed version, in the partner's own sandbox


class App(AbstractApplication):
    """A partner's OAuth client (confidential, authorization code + PKCE only)."""

    objects = ApplicationManager()

    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.PROTECT, related_name="oauth_apps"
    )
    listing = models.ForeignKey(
        "catalog.Listing",
        verbose_name=_("listing"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="oauth_apps",
    )
    description = models.CharField(_("what it does"), max_length=300, blank=True)
    # The approved scopes ("deals:read", "contacts:write"...): what a tenant admin can consent to.
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    approved = models.BooleanField(_("approved"), default=False, editable=False)
    status = models.CharField(_("status"), max_length=12, choices=AppStatus.choices, default=AppStatus.ACTIVE)
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True, editable=False)
    suspended_reason = models.CharField(_("reason for suspension"), max_length=500, blank=True)
    secret_rotated_at = models.DateTimeField(_("secret rotated at"), null=True, blank=True, editable=False)

    class Meta(AbstractApplication.Meta):
        verbose_name = _("OAuth app")
        verbose_name_plural = _("OAuth apps")

    def __str__(self) -> str:
        return self.name or self.client_id

    @property
    def is_live(self) -> bool:
        """Whether tenants can install it and its tokens work."""
        return self.approved and self.status == AppStatus.ACTIVE

    def is_usable(self, request: Any) -> bool:
        """The toolkit asks before every authorization and token request: a suspended or never
        approved app is an unknown client (invalid_client), except its draft in its partner's sandbox."""
        return bool(super().is_usable(request)) and self.in_force().live

    def redirect_uri_allowed(self, uri: str) -> bool:
        """The redirect URIs in force on this workspace (a draft's in the partner's sandbox)."""
        from oauth2_provider.models import redirect_to_uri_allowed

        return bool(redirect_to_uri_allowed(uri, self.in_force().redirect_uris))

    def in_force(self) -> InForce:
        """On the workspace of the connection: a sandbox of the app's own partner, while that partner is
        active, uses its newest version that is not rejected, without review (suspension still applies);
        a deactivated partner's sandbox takes the approved version only; a sandbox never takes another
        partner's app; every other workspace the approved version. One or two queries, kept per schema."""
        tenant = getattr(connection, "tenant", None)
        schema = getattr(tenant, "schema_name", "public")
        cached = getattr(self, "_in_force", None)
        if cached is not None and cached[0] == schema:
            return cached[1]
        approved = InForce(
            live=self.is_live, scopes=list(self.scopes or []), redirect_uris=self.redirect_uris.split(), draft=False
        )
        value = approved
        if tenant is not None and getattr(tenant, "is_sandbox", False):
            # None: not a sandbox of the app's partner; False: the partner was deactivated by operators,
            # so its sandbox takes the approved version only, as any workspace does.
            partner_active = (
                PartnerSandbox.objects.filter(tenant_id=tenant.pk, partner_id=self.partner_id)
                .values_list("partner__is_active", flat=True)
                .first()
            )
            own = partner_active is True
            version = self.versions.exclude(state=ReviewState.REJECTED).order_by("-number").first() if own else None
            if partner_active is False:
                value = approved
            elif version is None:
                value = InForce(live=False, scopes=[], redirect_uris=[], draft=False)
            else:
                value = InForce(
                    live=self.status == AppStatus.ACTIVE,
                    scopes=list(version.scopes),
                    redirect_uris=list(version.redirect_uris),
                    draft=version.state != ReviewState.APPROVED,
                )
        self._in_force = (schema, value)
        return value


class ReviewState(models.TextChoices):
    SUBMITTED = "submitted", pgettext_lazy("review state", "Submitted")
    APPROVED = "approved", pgettext_lazy("review state", "Approved")
    REJECTED = "rejected", pgettext_lazy("review state", "Rejected")


class AppVersion(models.Model):
    """What a partner asks for (redirect URIs, scopes); an operator approves it before it applies."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    redirect_uris = models.JSONField(_("redirect URIs"), default=list)
    scopes = models.JSONField(_("scopes"), default=list)
    state = models.CharField(
        _("review state"), max_length=12, choices=ReviewState.choices, default=ReviewState.SUBMITTED
    )
    review_notes = models.TextField(_("review notes"), max_length=5000, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("submitted at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("OAuth app version")
        verbose_name_plural = _("OAuth app versions")
        ordering = ["app", "-number"]
        constraints = [models.UniqueConstraint("app", "number", name="appversion_app_number_unique")]

    def __str__(self) -> str:
        return f"{self.app} v{self.number}"


class InstallationState(models.TextChoices):
    INSTALLED = "installed", _("Installed")
    UNINSTALLED = "uninstalled", _("Uninstalled")


class AppInstallation(models.Model):
    """A tenant admin's consent to an app: the scopes granted; tokens act as that admin."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="installations")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="app_installations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("installed by"), on_delete=models.CASCADE, related_name="+"
    )
    scopes = models.JSONField(_("scopes granted"), default=list)
    state = models.CharField(
        _("state"), max_length=12, choices=InstallationState.choices, default=InstallationState.INSTALLED
    )
    installed_at = models.DateTimeField(_("installed at"), default=timezone.now)
    uninstalled_at = models.DateTimeField(_("uninstalled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("OAuth app installation")
        verbose_name_plural = _("OAuth app installations")
        constraints = [models.UniqueConstraint("app", "tenant", name="appinstallation_app_tenant_unique")]

    def __str__(self) -> str:
        return f"{self.app} @ {self.tenant_id}"


def _installation_fk() -> models.ForeignKey[AppInstallation | None, AppInstallation | None]:
    # Null only between the toolkit's INSERT and ours (same transaction); a row without one is refused.
    return models.ForeignKey(AppInstallation, null=True, blank=True, on_delete=models.CASCADE, related_name="+")


class Grant(AbstractGrant):
    installation = _installation_fk()

    class Meta(AbstractGrant.Meta):
        pass


class AccessToken(AbstractAccessToken):
    installation = _installation_fk()

    class Meta(AbstractAccessToken.Meta):
        pass


class RefreshToken(AbstractRefreshToken):
    installation = _installation_fk()

    class Meta(AbstractRefreshToken.Meta):
        pass


class IDToken(AbstractIDToken):
    """Unused (no OpenID Connect); swapped in so every toolkit model lives in this app."""

    class Meta(AbstractIDToken.Meta):
        pass


class AppUsageDay(models.Model):
    """One app's use of one workspace on one day (UTC), rolled up from Redis counters by
    `usage.usage_flush` (marketplace/apps/usage.py): API calls with its tokens, and the outcomes of the
    deliveries of its linked extension's webhooks. Partners see only sums over workspaces."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="usage_days")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    api_calls = models.PositiveIntegerField(default=0)
    deliveries_ok = models.PositiveIntegerField(default=0)
    deliveries_failed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint("app", "tenant", "day", name="appusageday_unique")]
        indexes = [models.Index(fields=["app", "day"], name="appusageday_app_day")]

    def __str__(self) -> str:
        return f"{self.app_id} @ {self.tenant_id} {self.day}"


class PartnerSandbox(models.Model):
    """A partner's development workspace: a tenant flagged `is_sandbox` where the partner's own apps
    install in their newest version without review (`App.in_force`) and no other partner's app installs."""

    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.CASCADE, related_name="sandboxes"
    )
    tenant = models.OneToOneField(
        "tenants.Tenant", verbose_name=_("workspace"), on_delete=models.CASCADE, related_name="partner_sandbox"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("partner sandbox")
        verbose_name_plural = _("partner sandboxes")

    def __str__(self) -> str:
        return f"{self.partner_id}: {self.tenant_id}"
