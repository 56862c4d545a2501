"""`{% board_cards %}`: the cards of the board column `col` and its "Load more" button; `{% board_columns %}`:
every column of a board, its head, cards and link to all its records (engine.board_html)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from crm_apps.engine.board_html import cards_html, columns_html

register = template.Library()


@register.simple_tag(takes_context=True)
def board_cards(context: Any) -> SafeString:
    return cards_html(context)


@register.simple_tag(takes_context=True)
def board_columns(context: Any) -> SafeString:
    return columns_html(context)
