from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.utils.translation import gettext_lazy as _

from crm_apps.access.formats import DATE_CHOICES, NUMBER_CHOICES, TIME_CHOICES
from crm_apps.access.login_policy import password_signin_refusal
from crm_apps.access.models import Member, Role
from saas.timezones import time_zones_sorted
from tenants.models import User


class MemberLoginForm(AuthenticationForm):
    """Email + password; only active members of this tenant get in."""

    username = forms.EmailField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    error_messages = {
        "invalid_login": _("Wrong email or password, or you have no access to this workspace."),
        "inactive": _("Wrong email or password, or you have no access to this workspace."),
    }

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not Member.objects.filter(user_id=user.pk, active=True).exists():
            raise forms.ValidationError(self.error_messages["invalid_login"], code="invalid_login")
        refusal = password_signin_refusal(user=user)  # e.g. single sign-on only (crm_apps/sso)
        if refusal:
            raise forms.ValidationError(refusal, code="password_refused")


class MemberPasswordResetForm(PasswordResetForm):
    """Reset emails go only to active members of this tenant; the page never says who exists."""

    def get_users(self, email: str) -> Any:
        member_ids = Member.objects.filter(active=True, user__email__iexact=email).values_list("user_id", flat=True)
        return (u for u in User.objects.filter(pk__in=list(member_ids), is_active=True) if u.has_usable_password())

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        from django.template.loader import render_to_string

        from tenants.mail import mail_enqueue

        subject = render_to_string(subject_template_name, context)
        mail_enqueue(to=[to_email], subject=subject, template=email_template_name, context=context)


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in time_zones_sorted()]


class ProfileForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=150)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    timezone = forms.ChoiceField(label=_("Time zone"), choices=timezone_choices)
    date_format = forms.ChoiceField(label=_("Date format"), choices=DATE_CHOICES, required=False)
    time_format = forms.ChoiceField(label=_("Time format"), choices=TIME_CHOICES, required=False)
    number_format = forms.ChoiceField(label=_("Number format"), choices=NUMBER_CHOICES, required=False)


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    is_admin = forms.BooleanField(label=_("Make administrator"), required=False)

    def __init__(self, *args: Any, choose_role: bool = False, **kwargs: Any) -> None:
        """`choose_role`: administrators place the new member in the hierarchy (the top role excluded)."""
        super().__init__(*args, **kwargs)
        if choose_role:
            from crm_apps.access.settings_forms import RoleChoiceField

            default = Role.objects.filter(default_for_new=True).first()
            self.fields["role"] = RoleChoiceField(
                label=_("Role"),
                queryset=Role.objects.filter(parent__isnull=False),
                required=False,
                empty_label=str(_("Default role (%(role)s)") % {"role": default.name if default else "—"}),
            )


class AcceptInvitationForm(forms.Form):
    """New account: name and password. Rules live in access.services.invitation_accept."""

    name = forms.CharField(
        label=_("Your name"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": 150, "required": True}),
    )
    password = forms.CharField(
        label=_("Choose a password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "maxlength": 128, "required": True}),
    )


class AcceptInvitationExistingForm(forms.Form):
    """Existing account: its password proves who accepts."""

    password = forms.CharField(
        label=_("Your password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "maxlength": 128, "required": True}),
    )


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100, help_text=_("For example: the integration using it."))
