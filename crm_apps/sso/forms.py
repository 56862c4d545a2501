from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from crm_apps.access.models import Member, Role
from crm_apps.sso.models import IdentityProvider, Protocol


class SsoLinkForm(forms.Form):
    """The existing account's password, once, before a provider's identity is linked to it."""

    password = forms.CharField(
        label=_("Password of your account"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ProviderForm(forms.Form):
    """The provider settings page: protocol details, then who may come in and how."""

    protocol = forms.ChoiceField(label=_("Protocol"), choices=Protocol.choices, widget=forms.RadioSelect)
    name = forms.CharField(
        label=_("Provider name"),
        max_length=60,
        help_text=_("Shown on the sign-in page as “Sign in with …”, for example Okta or Google."),
    )
    enabled = forms.BooleanField(label=_("Show “Sign in with …” on this workspace's sign-in page"), required=False)
    oidc_discovery_url = forms.URLField(
        label=_("OpenID Connect discovery URL"),
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text=_("…/.well-known/openid-configuration. Leave empty to type the endpoints below."),
    )
    oidc_issuer = forms.CharField(label=_("Issuer"), required=False, max_length=500)
    oidc_authorization_endpoint = forms.URLField(
        label=_("Authorization endpoint"), required=False, max_length=500, assume_scheme="https"
    )
    oidc_token_endpoint = forms.URLField(
        label=_("Token endpoint"), required=False, max_length=500, assume_scheme="https"
    )
    oidc_jwks_uri = forms.URLField(label=_("JWKS URL"), required=False, max_length=500, assume_scheme="https")
    oidc_client_id = forms.CharField(label=_("Client ID"), required=False, max_length=255)
    client_secret = forms.CharField(
        label=_("Client secret"),
        required=False,
        max_length=500,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
        help_text=_("Stored encrypted and never shown again. Leave empty to keep the stored secret."),
    )
    saml_metadata_url = forms.URLField(
        label=_("Identity provider metadata URL"), required=False, max_length=500, assume_scheme="https"
    )
    saml_metadata_file = forms.FileField(
        label=_("Or upload the identity provider's metadata (XML)"), required=False, allow_empty_file=False
    )
    jit_enabled = forms.BooleanField(label=_("Create a member at their first sign-in"), required=False)
    jit_role = forms.ModelChoiceField(
        label=_("Role of members created at sign-in"),
        queryset=Role.objects.none(),
        required=False,
    )
    allowed_domains = forms.CharField(
        label=_("Allowed email domains"),
        required=False,
        max_length=500,
        help_text=_("Comma-separated, for example example.com. Empty: any address the provider confirmed."),
    )
    sso_only = forms.BooleanField(label=_("Members must sign in with single sign-on"), required=False)
    break_glass = forms.ModelChoiceField(
        label=_("Break-glass administrator (keeps password and two-factor sign-in)"),
        queryset=Member.objects.none(),
        required=False,
    )

    def __init__(self, *args: Any, provider: IdentityProvider | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role_field = cast(forms.ModelChoiceField, self.fields["jit_role"])
        role_field.queryset = Role.objects.filter(parent__isnull=False)
        glass_field = cast(forms.ModelChoiceField, self.fields["break_glass"])
        glass_field.queryset = Member.objects.filter(active=True, is_admin=True).select_related("user")
        glass_field.label_from_instance = lambda m: f"{m.user.name} <{m.user.email}>"  # type: ignore[method-assign,assignment]
        if provider is not None and provider.oidc_client_secret_encrypted:
            self.fields["client_secret"].help_text = _("A secret is stored (not shown). Leave empty to keep it.")

    def clean_allowed_domains(self) -> str:
        value = self.cleaned_data["allowed_domains"]
        domains = [d.strip().lower().lstrip("@") for d in value.replace(";", ",").split(",") if d.strip()]
        for domain in domains:
            if "." not in domain or any(not part or not part.replace("-", "").isalnum() for part in domain.split(".")):
                raise forms.ValidationError(_("“%(domain)s” is not a domain name.") % {"domain": domain})
        return ", ".join(domains)


def provider_initial(provider: IdentityProvider | None) -> dict[str, Any]:
    if provider is None:
        return {"protocol": Protocol.OIDC}
    fields = [
        "protocol",
        "name",
        "enabled",
        "oidc_discovery_url",
        "oidc_issuer",
        "oidc_authorization_endpoint",
        "oidc_token_endpoint",
        "oidc_jwks_uri",
        "oidc_client_id",
        "saml_metadata_url",
        "jit_enabled",
        "allowed_domains",
        "sso_only",
    ]
    initial = {f: getattr(provider, f) for f in fields}
    initial["jit_role"] = provider.jit_role_id
    initial["break_glass"] = provider.break_glass_id
    return initial
