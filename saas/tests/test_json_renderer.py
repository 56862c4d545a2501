"""The API's JSON renderer (saas.renderers.FastJSONRenderer): orjson writes the document, the bytes are DRF's."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import uuid
from collections import OrderedDict, namedtuple
from decimal import Decimal

import pytest
from django.db import models
from django.http import QueryDict
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from saas.renderers import FastJSONRenderer

UTC = dt.UTC


class Level(enum.IntEnum):
    HIGH = 3


class Colour(models.TextChoices):
    RED = "red", "Red"


Point = namedtuple("Point", "x y")  # a plain namedtuple: a tuple subclass


@dataclasses.dataclass
class Pair:
    a: int


def reordered() -> OrderedDict[str, int]:
    ordered = OrderedDict([("first", 1), ("second", 2)])
    ordered.move_to_end("first")
    return ordered


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
        {  # subclasses of the plain types, written as `json` writes them
            "safe": mark_safe("<b>bold</b>"),
            "level": Level.HIGH,
            "colour": Colour.RED,
            "point": Point(1, 2),
            "ordered": reordered(),
            "query": QueryDict("a=1&a=2&b=3"),
            "control": "tab\t nul\x00 bell\x07 del\x7f",
        },
    ],
)
def test_the_same_bytes_as_drfs_renderer(data):
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_what_drf_refuses_is_refused_and_floats_keep_their_value():
    with pytest.raises(TypeError):
        JSONRenderer().render({"pair": Pair(1)})
    with pytest.raises(TypeError):
        FastJSONRenderer().render({"pair": Pair(1)})
    data = {"big": 1e16, "small": 1e-7, "plain": 0.1}
    assert json.loads(FastJSONRenderer().render(data)) == json.loads(JSONRenderer().render(data))


def test_indented_output_and_nothing():
    data = {"a": [1, {"b": dt.date(2026, 1, 2)}]}
    fast, drf = FastJSONRenderer(), JSONRenderer()

    assert fast.render(data, "application/json; indent=4") == drf.render(data, "application/json; indent=4")
    assert fast.render(data, None, {"indent": 2}) == drf.render(data, None, {"indent": 2})
    assert fast.render(None) == b""


def test_the_api_answers_through_it():
    """The project's default renderer: every API view's JSON comes out of it (a list of records through it is
    what the API tests read)."""
    from rest_framework.settings import api_settings

    from crm_apps.engine.api.views import RecordListView

    assert api_settings.DEFAULT_RENDERER_CLASSES[0] is FastJSONRenderer
    assert RecordListView.renderer_classes[0] is FastJSONRenderer
