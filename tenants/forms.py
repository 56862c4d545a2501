from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tenants.services import EMAIL_MAX, NAME_MAX, ORGANIZATION_MAX, PASSWORD_MAX
from tenants.validators import SUBDOMAIN_MAX


class SignupForm(forms.Form):
    """Field widgets and labels only; every rule is checked by tenants.services.signup_clean."""

    organization = forms.CharField(label=_("Organisation name"), max_length=ORGANIZATION_MAX)
    subdomain = forms.CharField(
        label=_("Subdomain"),
        max_length=SUBDOMAIN_MAX,
        help_text=_("3-40 lowercase letters, digits or hyphens. Your workspace address."),
        widget=forms.TextInput(
            attrs={"autocapitalize": "none", "spellcheck": "false", "pattern": "[a-z0-9-]{3,40}"}
        ),
    )
    name = forms.CharField(label=_("Your name"), max_length=NAME_MAX)
    email = forms.EmailField(
        label=_("Work email"), max_length=EMAIL_MAX, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=PASSWORD_MAX,
        strip=False,
        help_text=_("At least 10 characters; not a common or all-numeric password."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class FindWorkspacesForm(forms.Form):
    email = forms.EmailField(label=_("Your email address"), max_length=EMAIL_MAX)


class WorkspaceLoginForm(forms.Form):
    subdomain = forms.CharField(label=_("Workspace subdomain"), max_length=63)
