"""@mentions in comments. A mention is stored twice over: in the text as `@[Name](member:ID)` (what the
comment box's autocomplete inserts) and as a row of `Comment.mentions`, which is what notifications
and highlighting trust. Older comments mention by email (`@ann@example.com`); both forms still work.
Only active members of the current tenant can be mentioned: ids and emails are looked up in its schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db.models import Q
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from crm_apps.access.models import Member

EMAIL_MENTION_RE = re.compile(r"@([\w.+-]+@[\w-]+(?:\.[\w-]+)+)")
MEMBER_MENTION_RE = re.compile(r"@\[([^\[\]\n]{1,100})\]\(member:(\d{1,12})\)")
_ANY_MENTION_RE = re.compile(f"{MEMBER_MENTION_RE.pattern}|{EMAIL_MENTION_RE.pattern}")
CANDIDATES_LIMIT = 8


def mentioned_members(*, body: str, author: Member) -> list[Member]:
    """The active members of this tenant a comment's text mentions (by id or by email), author excluded."""
    ids = {int(pk) for _name, pk in MEMBER_MENTION_RE.findall(body)}
    emails = {email.lower() for email in EMAIL_MENTION_RE.findall(MEMBER_MENTION_RE.sub(" ", body))}
    if not ids and not emails:
        return []
    return list(
        Member.objects.select_related("user")
        .filter(Q(pk__in=ids) | Q(user__email__in=emails), active=True)
        .exclude(pk=author.pk)
        .order_by("pk")
    )


def mention_candidates(*, actor: Member, text: str) -> list[Member]:
    """Active members of this tenant but the actor whose name or email starts a word with `text`."""
    text = text.strip()[:50]
    if not text:
        return []
    words = Q(user__name__istartswith=text) | Q(user__name__icontains=f" {text}") | Q(user__email__istartswith=text)
    return list(
        Member.objects.select_related("user")
        .filter(words, active=True)
        .exclude(pk=actor.pk)  # mentioning oneself notifies nobody
        .order_by("user__name", "pk")[:CANDIDATES_LIMIT]
    )


def comment_html(*, body: str, mentions: Iterable[Member], viewer: Member | None) -> SafeString:
    """The comment's text, escaped, with its mentions as links (the viewer's own emphasised) and line
    breaks kept. A token naming someone who is not among the comment's mentions stays plain text."""
    by_id = {m.pk: m for m in mentions}
    by_email = {m.user.email.lower(): m for m in by_id.values()}
    parts: list[str] = []
    position = 0
    for match in _ANY_MENTION_RE.finditer(body):
        parts.append(escape(body[position : match.start()]))
        position = match.end()
        name, pk, email = match.group(1), match.group(2), match.group(3)
        member = by_id.get(int(pk)) if pk else by_email.get((email or "").lower())
        if member is None:
            parts.append(escape(f"@{name}" if pk else match.group(0)))
            continue
        mine = viewer is not None and member.pk == viewer.pk
        parts.append(
            format_html(
                '<a class="mention{}" href="mailto:{}" data-member="{}">@{}{}</a>',
                " mention--me" if mine else "",
                member.user.email,
                member.pk,
                member.user.name,
                format_html('<span class="visually-hidden"> ({})</span>', _("you")) if mine else "",
            )
        )
    parts.append(escape(body[position:]))
    return mark_safe("".join(parts).replace("\r\n", "\n").replace("\n", "<br>"))  # noqa: S308 - parts are escaped


def comment_text(body: str) -> str:
    """The comment as plain text (emails): `@[Name](member:ID)` reads as `@Name`."""
    return MEMBER_MENTION_RE.sub(lambda match: f"@{match.group(1)}", body)
