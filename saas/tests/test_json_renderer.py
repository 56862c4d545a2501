"""The API's JSON renderer (saas.renderers.FastJSONRenderer): orjson writes the document, the bytes are DRF's."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from saas.renderers import FastJSONRenderer

UTC = dt.UTC


@pytest.mark.parametrize(
    "data",
    [
        {"results": [], "next": None, "previous": None},
        {
            "when": dt.datetime(2026, 12, 7, 9, 30, 15, 123456, tzinfo=UTC),
            "naive": dt.datetime(2026, 12, 7, 9, 30),
            "offset": dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=3))),
            "day": dt.date(2026, 12, 7),
            "time": dt.time(9, 30, 15, 500000),
            "amount": Decimal("1234.50"),
            "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
            "label": gettext_lazy("Save"),
            "text": 'Grüße, 東京 \u2028 line \u2029 para "quoted" </script>',
            "numbers": (1, 2.5, -0.0, 10**15, True, None),
            "nested": {"a": [{"b": {1: "one", "c": set()}}]},
        },
        {"huge": 2**70},  # beyond orjson's integers: DRF's renderer writes it
    ],
)
def test_the_same_bytes_as_drfs_renderer(data):
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_indented_output_and_nothing():
    data = {"a": [1, {"b": dt.date(2026, 1, 2)}]}
    fast, drf = FastJSONRenderer(), JSONRenderer()

    assert fast.render(data, "application/json; indent=4") == drf.render(data, "application/json; indent=4")
    assert fast.render(data, None, {"indent": 2}) == drf.render(data, None, {"indent": 2})
    assert fast.render(None) == b""


def test_the_api_answers_through_it():
    """The project's default renderer: every API view's JSON comes out of it."""
    from rest_framework.settings import api_settings

    assert api_settings.DEFAULT_RENDERER_CLASSES[0] is FastJSONRenderer
