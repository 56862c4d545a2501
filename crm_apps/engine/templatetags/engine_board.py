"""`{% board_cards %}`: the cards of the board column `col` and its "Load more" button; `{% board_columns %}`:
every column of a board, its head, cards and link to all its records (engine.board_html);
`|grouped:places`: floatformat's "<places>g" for the many amounts of a board (access.formats.grouped)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from crm_apps.access import formats
from crm_apps.engine.board_html import cards_html, columns_html

register = template.Library()


@register.simple_tag(takes_context=True)
def board_cards(context: Any) -> SafeString:
    return cards_html(context)


@register.simple_tag(takes_context=True)
def board_columns(context: Any) -> SafeString:
    return columns_html(context)


@register.filter(is_safe=True)
def grouped(value: Any, places: Any) -> str:
    return formats.grouped(value, int(places))
