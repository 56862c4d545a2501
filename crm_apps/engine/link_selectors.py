"""Reads of what is attached to a record (comments, timeline) and of the recycle bin, page by page, for
the API. Links come through `links_visible`, records through the visibility filter, timeline changes
without the fields the member's profiles hide."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model, Prefetch, QuerySet
from django.utils.translation import gettext as _

from crm_apps.access.models import Member
from crm_apps.engine import links, selectors
from crm_apps.engine.fieldaccess import field_rules
from crm_apps.engine.models import Comment, CrmRecord, TimelineEntry
from crm_apps.engine.spec import ModuleSpec


@dataclass
class LinkPage:
    items: list[Any]
    next_cursor: str | None


def page_limit(raw: Any) -> int:
    """`?limit=` as a page size (default 25, at most 100); anything else is a field error."""
    if raw in (None, ""):
        return selectors.PAGE_SIZE
    text = str(raw)
    if not text.isdigit() or not 1 <= int(text) <= selectors.MAX_PAGE_SIZE:
        raise ValidationError(
            {"limit": [_("Enter a whole number from 1 to %(max)d.") % {"max": selectors.MAX_PAGE_SIZE}]}
        )
    return int(text)


def _newest_first(qs: QuerySet[Any], *, at: str, cursor: str | None, limit: int) -> LinkPage:
    """Rows by `at` then primary key, newest first, `limit` at a time after `cursor`."""
    order = [f"-{at}", "-pk"]
    model: type[Model] = qs.model
    if cursor:
        direction, values = selectors._decode(cursor)
        if direction != "n" or len(values) != 2 or any(v is None or isinstance(v, list | dict) for v in values):
            raise ValidationError({"cursor": [_("Invalid cursor.")]})
        try:
            typed = [model._meta.get_field(at).to_python(values[0]), model._meta.pk.to_python(values[1])]  # type: ignore[union-attr]
        except (ValidationError, TypeError, ValueError) as exc:
            raise ValidationError({"cursor": [_("Invalid cursor.")]}) from exc
        qs = qs.filter(selectors._keyset_q(order, typed, "n"))
    rows = list(qs.order_by(*order)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = selectors._encode(["n", getattr(rows[-1], at), rows[-1].pk]) if more else None
    return LinkPage(items=rows, next_cursor=next_cursor)


def record_comments(
    *, spec: ModuleSpec, actor: Member, record: CrmRecord, cursor: str | None = None, limit: int = 25
) -> LinkPage:
    """A record's comments, newest first, with their authors and mentioned members."""
    qs = links.links_visible(actor=actor, model=Comment, modules=[spec.key]).filter(
        module=spec.key, record_id=record.pk
    )
    qs = qs.select_related("author__user").prefetch_related(
        Prefetch("mentions", queryset=Member.objects.select_related("user").order_by("pk"))
    )
    return _newest_first(qs, at="created_at", cursor=cursor, limit=limit)


@dataclass
class TimelineItem:
    entry: TimelineEntry
    # field -> [old, new], without the fields hidden from the member
    changes: dict[str, list[Any]]
    # "related" entries: whether the member may see the record that was added
    related_visible: bool


def timeline_related_visible(*, actor: Member, entries: list[TimelineEntry]) -> set[tuple[str, str]]:
    """(module, id) of the records named by "related record added" entries that `actor` may see."""
    refs = [(e.data.get("module"), e.data.get("id")) for e in entries if e.kind == TimelineEntry.Kind.RELATED]
    if not refs:
        return set()
    return {(s.key, str(r.pk)) for s, r in selectors.records_by_refs(actor=actor, refs=refs)}


def record_timeline(
    *, spec: ModuleSpec, actor: Member, record: CrmRecord, cursor: str | None = None, limit: int = 25
) -> LinkPage:
    """A record's timeline as its detail page shows it: newest first, changes of hidden fields left out,
    records added elsewhere named only when the member may see them."""
    qs = links.links_visible(actor=actor, model=TimelineEntry, modules=[spec.key]).filter(
        module=spec.key, record_id=record.pk
    )
    page = _newest_first(qs.select_related("actor__user"), at="created_at", cursor=cursor, limit=limit)
    hidden = field_rules(actor=actor, spec=spec).hidden
    visible = timeline_related_visible(actor=actor, entries=page.items)
    page.items = [
        TimelineItem(
            entry=entry,
            changes={k: v for k, v in (entry.data.get("changes") or {}).items() if k not in hidden},
            related_visible=(str(entry.data.get("module")), str(entry.data.get("id"))) in visible,
        )
        for entry in page.items
    ]
    return page


def recycle_bin_page(*, spec: ModuleSpec, actor: Member, cursor: str | None = None, limit: int = 25) -> LinkPage:
    """Records of `spec` in the recycle bin that `actor` may see, most recently deleted first."""
    return _newest_first(selectors._base(spec, actor, deleted=True), at="deleted_at", cursor=cursor, limit=limit)
