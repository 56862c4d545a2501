"""`{% comment_body comment %}`: a comment's text with its mentions as links, the viewer's own emphasised."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from crm_apps.engine.mentions import comment_html, comment_text

register = template.Library()


@register.simple_tag(takes_context=True)
def comment_body(context: Any, comment: Any) -> SafeString:
    request = context.get("request")
    viewer = getattr(request, "member", None)
    return comment_html(body=comment.body, mentions=comment.mentions.all(), viewer=viewer)


@register.filter
def mention_text(body: str) -> str:
    """A comment as plain text for short previews: `@[Name](member:ID)` reads as `@Name`."""
    return comment_text(body or "")
