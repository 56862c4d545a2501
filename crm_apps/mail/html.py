"""Email HTML made safe to store and show (nh3), and the plain-text alternative of an HTML body.

What survives: formatting tags, links (http, https, mailto, tel; `rel="noopener noreferrer"`), images
from http(s) or cid:, tables, and inline styles limited to layout and colour properties whose values
hold no function call, escape or URL. What never does: scripts and styles blocks, event handlers,
`javascript:`/`data:` URLs, CSS `expression()`/`url()`/`behavior`, forms, frames, objects, comments.
"""

from __future__ import annotations

import copy
import re
from html.parser import HTMLParser

import nh3

TAGS = set(nh3.ALLOWED_TAGS) | {"table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "font", "center"}
TAGS -= {"form", "input", "button", "select", "textarea", "iframe", "object", "embed"}
ATTRIBUTES = copy.deepcopy(nh3.ALLOWED_ATTRIBUTES)
for _tag in (
    "p",
    "div",
    "span",
    "td",
    "th",
    "table",
    "tr",
    "img",
    "a",
    "h1",
    "h2",
    "h3",
    "li",
    "ul",
    "ol",
    "font",
    "blockquote",
):
    ATTRIBUTES.setdefault(_tag, set()).add("style")
for _tag in ("td", "th"):
    ATTRIBUTES[_tag] |= {"colspan", "rowspan", "align", "valign", "width"}
ATTRIBUTES.setdefault("table", set()).update({"width", "cellpadding", "cellspacing", "border", "align"})
ATTRIBUTES.setdefault("font", set()).update({"color", "size", "face"})
ATTRIBUTES.setdefault("img", set()).update({"src", "alt", "width", "height"})
URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}
STYLE_PROPERTIES = {
    "color",
    "background-color",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "text-align",
    "text-decoration",
    "line-height",
    "margin",
    "margin-top",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "padding",
    "padding-top",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "border",
    "border-collapse",
    "width",
    "max-width",
    "height",
    "vertical-align",
}
# A value with a call (expression(), url()), an escape or a comment is dropped whole; rgb() is allowed.
_UNSAFE_VALUE = re.compile(r"[\\<>]|/\*|expression|javascript|behavio|-moz-binding|@import|url\s*\(", re.IGNORECASE)
_CALL = re.compile(r"([a-z-]+)\s*\(", re.IGNORECASE)


def _style_filter(value: str) -> str | None:
    kept = []
    for declaration in value.split(";"):
        name, sep, raw = declaration.partition(":")
        name, raw = name.strip().lower(), raw.strip()
        if not sep or name not in STYLE_PROPERTIES or _UNSAFE_VALUE.search(raw):
            continue
        if any(call.lower() not in ("rgb", "rgba") for call in _CALL.findall(raw)):
            continue
        kept.append(f"{name}: {raw}")
    return "; ".join(kept) or None


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "style":
        return _style_filter(value)
    return value


def sanitize(html: str) -> str:
    """HTML safe to store and render inside the CRM's pages."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags={"script", "style", "title", "head"},
        attributes=ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


_BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "hr", "pre"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.href: list[str | None] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self.skip += 1
        if tag in _BLOCKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")
        if tag == "a":
            self.href.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title") and self.skip:
            self.skip -= 1
        if tag == "a" and self.href:
            href = self.href.pop()
            if href and href.startswith(("http:", "https:")):
                self.parts.append(f" ({href})")
        if tag in _BLOCKS and tag != "br":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(re.sub(r"\s+", " ", data))


def to_text(html: str) -> str:
    """The plain-text alternative of an HTML body: paragraphs on their own lines, links spelt out."""
    parser = _Text()
    parser.feed(html or "")
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def from_text(text: str) -> str:
    """Plain text as HTML paragraphs (escaped), for a message that came without HTML."""
    from django.utils.html import linebreaks

    return linebreaks(text or "", autoescape=True)
