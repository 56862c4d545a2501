"""Forms of the partner portal's extension pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.catalog.models import MAX_PRICE_CENTS, Category, Pricing

SCREENSHOT_MAX_BYTES = 2 * 1024 * 1024


class ListingForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    slug = forms.SlugField(
        label=_("Address name"),
        max_length=50,
        help_text=_("Lowercase letters, digits and hyphens; also the manifest's key. It cannot change later."),
    )
    summary = forms.CharField(label=_("Summary"), max_length=200)
    description = forms.CharField(
        label=_("Description (Markdown)"), max_length=20_000, required=False, widget=forms.Textarea(attrs={"rows": 8})
    )
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    support_url = forms.URLField(label=_("Support address"), max_length=300, assume_scheme="https")
    pricing = forms.ChoiceField(label=_("Pricing"), choices=Pricing.choices)
    price = forms.DecimalField(
        label=_("Price (US$)"),
        min_value=Decimal(0),
        max_value=Decimal(MAX_PRICE_CENTS) / 100,
        decimal_places=2,
        required=False,
        help_text=_("From $0.01 to $300 for paid extensions; per month for monthly pricing."),
    )
    trial_days = forms.IntegerField(label=_("Trial days"), min_value=0, max_value=90, required=False)
    screenshot = forms.ImageField(label=_("Add a screenshot"), required=False)
    screenshot_caption = forms.CharField(label=_("Screenshot caption"), max_length=150, required=False)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["slug"].disabled = True

    def clean_screenshot(self) -> Any:
        upload = self.cleaned_data.get("screenshot")
        if upload and upload.size > SCREENSHOT_MAX_BYTES:
            raise forms.ValidationError(_("Screenshots may be at most 2 MB."))
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("pricing") and data["pricing"] != Pricing.FREE and not data.get("price"):
            self.add_error("price", _("Paid extensions cost from $0.01 to $300."))
        return data


class VersionForm(forms.Form):
    manifest_file = forms.FileField(label=_("Manifest file (manifest.json)"), required=False)
    manifest_text = forms.CharField(
        label=_("…or paste the manifest"), required=False, widget=forms.Textarea(attrs={"rows": 10, "class": "mono"})
    )
    release_notes = forms.CharField(
        label=_("Release notes"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("manifest_file") and not (data.get("manifest_text") or "").strip():
            raise forms.ValidationError(_("Upload a manifest file or paste one."))
        return data
