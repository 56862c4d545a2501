"""Forms of the module builder. They parse input only; the rules live in services.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm_apps.custom_modules.services import MENU_GROUPS


def _group_choices() -> list[tuple[str, Any]]:
    return [("", _("(none)")), *MENU_GROUPS.items()]


class CustomModuleForm(forms.Form):
    label = forms.CharField(label=_("Name (singular)"), max_length=60, help_text=_("For example: Equipment item"))
    label_plural = forms.CharField(label=_("Name (plural)"), max_length=60, help_text=_("For example: Equipment"))
    icon = forms.CharField(
        label=_("Icon"), max_length=30, required=False, help_text=_("An icon name, e.g. cog, truck, box.")
    )
    menu_group = forms.ChoiceField(label=_("Menu group"), required=False, choices=_group_choices)


class CustomModuleCreateForm(CustomModuleForm):
    key = forms.CharField(
        label=_("Key"),
        max_length=30,
        help_text=_(
            "Lowercase letters, digits and underscores, starting with a letter. It names the module in "
            "addresses and the API (/api/v1/<key>/) and cannot be changed later."
        ),
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    number_prefix = forms.CharField(
        label=_("Number prefix"),
        max_length=10,
        required=False,
        help_text=_("Records are numbered with this prefix (e.g. EQ1, EQ2). Empty: taken from the key."),
    )

    field_order = ["label", "label_plural", "key", "number_prefix", "icon", "menu_group"]
