"""The cards of a board column as HTML, built in Python (`{% board_cards %}` in engine/_board_cards.html).

A board shows up to 20 cards in each of its columns, each with a move menu listing every column, a CSRF
field and three or four addresses: in the template language that was about 15 ms of CPU per card (3 s for
a 10-column deals board under load). Here the parts every card shares are made once per column (the move
menu with that column selected, the translated labels, the addresses with a placeholder for the record's
id) and each card costs a few string joins. The output is the template's, byte for byte
(`tests/test_board_html.py` renders both); every value shown goes through `conditional_escape` (Django's text,
without its lazy wrapper), or through the template engine's own `render_value_in_context` where the template
localised it; amounts through `access.formats.grouped` (floatformat's text, the separators read once).
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Callable
from typing import Any

from django.template.base import render_value_in_context
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils.formats import localize
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext

from crm_apps.access.formats import grouped
from crm_apps.engine.list_rows import page_key, signature
from saas.cache_versions import LocalValues

# The id the addresses are reversed with once per column, then replaced by each card's.
_PLACEHOLDER = str(uuid.UUID(int=0))

# Cards kept in the worker process (as list rows are, `list_rows`): keyed by the record's values and the
# column's shared parts, with a mark where the request's CSRF field goes. ~1.5 KiB each (a deals card).
CARDS_KEPT = 2_000
CARDS_SECONDS = 600.0
_cards_kept = LocalValues(max_entries=CARDS_KEPT, max_seconds=CARDS_SECONDS)
# Never in a value shown: PostgreSQL's text and jsonb cannot hold NUL, and the board's query string is
# urlencoded (NUL as %00). Were either to change, a value could carry the mark and get the token pasted in.
_CSRF_MARK = "\x00csrf\x00"


def conditional_escape(value: Any) -> str:
    """django.utils.html.conditional_escape's text (a safe value as it is, anything else through html.escape),
    without its lazy-argument wrapper: a board escapes a few thousand values."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html.escape(str(value))


def _initial(name: Any) -> str:
    """`name|make_list|first|upper`, escaped: the avatar's letter."""
    text = str(name)
    return conditional_escape(text[0].upper() if text else "")


def _unlocalized(value: Any) -> str:
    """`value|unlocalize`, escaped."""
    return conditional_escape(str(localize(value, use_l10n=False)))


def cards_html(context: Any) -> SafeString:
    """The column `col`'s cards and its "Load more" button, from the template context of the board (or of
    the "Load more" response): `spec`, `col` (`card_info`, `value`, `more`), `columns`, `can_move`,
    `quick_edit`, `board_query`, `amount_field`, `date_field` and the request's `csrf_token`.

    A card is taken from the worker's store when one with the same values was drawn in an equal column
    before (`_column_key`, `list_rows.signature` of its record and its card values), else built and kept."""
    spec = context["spec"]
    col = context["col"]
    esc = conditional_escape
    board_query = context.get("board_query") or ""
    csrf = _csrf_field(context) if context.get("can_move") else ""
    out: list[str] = []
    cards = col.get("card_info") or []
    if cards:
        column = _column_key(context, spec, col, csrf)
        build: Callable[[dict[str, Any]], str] | None = None
        known: dict[int, Any] = {}  # the owners shared by the cards, described once (`list_rows.signature`)
        for card in cards:
            key = None
            if column is not None:
                values = signature(card["record"], known)
                if values is not None:
                    key = (
                        column,
                        values,
                        card["url"],
                        card["days"],
                        card["rotting"],
                        card["amount"],
                        card["currency"],
                        card["date"],
                    )
            found = _cards_kept.get(key) if key is not None else None
            if found is None:
                if build is None:
                    build = _card_builder(context, spec, col, bool(csrf))
                found = build(card)
                if key is not None:
                    _cards_kept.put(key, found, CARDS_SECONDS)
            out.append(found)
    out.append("\n")
    if col.get("more"):
        from urllib.parse import quote

        address = reverse("engine:board_cards", args=[spec.key])
        query = f"{esc(board_query)}&amp;" if board_query else ""
        value = esc(quote(str(localize(col["value"], use_l10n=False)), safe="/"))
        after = esc(quote(str(col["more"]), safe="/"))
        out.append(
            f'<li class="board__more"><button type="button" class="button button--small" '
            f'hx-get="{esc(address)}?{query}value={value}&amp;after={after}" hx-target="closest li" '
            f'hx-swap="outerHTML" data-board-more>{gettext("Load more")}</button></li>'
        )
    text = "".join(out)
    if csrf:  # the request's own token, in place of the mark the kept cards carry
        text = text.replace(_CSRF_MARK, csrf)
    return mark_safe(text)  # noqa: S308 - every value above went through conditional_escape


def _csrf_field(context: Any) -> str:
    """The request's CSRF field (nothing without a token), for a card's move form and a head's settings form."""
    token = context.get("csrf_token")
    if token == "NOTPROVIDED" or not token:
        return ""
    return str(format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token))


def _column_key(context: Any, spec: Any, col: dict[str, Any], csrf: str) -> tuple[Any, ...] | None:
    """Everything a card of this column is drawn with besides its own values: the page (tenant, language,
    formats, time zone, metadata version, URL prefix: `list_rows.page_key`), how the context shows a number,
    and what `_card_builder` reads from the context; None without a metadata version (no Redis) or when a
    value is not hashable: cards are then built every time."""
    page = page_key(spec, ())
    if page is None:
        return None
    can_move = bool(context.get("can_move"))
    key = (
        page,
        "board-card",
        context.use_l10n,
        context.use_tz,
        context.autoescape,
        context.get("board_field"),
        can_move,
        frozenset(context.get("quick_edit") or ()),
        context.get("board_query") or "",
        bool(context.get("amount_field")),
        context.get("date_field"),
        bool(csrf),
        # The move menu: every column, this one selected.
        (col.get("value"), _menu(context.get("columns") or ())) if can_move else None,
    )
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _menu(columns: Any) -> tuple[Any, ...]:
    """The move menu's columns as a key: value, label and the label's type (a safe label is shown as it is,
    text is escaped, and the two compare equal)."""
    return tuple((c["value"], c["label"], type(c["label"])) for c in columns)


def _card_builder(context: Any, spec: Any, col: dict[str, Any], with_csrf: bool) -> Callable[[dict[str, Any]], str]:
    """A function drawing one card of the column; the parts every card shares (labels, the in-place editors'
    and the move form's addresses, the move menu) are made here, once per column. The move form carries
    `_CSRF_MARK` where the request's CSRF field goes (`cards_html` puts it in)."""
    esc = conditional_escape
    can_move = bool(context.get("can_move"))
    quick_edit = context.get("quick_edit") or ()
    board_query = context.get("board_query") or ""
    amount_field = context.get("amount_field")
    date_field = context.get("date_field")
    draggable = ' draggable="true"' if can_move else ""
    rotting_label = gettext("Rotting")
    amount_head = amount_edit = date_head = date_edit = ""
    if amount_field:
        amount_head = (
            f'<p class="board__field"><span class="muted">{gettext("Amount")}</span> <span data-card-field="amount"'
        )
        if "amount" in quick_edit:
            amount_url = esc(reverse("engine:cell", args=[spec.key, _PLACEHOLDER, "amount"]))
            amount_edit = f' data-edit="{amount_url}" tabindex="0" role="button" title="{gettext("Edit the amount")}"'
    if date_field:
        date_head = (
            f'<p class="board__field"><span class="muted">{gettext("Date")}</span> '
            f'<span data-card-field="{esc(date_field)}"'
        )
        if date_field in quick_edit:
            date_url = esc(reverse("engine:cell", args=[spec.key, _PLACEHOLDER, date_field]))
            date_edit = f' data-edit="{date_url}" tabindex="0" role="button" title="{gettext("Edit the date")}"'
    query = move_path = options = move_to = move = ""
    if can_move:
        query = f"?{esc(board_query)}" if board_query else ""
        move_path = esc(reverse("engine:board_move", args=[spec.key, _PLACEHOLDER]))
        options = "".join(
            f'<option value="{_unlocalized(c["value"])}"{" selected" if c["value"] == col["value"] else ""}>'
            f"{esc(c['label'])}</option>"
            for c in context.get("columns") or []
        )
        move_to, move = gettext("Move to"), gettext("Move")
    csrf_slot = _CSRF_MARK if with_csrf else ""
    days_shown: dict[Any, str] = {}

    def build(card: dict[str, Any]) -> str:
        record = card["record"]
        pk = str(record.pk)
        rotting = card["rotting"]
        owner = ""
        if record.owner_id or record.owner_group_id:
            # A member whose user row is gone (`Member.user` has no database constraint) shows no name,
            # as the template did.
            user = None if record.owner_group_id else getattr(record.owner, "user", None)
            name = record.owner_group.name if record.owner_group_id else (user.name if user else "")
            owner = (
                f'<span class="avatar" aria-hidden="true">{_initial(name)}</span>'
                f'<span class="board__owner">{esc(name)}</span>'
            )
        days = card["days"]
        if days not in days_shown:
            days_shown[days] = ngettext("%(days)s day here", "%(days)s days here", days) % {
                "days": render_value_in_context(days, context)
            }
        parts = [
            f'\n    <li class="board__card{" board__card--rotting" if rotting else ""}"{draggable}'
            f' data-card="{esc(pk)}" tabindex="0">\n'
            f'      <a href="{esc(card["url"])}" class="board__card-title">{esc(str(record))}</a>\n'
            f'      <p class="board__meta">\n'
            f"        {owner}\n"
            f'        <span class="board__days{" board__days--rotting" if rotting else ""}">'
            f"{rotting_label + ' · ' if rotting else ''}{days_shown[days]}</span>\n"
            f"      </p>\n      "
        ]
        if amount_field:
            amount = card["amount"]
            shown = grouped(amount, 2) if amount is not None else "—"
            parts.append(
                f"{amount_head}{amount_edit.replace(_PLACEHOLDER, pk)}>{shown}</span> {esc(card['currency'])}</p>"
            )
        parts.append("\n      ")
        if date_field:
            # A card's date is a DateField's (`board.card_date_field`): no time zone to convert.
            when = date_filter(card["date"], "SHORT_DATE_FORMAT") or "—"
            parts.append(f"{date_head}{date_edit.replace(_PLACEHOLDER, pk)}>{esc(when)}</span></p>")
        parts.append("\n      ")
        if can_move:
            action = move_path.replace(_PLACEHOLDER, pk) + query
            parts.append(
                f'\n      <form method="post" action="{action}" class="board__move">'
                f"{csrf_slot}\n"
                f'        <label for="move-{esc(pk)}" class="visually-hidden">{move_to}</label>\n'
                f'        <select id="move-{esc(pk)}" name="value" data-autosubmit>{options}</select>\n'
                f'        <noscript><button type="submit" class="button button--small">{move}</button></noscript>\n'
                f"      </form>\n      "
            )
        parts.append("\n    </li>\n    ")
        return "".join(parts)

    return build


def _missing(value: Any) -> str:
    """`value|join:', '`, escaped item by item."""
    return ", ".join(conditional_escape(v) for v in value)


def columns_html(context: Any) -> SafeString:
    """engine/_board_columns.html's columns (`{% board_columns %}`), byte for byte what the template it replaced
    rendered (`tests/test_board_html.py` renders both): per column its head (count, totals per currency and in
    the base currency, the weighted sum, the rotting threshold, the administrator's settings form), its cards
    (`cards_html`, or the empty state) and the link to all its records. The template language spent about as
    much on a deals board's ten heads (some 30 amounts and a form each) as on its 200 cards (issue 25)."""
    from django.template.loader import get_template

    spec = context["spec"]
    esc = conditional_escape

    def show(value: Any) -> str:  # `{{ value }}`
        return str(render_value_in_context(value, context))

    def var(name: str) -> str:  # `{{ name }}`, nothing when the context lacks it
        return show(context[name]) if name in context else ""

    def amounts(pairs: Any, places: int) -> str:  # "<amount> <code>, ..." per currency
        return ", ".join(f"{grouped(amount, places)} {show(code)}" for code, amount in pairs)

    is_admin = bool(context.get("is_admin"))
    csrf = _csrf_field(context) if is_admin else ""
    if is_admin:
        settings_url = esc(reverse("engine:board_column", args=[spec.key]))
        request = context.get("request")
        next_path = show(request.get_full_path()) if request is not None else ""
        settings_labels = (
            show(gettext("Column settings")),
            show(gettext("Rotting after (days)")),
            show(gettext("Save")),
        )
    list_url = esc(reverse("engine:list", args=[spec.key]))
    list_filterable = bool(context.get("list_filterable"))
    board_field = var("board_field")
    page = page_key(spec, ())
    shared = (
        None
        if page is None
        else (
            page,
            "board-head",
            context.use_l10n,
            context.use_tz,
            context.autoescape,
            var("base_currency"),
            is_admin,
            (bool(csrf), settings_url, next_path, board_field) if is_admin else None,
        )
    )

    csrf_slot = _CSRF_MARK if csrf else ""  # where the request's CSRF field goes (after the heads are kept)

    def head(number: int, col: Any) -> str:
        """The column's head: its title, count, totals, rotting threshold and the administrator's form."""
        value = _unlocalized(col.get("value"))
        collapse = gettext("Collapse %(label)s") % {"label": show(col.get("label"))}
        parts = [
            f'\n<section class="board__column" data-column="{value}" aria-labelledby="column-{number}">\n'
            f'  <header class="board__head">\n    <div class="board__title">\n'
            f'      <button type="button" class="board__collapse" data-column-collapse aria-expanded="true" '
            f'aria-controls="cards-{number}" aria-label="{collapse}">▾</button>\n'
            f'      <h2 id="column-{number}">{show(col.get("label"))}</h2>\n    </div>\n'
            f'    <p class="board__totals"><span data-count>{show(col.get("count"))}</span>'
        ]
        if col.get("has_totals"):
            converted, by_currency = col.get("converted"), col.get("by_currency") or []
            missing = getattr(converted, "missing", ())
            title = amounts(by_currency, 2)
            if missing:
                title += f" — {show(gettext('no rate for'))} {_missing(missing)}"
            if getattr(converted, "total", None) is not None:
                shown = f"{grouped(converted.total, 0)} {var('base_currency')}{' +' if missing else ''}"
            else:
                shown = amounts(by_currency, 0)
            parts.append(
                f' ·\n      <span class="board__total" data-total tabindex="0" title="{title}">{shown}</span>\n      '
            )
            if col.get("weighted"):
                weighted = col.get("weighted_converted")
                if getattr(weighted, "total", None) is not None:
                    plus = " +" if getattr(weighted, "missing", ()) else ""
                    sum_shown = f"{grouped(weighted.total, 0)} {var('base_currency')}{plus}"
                else:
                    sum_shown = amounts(col.get("weighted_by_currency") or [], 0)
                parts.append(f' · <span title="{show(gettext("Weighted by probability"))}">≈ {sum_shown}</span>')
        parts.append("\n      ")
        rotting = col.get("rotting_days")
        if rotting is not None:
            rots = ngettext("rots after %(days)s day", "rots after %(days)s days", rotting) % {"days": show(rotting)}
            parts.append(f'<span class="muted board__threshold">· {rots}</span>')
        parts.append("\n    </p>\n    ")
        if is_admin:
            column_settings, rotting_after, save = settings_labels
            rotting_value = _unlocalized(rotting if rotting is not None else "")
            parts.append(
                f'\n    <details class="board__settings">\n      <summary>{column_settings}</summary>\n'
                f'      <form method="post" action="{settings_url}" class="form form--inline">{csrf_slot}\n'
                f'        <input type="hidden" name="field" value="{board_field}"><input type="hidden" name="value" '
                f'value="{value}">\n'
                f'        <input type="hidden" name="next" value="{next_path}">\n'
                f'        <label for="rot-{number}">{rotting_after}</label>\n'
                f'        <input id="rot-{number}" type="number" name="rotting_days" min="1" max="3650" '
                f'value="{rotting_value}">\n'
                f'        <button type="submit" class="button button--small">{save}</button>\n'
                f"      </form>\n    </details>\n    "
            )
        parts.append(f'\n  </header>\n  <ul class="board__cards" id="cards-{number}">\n    ')
        return "".join(parts)

    out: list[str] = []
    for number, col in enumerate(context.get("columns") or [], start=1):
        value = _unlocalized(col.get("value"))
        key = None if shared is None else _head_key(shared, number, col)
        found = _cards_kept.get(key) if key is not None else None
        if found is None:
            found = head(number, col)
            if key is not None:
                _cards_kept.put(key, found, CARDS_SECONDS)
        parts = [found]
        with context.push(col=col):
            parts.append(cards_html(context))
            if not col.get("card_info"):
                with context.push(message=gettext("No records here."), tag="li"):
                    parts.append(get_template("components/empty_state.html").template.render(context))  # type: ignore[attr-defined]
        parts.append("\n  </ul>\n  ")
        if list_filterable and col.get("count", 0) > len(col.get("cards") or []):
            records = gettext("All %(n)s records") % {"n": show(col.get("count"))}
            parts.append(f'<p class="muted"><a href="{list_url}?{board_field}={value}&amp;view=all">{records}</a></p>')
        parts.append("\n</section>\n")
        out.append("".join(parts))
    out.append("\n")
    text = "".join(out)
    if csrf:  # the request's own token, in place of the mark the kept heads carry
        text = text.replace(_CSRF_MARK, csrf)
    return mark_safe(text)  # noqa: S308 - every value above went through conditional_escape or show


def _head_key(shared: tuple[Any, ...], number: int, col: dict[str, Any]) -> tuple[Any, ...] | None:
    """Every value a column's head is drawn from (besides `shared`, the page's); None when one is not a plain
    value (the head is then built every time)."""
    converted, weighted = col.get("converted"), col.get("weighted_converted")
    key = (
        shared,
        number,
        col.get("value"),
        col.get("label"),
        type(col.get("label")),  # a safe label is shown as it is, text escaped; the two compare equal
        col.get("count"),
        col.get("has_totals"),
        tuple(col.get("by_currency") or ()),
        getattr(converted, "total", None),
        tuple(getattr(converted, "missing", ())),
        col.get("weighted"),
        getattr(weighted, "total", None),
        tuple(getattr(weighted, "missing", ())),
        tuple(col.get("weighted_by_currency") or ()),
        col.get("rotting_days"),
    )
    try:
        hash(key)
    except TypeError:
        return None
    return key


def cards_forget() -> None:
    """Drop every kept card of this process (tests)."""
    _cards_kept.clear()
