"""A small, safe template language for the PDF templates tenants edit.

Deliberately not Django's template engine (which a tenant could use to reach attributes and filters
never meant for them): only what the context offers can be printed, nothing can be called.

- `{{ name }}` / `{{ document.subject }}`: a value from the context (dotted names through dicts only),
  HTML-escaped; a name the context lacks prints nothing.
- `{{{ name }}}`: a value inserted as HTML, for the few values the renderer itself builds as safe HTML
  (`company.logo`, `document.terms_html`).
- `{{#lines}} ... {{/lines}}`: repeat the block for every item of a list (its keys become names inside),
  or show it once when the value is true; `{{^name}} ... {{/name}}` shows the block when it is empty/false.

The email issue brings a sandboxed template language of its own (crm_apps/mail); this renderer keeps the
same shape (a context of whitelisted plain values, `render(template, context)`) so it can be swapped for
that one without touching the templates' data."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.html import conditional_escape
from django.utils.safestring import SafeString

_TOKEN = re.compile(r"\{\{\{\s*([\w.]+)\s*\}\}\}|\{\{\s*([#^/]?)\s*([\w.]+)\s*\}\}")
MAX_OUTPUT = 5_000_000


class TemplateError(ValueError):
    """A template whose sections do not nest ("{{#lines}}" without "{{/lines}}")."""


def _lookup(stack: list[Mapping[str, Any]], name: str) -> Any:
    head, *rest = name.split(".")
    for scope in reversed(stack):
        if isinstance(scope, Mapping) and head in scope:
            value = scope[head]
            break
    else:
        return None
    for part in rest:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _parse(template: str) -> list[Any]:
    """The template as a tree: strings, ("var", name, raw) and ("section", name, inverted, children)."""
    root: list[Any] = []
    stack: list[tuple[str, list[Any]]] = [("", root)]
    position = 0
    for match in _TOKEN.finditer(template):
        stack[-1][1].append(template[position : match.start()])
        position = match.end()
        raw_name, sigil, name = match.group(1), match.group(2), match.group(3)
        if raw_name:
            stack[-1][1].append(("var", raw_name, True))
        elif sigil in ("#", "^"):
            children: list[Any] = []
            stack[-1][1].append(("section", name, sigil == "^", children))
            stack.append((name, children))
        elif sigil == "/":
            if len(stack) == 1 or stack[-1][0] != name:
                raise TemplateError(f"{{{{/{name}}}}} closes nothing open")
            stack.pop()
        else:
            stack[-1][1].append(("var", name, False))
    if len(stack) > 1:
        raise TemplateError(f"{{{{#{stack[-1][0]}}}}} is never closed")
    stack[-1][1].append(template[position:])
    return root


class _Output(list[str]):
    """The rendered pieces, counting their size as they come: a template whose sections multiply its
    output (a section nested in itself repeats lines x lines x ...) stops at MAX_OUTPUT characters
    instead of filling a worker's memory first."""

    size = 0

    def append(self, piece: str) -> None:
        self.size += len(piece)
        if self.size > MAX_OUTPUT:
            raise TemplateError(f"the document would be longer than {MAX_OUTPUT} characters")
        super().append(piece)


def _render(nodes: list[Any], stack: list[Mapping[str, Any]], out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif node[0] == "var":
            value = _lookup(stack, node[1])
            if value is None or isinstance(value, Mapping | list):
                continue
            # Triple braces insert HTML only when the renderer built it (a SafeString); anything else,
            # a tenant's own text included, is escaped.
            out.append(str(value) if node[2] and isinstance(value, SafeString) else str(conditional_escape(str(value))))
        else:
            _name, name, inverted, children = node
            value = _lookup(stack, name)
            if inverted:
                if not value:
                    _render(children, stack, out)
            elif isinstance(value, list):
                for item in value:
                    _render(children, [*stack, item if isinstance(item, Mapping) else {".": item}], out)
            elif value:
                _render(children, [*stack, value] if isinstance(value, Mapping) else stack, out)


def validate(template: str) -> None:
    """Raise TemplateError when the sections of a template do not nest."""
    _parse(template)


def render(template: str, context: Mapping[str, Any]) -> str:
    """The template with the context's values; values are escaped unless they are SafeStrings put in
    with triple braces."""
    out = _Output()
    _render(_parse(template), [context], out)
    return "".join(out)
