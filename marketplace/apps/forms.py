"""Forms of the partner portal's app pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.apps.scopes import scope_choices


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class VersionForm(forms.Form):
    redirect_uris = forms.CharField(
        label=_("Redirect URIs"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One absolute https address per line; the authorization code is sent only to these."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What the app may ask a workspace for; write includes read."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = scope_choices()  # type: ignore[attr-defined]

    def uris(self) -> list[str]:
        return _lines(self.cleaned_data["redirect_uris"])


class AppForm(VersionForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(label=_("What it does"), max_length=300, required=False)
    listing = forms.TypedChoiceField(label=_("Listing"), coerce=int, required=False, empty_value=None)

    field_order = ["name", "description", "listing", "redirect_uris", "scopes"]

    def __init__(self, *args: Any, listings: list[tuple[int, str]] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["listing"].choices = [("", _("None")), *listings]  # type: ignore[attr-defined]


class SandboxForm(forms.Form):
    name = forms.CharField(label=_("Sandbox name"), max_length=60)
