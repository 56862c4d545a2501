"""`render_page`: `django.shortcuts.render` for the hot pages, freeing what a page showed as soon as it is sent
(issue 25).

Django's template context holds its layers in a reference cycle (each layer keeps a reference back to the
context), so everything a page was rendered with (a list's rows, their records and owners, the cells'
values: about 700 objects of a contacts list) stayed in memory until the garbage collector's next pass
found the cycle, instead of being freed when the view returned; the collector then walked and freed them,
often during a later request, and moved the ones it met alive into an older generation that costs more to
walk. Emptying the context's layers once the HTML is made breaks the cycle: reference counting frees the
page's objects at once. The output is what `render` gives; the test client's copies of the context (taken
while rendering) keep their layers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.template.context import make_context


def render_page(
    request: HttpRequest,
    template_name: str | Sequence[str],
    context: Mapping[str, Any] | None = None,
    content_type: str | None = None,
    status: int | None = None,
) -> HttpResponse:
    """`django.shortcuts.render` (the same arguments and response) for the Django template engine."""
    if isinstance(template_name, str):
        template: Any = loader.get_template(template_name)
    else:
        template = loader.select_template(list(template_name))
    inner = getattr(template, "template", None)
    backend = getattr(template, "backend", None)
    if inner is None or backend is None:  # another engine's template: as render does
        return HttpResponse(template.render(context, request), content_type, status)
    made = make_context(dict(context or {}), request, autoescape=backend.engine.autoescape)
    try:
        content = inner.render(made)
    finally:
        made.dicts.clear()
        made.render_context.dicts.clear()
    return HttpResponse(content, content_type, status)
