"""Template helpers of the design system: icons from the sprite, avatars, the document title."""

from __future__ import annotations

import contextlib
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from django import template
from django.templatetags.static import static
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString

register = template.Library()

ICONS_FILE = Path(__file__).resolve().parent.parent / "icons.json"
# Avatar backgrounds: every one keeps white initials above 4.5:1 (WCAG AA), in both themes.
AVATAR_COLOURS = ("#2f5bd3", "#0f766e", "#b42318", "#7a3fb8", "#a1441b", "#1d6a8a", "#3f6212", "#9d174d")
TITLE_SEPARATOR = " · "


@cache
def _icons() -> tuple[frozenset[str], dict[str, str], str]:
    data = json.loads(ICONS_FILE.read_text(encoding="utf-8"))
    return frozenset(data["icons"]), dict(data["aliases"]), data["fallback"]


def icon_name(name: str) -> str:
    """The sprite's id for a name (module specs say "person", the sprite "user"); unknown -> the fallback."""
    names, aliases, fallback = _icons()
    name = aliases.get(name, name)
    return name if name in names else fallback


@register.simple_tag
def icon(name: str, label: str = "", size: int = 18, css: str = "") -> SafeString:
    """An inline icon drawn from the sprite; decorative (hidden from assistive technology) unless labelled."""
    href = f"{static('frontend/icons.svg')}#{icon_name(name)}"
    classes = f"icon {css}".strip()
    if label:
        return format_html(
            '<svg class="{}" width="{}" height="{}" role="img" aria-label="{}" focusable="false">'
            '<use href="{}"></use></svg>',
            classes,
            size,
            size,
            label,
            href,
        )
    return format_html(
        '<svg class="{}" width="{}" height="{}" aria-hidden="true" focusable="false"><use href="{}"></use></svg>',
        classes,
        size,
        size,
        href,
    )


def initials(name: str) -> str:
    """Up to two letters: first and last word's first letters ("Sam Seller" -> "SS", "ada" -> "A")."""
    words = [w for w in str(name or "").replace("@", " ").split() if w[:1].isalnum()]
    if not words:
        return "?"
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


def avatar_colour(name: str) -> str:
    """A stable colour per name (the same person looks the same on every page and every machine)."""
    digest = hashlib.sha256(str(name or "").strip().lower().encode()).digest()
    return AVATAR_COLOURS[digest[0] % len(AVATAR_COLOURS)]


@register.simple_tag
def avatar(name: str, size: str = "", label: bool = False) -> SafeString:
    """Initials on a colour derived from the name. Decorative next to the written name; `label` names it."""
    css = f"avatar avatar--{size}" if size else "avatar"
    if label:
        return format_html(
            '<span class="{}" style="--avatar-bg: {}" role="img" aria-label="{}">{}</span>',
            css,
            avatar_colour(name),
            name,
            initials(name),
        )
    return format_html(
        '<span class="{}" style="--avatar-bg: {}" aria-hidden="true">{}</span>',
        css,
        avatar_colour(name),
        initials(name),
    )


class DocTitleNode(template.Node):
    def __init__(self, nodelist: template.NodeList) -> None:
        self.nodelist = nodelist

    def render(self, context: Any) -> str:
        page = " ".join(self.nodelist.render(context).split())
        parts = [p.strip() for p in page.split(TITLE_SEPARATOR.strip()) if p.strip()]
        tenant = context.get("tenant")
        product = str(context.get("product_name") or "")
        tail = [conditional_escape(tenant.name)] if tenant is not None else []
        tail.append(conditional_escape(product))
        parts = [p for p in parts if p not in tail]
        return TITLE_SEPARATOR.join([*parts, *[t for t in tail if t]])


@register.tag
def doctitle(parser: Any, token: Any) -> DocTitleNode:
    """`{% doctitle %}{% block title %}{% endblock %}{% enddoctitle %}`: "<Page> · <Workspace> · <Product>";
    a part the page already named (the workspace) is not repeated, an empty page part is left out."""
    nodelist = parser.parse(("enddoctitle",))
    parser.delete_first_token()
    return DocTitleNode(nodelist)


@register.simple_tag(takes_context=True)
def shell_part(context: Any, name: str) -> SafeString:
    """A part of the app shell (sidebar, command palette, quick create, member menu), rendered once per member
    and cached (Shell.part). The sidebar's link to the current page, or to the current module's list, gets
    aria-current="page" here, and the page's CSRF token and address replace their placeholders, so the cached
    part stays the same on every page."""
    from django.urls import NoReverseMatch, reverse
    from django.utils.safestring import mark_safe

    shell = context.get("shell")
    if shell is None:
        return SafeString("")
    from frontend.context_processors import SHELL_CSRF_PLACEHOLDER, SHELL_NEXT_PLACEHOLDER

    html = shell.part(name, context)
    if SHELL_CSRF_PLACEHOLDER in html:
        token = context.get("csrf_token")
        if token is None or str(token) == "NOTPROVIDED":
            field = f'<input type="hidden" name="csrfmiddlewaretoken" value="{SHELL_CSRF_PLACEHOLDER}">'
            html = html.replace(field, "")
        html = html.replace(SHELL_CSRF_PLACEHOLDER, conditional_escape(str(token)))
    if SHELL_NEXT_PLACEHOLDER in html:
        request = context.get("request")
        html = html.replace(SHELL_NEXT_PLACEHOLDER, conditional_escape(request.get_full_path() if request else ""))
    if name == "sidebar":
        request = context.get("request")
        current = [request.path] if request is not None else []
        spec = context.get("spec")
        key = getattr(spec, "key", None)
        if isinstance(key, str):
            with contextlib.suppress(NoReverseMatch):
                current.append(reverse("engine:list", args=[key]))
        for url in dict.fromkeys(current):
            needle = f'class="sidebar__link" href="{conditional_escape(url)}"'
            html = html.replace(needle, f'{needle} aria-current="page"')
    return mark_safe(html)  # noqa: S308 - rendered by the template engine (escaped there); the mark is ours


@register.simple_tag(name="fragment")
def fragment_tag(template_name: str, **values: Any) -> SafeString:
    """`{% fragment "template" name=value ... %}`: the template rendered with these values only, remembered
    in the process for the same values, language, formats and workspace (frontend/fragments.py)."""
    from frontend.fragments import fragment

    return fragment(template_name, **values)
