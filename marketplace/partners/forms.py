"""HTML forms of the partner portal, the directory and the tenant's partner access page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from frontend.widgets import FilterableCheckboxes
from marketplace.partners import choices
from marketplace.partners.models import PartnerRole

FILL_MIN_SECONDS = 3
FILL_MAX_SECONDS = 24 * 60 * 60
FORM_SALT = "partners.contact"


class PartnerSignupForm(forms.Form):
    """New identity and partner at once (visitors who are not signed in)."""

    name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(label=_("Work email"), max_length=254)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    partner_name = forms.CharField(label=_("Company name"), max_length=120)
    slug = forms.SlugField(
        label=_("Address name"),
        max_length=60,
        help_text=_("Your directory page will be at /partners/<address name>/."),
    )


class PartnerCreateForm(forms.Form):
    """A signed-in user creates a partner."""

    partner_name = forms.CharField(label=_("Company name"), max_length=120)
    slug = forms.SlugField(
        label=_("Address name"),
        max_length=60,
        help_text=_("Your directory page will be at /partners/<address name>/."),
    )


class ProfileForm(forms.Form):
    name = forms.CharField(label=_("Company name"), max_length=120)
    website = forms.URLField(label=_("Website"), required=False, max_length=300, assume_scheme="https")
    description = forms.CharField(
        label=_("Description"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 6})
    )
    logo = forms.FileField(
        label=_("Logo"),
        required=False,
        help_text=_("PNG, JPEG, GIF or WebP, at most 1 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}),
    )
    remove_logo = forms.BooleanField(label=_("Remove the current logo"), required=False)
    countries = forms.MultipleChoiceField(label=_("Countries served"), required=False, widget=FilterableCheckboxes)
    regions = forms.MultipleChoiceField(label=_("Regions served"), required=False, widget=forms.CheckboxSelectMultiple)
    languages = forms.MultipleChoiceField(label=_("Languages"), required=False, widget=FilterableCheckboxes)
    services = forms.MultipleChoiceField(label=_("Services"), required=False, widget=forms.CheckboxSelectMultiple)
    industries = forms.MultipleChoiceField(label=_("Industries"), required=False, widget=forms.CheckboxSelectMultiple)
    certifications = forms.CharField(
        label=_("Certifications"),
        required=False,
        help_text=_("One per line."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["countries"].choices = choices.country_choices()  # type: ignore[attr-defined]
        self.fields["regions"].choices = choices.region_choices()  # type: ignore[attr-defined]
        self.fields["languages"].choices = choices.language_choices()  # type: ignore[attr-defined]
        self.fields["services"].choices = choices.service_choices()  # type: ignore[attr-defined]
        self.fields["industries"].choices = choices.industry_choices()  # type: ignore[attr-defined]


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=PartnerRole.choices, initial=PartnerRole.SALES)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=PartnerRole.choices)


def _with_any(options: list[tuple[str, str]], label: Any) -> list[tuple[str, str]]:
    return [("", str(label)), *options]


class DirectoryFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    country = forms.ChoiceField(label=_("Country"), required=False)
    language = forms.ChoiceField(label=_("Language"), required=False)
    service = forms.ChoiceField(label=_("Service"), required=False)
    industry = forms.ChoiceField(label=_("Industry"), required=False)
    authorised = forms.BooleanField(label=_("Authorised partners only"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = _with_any(choices.country_choices(), _("Any country"))  # type: ignore[attr-defined]
        self.fields["language"].choices = _with_any(choices.language_choices(), _("Any language"))  # type: ignore[attr-defined]
        self.fields["service"].choices = _with_any(choices.service_choices(), _("Any service"))  # type: ignore[attr-defined]
        self.fields["industry"].choices = _with_any(choices.industry_choices(), _("Any industry"))  # type: ignore[attr-defined]


def form_started_token() -> str:
    """A signed timestamp put in the contact form when it is shown (spam check: minimum fill time)."""
    return signing.dumps(int(timezone.now().timestamp()), salt=FORM_SALT)


class ContactForm(forms.Form):
    """Contact a partner. `homepage` is a honeypot that people never see; `started` is a signed time."""

    name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(label=_("Email address"), max_length=254)
    company = forms.CharField(label=_("Company"), max_length=150, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    country = forms.ChoiceField(label=_("Country"), required=False)
    message = forms.CharField(
        label=_("How can this partner help?"), max_length=3000, widget=forms.Textarea(attrs={"rows": 6})
    )
    homepage = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    started = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = _with_any(choices.country_choices(), "—")  # type: ignore[attr-defined]
        if not self.is_bound:
            self.initial["started"] = form_started_token()

    def is_spam(self) -> bool:
        """The honeypot is filled, or the form came back faster than a person types (or is a day old)."""
        if self.data.get("homepage"):
            return True
        try:
            started = int(signing.loads(str(self.data.get("started") or ""), salt=FORM_SALT))
        except (signing.BadSignature, ValueError, TypeError):
            return True
        elapsed = timezone.now().timestamp() - started
        return not (FILL_MIN_SECONDS <= elapsed <= FILL_MAX_SECONDS)


class GrantForm(forms.Form):
    """Tenant side: give a partner access with a role."""

    partner = forms.SlugField(
        label=_("Partner address name"),
        max_length=60,
        help_text=_("The last part of the partner's directory address, e.g. acme-consulting."),
    )
    role = forms.ChoiceField(label=_("Role of its team here"))

    def __init__(self, *args: Any, roles: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = roles  # type: ignore[attr-defined]
