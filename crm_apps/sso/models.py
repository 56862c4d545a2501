"""A workspace's identity provider (one per workspace, OIDC or SAML 2.0), the links between members and
the provider's subjects, and the SAML assertions already used (replay refusal)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Protocol(models.TextChoices):
    OIDC = "oidc", _("OpenID Connect")
    SAML = "saml", _("SAML 2.0")


class IdentityProvider(models.Model):
    """The workspace's single sign-on configuration. At most one row per tenant schema."""

    protocol = models.CharField(_("protocol"), max_length=8, choices=Protocol.choices, default=Protocol.OIDC)
    name = models.CharField(_("provider name"), max_length=60)
    enabled = models.BooleanField(_("enabled"), default=False)
    # OpenID Connect: endpoints read from the discovery document (or typed in), the client registered there.
    oidc_discovery_url = models.URLField(_("discovery URL"), max_length=500, blank=True)
    oidc_issuer = models.CharField(_("issuer"), max_length=500, blank=True)
    oidc_authorization_endpoint = models.URLField(_("authorization endpoint"), max_length=500, blank=True)
    oidc_token_endpoint = models.URLField(_("token endpoint"), max_length=500, blank=True)
    oidc_jwks_uri = models.URLField(_("JWKS URL"), max_length=500, blank=True)
    oidc_client_id = models.CharField(_("client ID"), max_length=255, blank=True)
    # Fernet token (crm_apps/sso/crypto.py); never rendered back.
    oidc_client_secret_encrypted = models.TextField(blank=True, editable=False)
    # SAML 2.0: the identity provider's metadata (uploaded or fetched from a URL), its entity id.
    saml_metadata_url = models.URLField(_("metadata URL"), max_length=500, blank=True)
    saml_metadata_xml = models.TextField(_("metadata XML"), blank=True)
    saml_entity_id = models.CharField(_("IdP entity ID"), max_length=500, blank=True, editable=False)
    # Members: just-in-time creation, the allowed email domains, "SSO only" and its break-glass admin.
    jit_enabled = models.BooleanField(_("create members at first sign-in"), default=False)
    jit_role = models.ForeignKey(
        "access.Role", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("role")
    )
    allowed_domains = models.CharField(_("allowed email domains"), max_length=500, blank=True)
    sso_only = models.BooleanField(_("members must sign in with single sign-on"), default=False)
    break_glass = models.ForeignKey(
        "access.Member",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("break-glass administrator"),
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("identity provider")
        verbose_name_plural = _("identity providers")
        constraints = [models.UniqueConstraint(models.Value(True), name="sso_single_provider")]

    def __str__(self) -> str:
        return self.name

    def domains(self) -> list[str]:
        return [d.strip().lower().lstrip("@") for d in self.allowed_domains.replace(";", ",").split(",") if d.strip()]


class SsoLink(models.Model):
    """A member as known to the provider: the protocol's stable subject (OIDC `iss` + `sub`, SAML NameID)."""

    member = models.ForeignKey("access.Member", on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(max_length=700)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subject"], name="sso_link_subject_unique")]

    def __str__(self) -> str:
        return self.subject


class SamlAssertionSeen(models.Model):
    """A SAML assertion id already used here: a second use is a replay. Kept until the assertion expires."""

    assertion_id = models.CharField(max_length=255)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assertion_id"], name="sso_assertion_once")]
        indexes = [models.Index(fields=["expires_at"], name="sso_assertion_expiry")]

    def __str__(self) -> str:
        return self.assertion_id


__all__ = ["IdentityProvider", "Protocol", "SamlAssertionSeen", "SsoLink"]
