from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from tenants.services import EMAIL_MAX, NAME_MAX, ORGANIZATION_MAX, PASSWORD_MAX
from tenants.validators import SUBDOMAIN_MAX


class WorkspaceForm(forms.Form):
    """A new workspace's name and address. Labels and widgets only: the rules are in tenants.services."""

    organization = forms.CharField(
        label=_("Organisation name"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": ORGANIZATION_MAX, "required": True}),
    )
    subdomain = forms.CharField(
        label=_("Subdomain"),
        required=False,
        help_text=_("3-40 lowercase letters, digits or hyphens. Your workspace address."),
        widget=forms.TextInput(
            attrs={"maxlength": SUBDOMAIN_MAX, "required": True, "autocapitalize": "none", "spellcheck": "false"}
        ),
    )


class SignupForm(WorkspaceForm):
    """The workspace plus the person signing up; every rule lives in tenants.services.signup_clean."""

    name = forms.CharField(
        label=_("Your name"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": NAME_MAX, "required": True, "autocomplete": "name"}),
    )
    email = forms.CharField(
        label=_("Work email"),
        required=False,
        widget=forms.EmailInput(attrs={"maxlength": EMAIL_MAX, "required": True, "autocomplete": "email"}),
    )
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        help_text=_("At least 10 characters; not a common or all-numeric password."),
        widget=forms.PasswordInput(attrs={"maxlength": PASSWORD_MAX, "required": True, "autocomplete": "new-password"}),
    )
    language = forms.CharField(
        label=_("Workspace language"),
        required=False,
        help_text=_("Stages, statuses, roles and other built-in values are created in this language."),
        widget=forms.Select(choices=settings.LANGUAGES),
    )


class FindWorkspacesForm(forms.Form):
    email = forms.EmailField(label=_("Your email address"), max_length=EMAIL_MAX)


class WorkspaceLoginForm(forms.Form):
    subdomain = forms.CharField(label=_("Workspace subdomain"), max_length=63)
