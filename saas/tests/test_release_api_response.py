"""`ReleaseApiResponseMiddleware`: an API response's data is freed when the response goes, by reference counting,
not left in DRF's response <-> view <-> request cycles for the garbage collector (issue 25)."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest
from django.test import RequestFactory
from rest_framework.response import Response
from rest_framework.views import APIView

from saas.middleware import ReleaseApiResponseMiddleware


class Rows(list[Any]):
    """A list that can be watched with a weak reference."""


class RowsView(APIView):
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    made: list[weakref.ref[Rows]] = []

    def get(self, request: Any) -> Response:
        rows = Rows([{"n": i} for i in range(3)])
        self.made.append(weakref.ref(rows))
        return Response({"rows": rows})


def serve(*, release: bool) -> tuple[int, bytes, weakref.ref[Rows]]:
    """One request through the view, rendered as Django's handler does (template-response hooks, render)."""
    RowsView.made.clear()
    request = RequestFactory().get("/rows", HTTP_ACCEPT="application/json")
    response = RowsView.as_view()(request)
    if release:
        response = ReleaseApiResponseMiddleware(lambda r: response).process_template_response(request, response)
    response.render()
    return response.status_code, response.content, RowsView.made[0]


def test_the_data_goes_with_the_response_and_the_content_is_unchanged() -> None:
    gc.collect()
    gc.disable()
    try:
        status, content, rows = serve(release=True)
        assert rows() is None  # freed on return: no cycle kept it
        # Without the middleware, DRF's cycles keep it until the collector runs
        plain_status, plain_content, kept = serve(release=False)
        assert kept() is not None
    finally:
        gc.enable()
        gc.collect()
    assert kept() is None
    assert (status, content) == (plain_status, plain_content) == (200, b'{"rows":[{"n":0},{"n":1},{"n":2}]}')


def test_other_responses_pass_untouched() -> None:
    from django.template.response import SimpleTemplateResponse

    page = SimpleTemplateResponse("components/empty_state.html", {"message": "x"})
    middleware = ReleaseApiResponseMiddleware(lambda r: page)
    assert middleware.process_template_response(RequestFactory().get("/"), page) is page
    assert page._post_render_callbacks == []


@pytest.mark.django_db
def test_an_api_response_keeps_its_data_for_the_test_client(tenant_a, admin_of, client_for) -> None:
    from django_tenants.utils import schema_context

    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
    client = client_for(tenant_a, admin)
    response = client.get("/api/v1/contacts/", {"limit": 1})
    assert response.status_code == 200 and "results" in response.data and "results" in response.json()
