"""Form widgets of the design system."""

from __future__ import annotations

from django import forms


class FilterableCheckboxes(forms.CheckboxSelectMultiple):
    """A multiple choice as a scrollable list of checkboxes with a filter box: no Ctrl-click to pick several
    of 250 countries, and typing narrows the list. Without JavaScript it is the plain checkbox list."""

    template_name = "frontend/widgets/filterable_checkboxes.html"
