"""Forms of the tenant-admin settings screens. They parse input only; the rules live in the services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from crm_apps.engine import registry
from crm_apps.engine.models import FieldType
from crm_apps.engine.spec import ModuleSpec

# Bounds on raw input only (the services decide what is valid); they keep absurd posts cheap.
CHOICES_TEXT_MAX = 20_000
DEFAULT_TEXT_MAX = 10_000
POSITION_MAX = 100_000
PICKLIST_TYPES = (FieldType.PICKLIST, FieldType.MULTIPICKLIST)


def field_label(spec: ModuleSpec, name: str) -> str:
    """The human label of a standard field of a module."""
    return str(capfirst(spec.model._meta.get_field(name).verbose_name))  # type: ignore[union-attr]


class CustomFieldCreateForm(forms.Form):
    label = forms.CharField(label=_("Label"), max_length=100)
    key = forms.CharField(
        label=_("Key"),
        max_length=40,
        help_text=_(
            "Lowercase letters, digits and underscores, starting with a letter. Used by the API and "
            "imports; it cannot be changed later."
        ),
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    # Structured fields need their parts declared: made through the API or an installed app's field type.
    type = forms.ChoiceField(label=_("Type"), choices=[c for c in FieldType.choices if c[0] != FieldType.STRUCTURED])
    required = forms.BooleanField(label=_("Required"), required=False)
    unique = forms.BooleanField(
        label=_("Unique"), required=False, help_text=_("No two records may have the same value.")
    )
    default = forms.CharField(
        label=_("Default value"),
        required=False,
        max_length=DEFAULT_TEXT_MAX,
        help_text=_("Filled in on new records. Checkboxes: yes or no; multi-select picklists: comma-separated."),
    )
    help_text = forms.CharField(label=_("Help text"), required=False, max_length=200)
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        max_length=CHOICES_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Picklists only: one choice per line."),
    )
    target = forms.ChoiceField(label=_("Points to module"), required=False, help_text=_("Record references only."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        target: Any = self.fields["target"]
        target.choices = [("", _("(none)"))] + [(spec.key, str(spec.label_plural)) for spec in registry.all_specs()]

    def service_kwargs(self) -> dict[str, Any]:
        """custom_field_create's arguments from the cleaned data."""
        data = self.cleaned_data
        kind = data["type"]
        choices = None
        if kind in PICKLIST_TYPES:
            choices = [line.strip() for line in data["choices"].splitlines() if line.strip()]
        options = {"target": data["target"]} if kind == FieldType.RECORD else {}
        return {
            "key": data["key"],
            "label": data["label"],
            "type": kind,
            "required": data["required"],
            "unique": data["unique"],
            "default": data["default"] or None,
            "options": options,
            "choices": choices,
            "help_text": data["help_text"],
        }


class CustomFieldUpdateForm(forms.Form):
    label = forms.CharField(label=_("Label"), max_length=100)
    required = forms.BooleanField(label=_("Required"), required=False)
    help_text = forms.CharField(label=_("Help text"), required=False, max_length=200)
    position = forms.IntegerField(
        label=_("Position"),
        min_value=0,
        max_value=POSITION_MAX,
        help_text=_("Fields are shown in ascending order of position."),
    )


class PicklistValueAddForm(forms.Form):
    label = forms.CharField(label=_("New value"), max_length=100)


class PicklistValueForm(forms.Form):
    """One value's row: rename it, retire or restore it, move it up or down."""

    ACTIONS = ("rename", "retire", "restore", "up", "down")

    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS], widget=forms.HiddenInput, initial="rename")
    label = forms.CharField(label=_("Label"), required=False, max_length=100)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("action") == "rename" and not cleaned.get("label") and "label" not in self.errors:
            self.add_error("label", _("This field is required."))
        return cleaned


@dataclass(frozen=True)
class LayoutResult:
    blocks: list[str]
    fields: dict[str, list[str]]
    hidden: list[str]


class LayoutForm(forms.Form):
    """The whole layout as posted (order of hidden inputs), plus an optional up/down move to apply."""

    def __init__(self, spec: ModuleSpec, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        block_choices = [(b.key, str(b.title)) for b in spec.blocks]
        self.fields["blocks"] = forms.MultipleChoiceField(
            label=_("Blocks"), choices=block_choices, required=False, widget=forms.MultipleHiddenInput
        )
        moves = []
        for block in spec.blocks:
            self.fields[f"fields_{block.key}"] = forms.MultipleChoiceField(
                label=str(block.title),
                choices=[(name, name) for name in block.fields],
                required=False,
                widget=forms.MultipleHiddenInput,
            )
            moves += [(f"block:{block.key}:{d}", "") for d in ("up", "down")]
            moves += [(f"field:{block.key}:{name}:{d}", "") for name in block.fields for d in ("up", "down")]
        self.fields["hidden"] = forms.MultipleChoiceField(
            label=_("Hidden fields"),
            choices=[(name, field_label(spec, name)) for name in spec.form_fields],
            required=False,
        )
        self.fields["move"] = forms.ChoiceField(choices=[("", ""), *moves], required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ["blocks", *(f"fields_{b.key}" for b in self.spec.blocks), "hidden"]:
            values = cleaned.get(name) or []
            if len(set(values)) != len(values):
                self.add_error(name, _("Each item may appear only once."))
        return cleaned

    def result(self) -> LayoutResult:
        """The posted layout, completed with anything left out and with the requested move applied."""
        data = self.cleaned_data
        blocks = list(data["blocks"]) + [b.key for b in self.spec.blocks if b.key not in data["blocks"]]
        fields: dict[str, list[str]] = {}
        for block in self.spec.blocks:
            posted = list(data[f"fields_{block.key}"])
            fields[block.key] = posted + [name for name in block.fields if name not in posted]
        move = data.get("move") or ""
        if move.startswith("block:"):
            _kind, key, direction = move.split(":")
            _swap(blocks, key, direction)
        elif move.startswith("field:"):
            _kind, key, name, direction = move.split(":")
            _swap(fields[key], name, direction)
        return LayoutResult(blocks=blocks, fields=fields, hidden=list(data["hidden"]))


def _swap(items: list[str], item: str, direction: str) -> None:
    index = items.index(item)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(items):
        items[index], items[other] = items[other], items[index]


class NumberingForm(forms.Form):
    # Not `prefix`: that name is taken by Form's own form-prefix attribute.
    number_prefix = forms.CharField(
        label=_("Prefix"),
        max_length=10,
        help_text=_("1-10 capital letters, digits or hyphens, starting with a letter."),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
    )
    next_number = forms.IntegerField(label=_("Next number"), help_text=_("The number the next new record gets."))
