"""Forms of the audit screen: the filters (GET) and the retention setting. Parsing only; the rules live
in the selectors and services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm_apps.audit.models import RETENTION_MAX_DAYS, RETENTION_MIN_DAYS, AuditAction
from crm_apps.audit.selectors import AuditFilters


class AuditFilterForm(forms.Form):
    actor = forms.TypedChoiceField(label=_("Who"), required=False, coerce=int, empty_value=None)
    action = forms.ChoiceField(label=_("Action"), required=False)
    module = forms.ChoiceField(label=_("Module"), required=False)
    record_id = forms.CharField(
        label=_("Record ID"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )

    def __init__(
        self, *args: Any, actors: list[tuple[int, str]], modules: list[tuple[str, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        anyone: list[tuple[Any, Any]] = [("", _("Anyone"))]
        self.fields["actor"].choices = anyone + list(actors)  # type: ignore[attr-defined]
        self.fields["action"].choices = [("", _("Any action")), *AuditAction.choices]  # type: ignore[attr-defined]
        self.fields["module"].choices = [("", _("Any module")), *modules]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    def filters(self) -> AuditFilters:
        """The valid filters (an invalid field filters nothing, and the form shows its error)."""
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        return AuditFilters(
            actor_id=data.get("actor"),
            action=data.get("action") or "",
            module=data.get("module") or "",
            record_id=(data.get("record_id") or "").strip(),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


class RetentionForm(forms.Form):
    retention_days = forms.IntegerField(
        label=_("Keep events for (days)"),
        min_value=RETENTION_MIN_DAYS,
        max_value=RETENTION_MAX_DAYS,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bounds = {"min": RETENTION_MIN_DAYS, "max": RETENTION_MAX_DAYS}
        self.fields["retention_days"].help_text = (
            _("From %(min)d to %(max)d days. Older events are deleted once a day.") % bounds
        )
