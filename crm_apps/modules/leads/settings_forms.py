"""The lead conversion mapping form of the leads module's settings page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.settings_forms import field_label
from crm_apps.engine.spec import ModuleSpec
from crm_apps.modules.leads.module import SPEC


class ConversionMappingForm(forms.Form):
    """One select per field of the organisation, contact and deal: the lead field that fills it."""

    def __init__(self, targets: list[ModuleSpec], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        leads = SPEC
        lead_choices = [("", _("(not filled)"))] + [(name, field_label(leads, name)) for name in leads.form_fields]
        self.targets = targets
        for spec in targets:
            for name in spec.form_fields:
                self.fields[self.field_name(spec.key, name)] = forms.ChoiceField(
                    label=field_label(spec, name), choices=lead_choices, required=False
                )

    @staticmethod
    def field_name(target: str, target_field: str) -> str:
        return f"{target}__{target_field}"

    def groups(self) -> list[tuple[ModuleSpec, list[forms.BoundField]]]:
        return [(spec, [self[self.field_name(spec.key, name)] for name in spec.form_fields]) for spec in self.targets]

    def changes(self) -> list[tuple[str, str, str | None]]:
        """(target, target field, lead field or None) for every select the admin changed."""
        found = []
        for spec in self.targets:
            for name in spec.form_fields:
                key = self.field_name(spec.key, name)
                if key in self.changed_data:
                    found.append((spec.key, name, self.cleaned_data[key] or None))
        return found
