"""render_page: Django's `render` output, and what the page was rendered with is freed when it returns, without
waiting for the garbage collector (issue 25); the engine's pages use the module's own template when there is
one, the generic one otherwise, looked up once."""

from __future__ import annotations

import gc
import weakref

import pytest
from django.shortcuts import render
from django.test import RequestFactory, override_settings
from django_tenants.utils import schema_context

from crm_apps.engine import registry, spec
from frontend.pages import render_page

pytestmark = pytest.mark.django_db


class Row:
    def __init__(self, name: str) -> None:
        self.name = name


@pytest.fixture
def request_():
    return RequestFactory().get("/")


def test_the_same_response_as_render(request_):
    context = {"message": "Nothing <here>", "tag": "div"}
    ours = render_page(request_, "components/empty_state.html", context, status=201, content_type="text/x-test")
    django = render(request_, "components/empty_state.html", context, status=201, content_type="text/x-test")
    assert (ours.status_code, ours["Content-Type"], ours.content) == (201, "text/x-test", django.content)
    assert b"Nothing &lt;here&gt;" in ours.content
    chosen = render_page(request_, ["missing/nowhere.html", "components/empty_state.html"], context)
    assert chosen.content == django.content


def test_what_the_page_showed_is_freed_on_return(request_):
    gc.collect()
    gc.disable()
    try:
        row = Row("Ann <b>")
        seen = weakref.ref(row)
        response = render_page(request_, "components/empty_state.html", {"message": row.name, "row": row})
        del row
        assert seen() is None  # freed by reference counting: no cycle kept it
        # Django's own render leaves it in the context's cycle until the collector runs
        row = Row("Ann <b>")
        seen = weakref.ref(row)
        render(request_, "components/empty_state.html", {"message": row.name, "row": row})
        del row
        assert seen() is not None
    finally:
        gc.enable()
        gc.collect()
    assert b"Ann &lt;b&gt;" in response.content


def test_a_module_template_is_used_when_it_exists_and_the_generic_one_otherwise(tenant_a):
    with schema_context(tenant_a.schema_name):
        assert registry.get("deals").template_for("board") == "deals/board.html"
        assert registry.get("contacts").template_for("list") == "engine/list.html"
        # Looked up once: the answer is kept per module and page, forgotten when the template settings change
        assert ("contacts", "list") in spec._templates_found
        with override_settings(TEMPLATES=[]):
            assert ("contacts", "list") not in spec._templates_found
