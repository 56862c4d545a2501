"""The PDF templates' renderer stops a template that multiplies its own output (security review)."""

from __future__ import annotations

import pytest

from crm_apps.inventory import render as renderer
from crm_apps.inventory.render import TemplateError, render


def test_nested_sections_that_multiply_the_output_stop_at_the_limit(monkeypatch):
    monkeypatch.setattr(renderer, "MAX_OUTPUT", 100_000)
    lines = [{"name": f"Line {i}"} for i in range(100)]
    bomb = "{{#lines}}{{#lines}}{{#lines}}{{#lines}}{{name}}{{/lines}}{{/lines}}{{/lines}}{{/lines}}"

    with pytest.raises(TemplateError, match="longer than"):
        render(bomb, {"lines": lines})


def test_an_ordinary_template_renders_in_full():
    lines = [{"name": f"Line {i}"} for i in range(300)]
    text = render("{{#lines}}<tr><td>{{name}}</td></tr>{{/lines}}", {"lines": lines})
    assert text.count("<tr>") == 300 and "Line 299" in text
