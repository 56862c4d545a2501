"""Generic HTML screens of every module (list, detail, create/edit, recycle bin, merge, export) and the
global search. Views parse, call one selector or service, and render; the rules live in services."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Collection
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing.entitlements import PlanLimitReached
from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.audit.services import EXPORT, audit_log
from crm_apps.engine import (
    child_forms,
    exports,
    extensions,
    link_selectors,
    list_layout,
    list_rows,
    metadata,
    registry,
    selectors,
    services,
)
from crm_apps.engine import children as child_tables
from crm_apps.engine.board import board_context, board_field, board_fields, column_cards
from crm_apps.engine.display import Displayer, custom_shown, field_label, plain, record_url, record_urls
from crm_apps.engine.exports import safe_cell
from crm_apps.engine.fieldaccess import field_rules
from crm_apps.engine.forms import field_errors_to_form, form_to_service, record_form
from crm_apps.engine.models import SavedView
from crm_apps.engine.spec import ModuleSpec
from frontend.forms import form_add_service_errors
from frontend.pages import render_page
from saas import cache_versions
from tenants.runtime import current_schema

LIST_PARAMS = selectors.LIST_PARAMS
EXPORT_LIMIT = 100_000


def _spec(module: str, request: HttpRequest) -> ModuleSpec:
    """The module, if the member's profiles let them use it (404 unknown, 403 not allowed)."""
    try:
        spec = registry.get(module)
    except registry.UnknownModule as exc:
        raise Http404 from exc
    if not visibility.can_view_module(actor=request_member(request), spec=spec):
        raise PermissionDenied
    return spec


def _record_or_404(spec: ModuleSpec, request: HttpRequest, record_id: Any) -> Any:
    record = selectors.access_record(spec=spec, actor=request_member(request), record_id=record_id)
    if record is None:
        raise Http404
    return record


def _filters(spec: ModuleSpec, request: HttpRequest) -> dict[str, str]:
    return {k: str(v) for k, v in request.GET.items() if k not in LIST_PARAMS and v != ""}


def _create_action(spec: ModuleSpec, member: Member) -> list[dict[str, Any]]:
    """The "New <module>" button of the list and board action bars, for members who may create."""
    if not visibility.can_create(actor=member, spec=spec):
        return []
    label = _("New %(label)s") % {"label": spec.label}
    return [{"label": label, "url": reverse("engine:create", args=[spec.key]), "method": "get", "primary": True}]


@login_required
def record_list(request: HttpRequest, module: str) -> HttpResponse:
    """A module's list: search, filters (custom fields too), sort, keyset pages, count, saved views, and the
    member's layout (columns, widths, density, page size) kept with the view."""
    spec = _spec(module, request)
    member = request_member(request)
    views = selectors.saved_views_for_list(spec=spec, actor=member)
    saved = views.get(request.GET["saved"]) if request.GET.get("saved") else None
    filters = _filters(spec, request)
    search = request.GET.get("q", "")
    ordering = request.GET.get("ordering") or None
    if saved is not None:
        filters = {**saved.filters, **filters}
        search = search or saved.search
        ordering = ordering or saved.ordering or None
    rules = field_rules(actor=member, spec=spec)
    layout_source = saved or views.default
    available = list_layout.available_columns(spec, rules)
    layout = list_layout.layout_visible(
        spec,
        list_layout.layout_from_stored(
            spec, layout_source.layout if layout_source else None, extra_custom=saved.columns if saved else None
        ),
        rules,
        available,
    )
    limit_param = request.GET.get("limit", "")
    limit = (
        int(limit_param) if limit_param.isdigit() and int(limit_param) in list_layout.PAGE_SIZES else layout.page_size
    )
    default_view = request.GET.get("view") != "all"
    error = None
    try:
        # The count first: its estimate tells record_list whether a search should be read search-first.
        count, exact = selectors.record_count(
            spec=spec,
            actor=member,
            filters=filters,
            search=search,
            default_view=default_view,
            exact=request.GET.get("count") == "exact",
        )
        page = selectors.record_list(
            spec=spec,
            actor=member,
            filters=filters,
            search=search,
            ordering=ordering,
            cursor=request.GET.get("cursor"),
            default_view=default_view,
            limit=limit,
            columns=layout.columns,
            search_first=count <= selectors.SEARCH_FIRST_MAX_ROWS,
        )
        if not exact and not request.GET.get("cursor") and page.next_cursor is None:
            # The whole result fits on the first page: its length is the count (the planner's guess for a
            # narrow member can be far off).
            count, exact = len(page.records), True
    except ValidationError as exc:
        error = error_text(exc)
        page, count, exact = selectors.Page([], None, None), 0, True
    displayer = Displayer(spec)
    all_custom = rules.custom(metadata.custom_fields(spec.key))
    custom_by_name = {f"custom.{f.key}": f for f in all_custom}
    labels = dict(available)
    can_create = visibility.can_create(actor=member, spec=spec)
    _blocks, layout_hidden = metadata.layout_blocks(spec)  # optional fields the tenant's form leaves out
    editable = {
        name
        for name in layout.columns
        if name not in layout_hidden
        and list_layout.inline_editable(spec, name, readonly=rules.readonly, hidden=rules.hidden)
    }
    url_of_record = record_urls(spec)

    def cells_of(record: Any) -> list[tuple[str, Any]]:
        cells = []
        for name in layout.columns:
            cf = custom_by_name.get(name)
            cells.append((name, custom_shown(cf, record) if cf is not None else displayer.value(record, name)))
        return cells

    rows = [
        list_rows.ListRow(
            r,
            url_of_record(r),
            editable if visibility.can_edit(actor=member, spec=spec, record=r) else frozenset(),
            spec.row_flags(r) if spec.row_flags else [],
            cells_of,
        )
        for r in page.records
    ]
    keep = {k: v for k, v in request.GET.items() if k != "cursor"}
    sortable = selectors.sortable_columns(spec) - rules.hidden
    filter_form = [f for f in _filter_fields(spec, filters, displayer) if rules.shows(f["name"])]
    context = {
        "spec": spec,
        "rows": rows,
        "rows_html": list_rows.RowsHtml(spec, layout.columns).html(rows),
        "selection_actions": extensions.selection_actions(spec=spec, member=member),
        "layout": layout,
        "layout_json": layout.as_json(),
        "widths_json": json.dumps(layout.widths),
        "column_choices": _column_choices(layout, labels),
        "page_sizes": list_layout.PAGE_SIZES,
        "count": count,
        "count_exact": exact,
        # "Count exactly" (shown with an estimate): the capped count; past the cap, "more than 10,000".
        "count_exact_url": f"?{urlencode({**keep, 'count': 'exact'})}",
        "count_past_cap": selectors.EXACT_COUNT_LIMIT if not exact and keep.get("count") == "exact" else None,
        "next_url": f"?{urlencode({**keep, 'cursor': page.next_cursor})}" if page.next_cursor else None,
        "previous_url": f"?{urlencode({**keep, 'cursor': page.previous_cursor})}" if page.previous_cursor else None,
        "search": search,
        "ordering": ordering or "",
        "filters": filters,
        "filter_form": filter_form,
        "filter_chips": _filter_chips(filters, search, filter_form, labels, keep),
        "error": error,
        "saved": saved,
        "saved_views": views.named,
        "query": urlencode(keep),
        "owners": services_owner_choices(),
        "mass_fields": [(n, label) for n, label in _mass_fields(spec) if rules.editable(n)],
        "can_export": visibility.has_privilege(actor=member, privilege=Privilege.CAN_EXPORT),
        "can_create": can_create,
        "create_url": reverse("engine:create", args=[spec.key]) if can_create else None,
        "all_custom_fields": all_custom,
        "custom_columns": [custom_by_name[c] for c in layout.columns if c in custom_by_name],
        "header_actions": _list_header_actions(spec, member, urlencode(keep)),
        "board_fields": list_board_fields(spec, rules),
        "table_columns": _table_columns(
            [(name, labels.get(name, name)) for name in layout.columns],
            sortable=sortable,
            ordering=ordering or "",
            query=urlencode(keep),
            widths=layout.widths,
        ),
    }
    return render_page(request, spec.template_for("list"), context)


def _column_choices(layout: list_layout.ListLayout, labels: dict[str, str]) -> list[dict[str, Any]]:
    """The column picker's rows: the shown columns in their order, then the others; with the move buttons'
    labels (translated here: a `blocktranslate` per button cost more than the rest of the picker)."""
    shown = [{"name": n, "label": labels[n], "checked": True} for n in layout.columns if n in labels]
    rest = [{"name": n, "label": label, "checked": False} for n, label in labels.items() if n not in layout.columns]
    up, down = _("Move %(label)s up"), _("Move %(label)s down")
    for row in (rows := shown + rest):
        row["up_label"] = up % {"label": row["label"]}
        row["down_label"] = down % {"label": row["label"]}
    return rows


def _filter_chips(
    filters: dict[str, str],
    search: str,
    filter_form: list[dict[str, Any]],
    labels: dict[str, str],
    keep: dict[str, Any],
) -> list[dict[str, str]]:
    """One chip per active filter (and the search), each with the address of the list without it."""
    shown = {f["name"]: dict(f.get("choices") or []) for f in filter_form}
    chips = []
    if search:
        rest = {k: v for k, v in keep.items() if k != "q"}
        chips.append({"label": _("Search"), "value": search, "url": f"?{urlencode(rest)}"})
    for key, value in filters.items():
        name = key.partition("__")[0]
        label = labels.get(name) or name
        rest = {k: v for k, v in keep.items() if k != key}
        chips.append(
            {"label": str(label), "value": str(shown.get(name, {}).get(value, value)), "url": f"?{urlencode(rest)}"}
        )
    return chips


def list_board_fields(spec: ModuleSpec, rules: Any) -> list[tuple[str, str]]:
    """Fields a board can group by (the kanban field, every picklist field) that the member sees."""
    out = []
    for name in board_fields(spec):
        if not rules.shows(name):
            continue
        model_field: Any = spec.model._meta.get_field(name)
        out.append((name, str(model_field.verbose_name).capitalize()))
    return out


def _list_header_actions(spec: ModuleSpec, member: Member, query: str = "") -> list[dict[str, Any]]:
    """The list's action bar: the board and the module's list actions, then "New <record>"."""
    actions = [
        {"label": a.label, "url": a.url, "method": a.method, "primary": a.primary}
        for a in extensions.list_actions(spec=spec, member=member, query=query)
    ]
    actions += _create_action(spec, member)
    return actions


def _table_columns(
    columns: list[tuple[str, Any]],
    *,
    sortable: Collection[str],
    ordering: str,
    query: str,
    widths: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Header cells of the record table: select, number, then the columns (sort links where sortable,
    the member's widths, the name the column picker and resizing use)."""

    def sort_cell(name: str, label: Any) -> dict[str, Any]:
        target = f"-{name}" if ordering == name else name
        sort = "ascending" if ordering == name else "descending" if ordering == f"-{name}" else None
        return {"name": name, "label": label, "url": f"?{query}&ordering={target}", "sort": sort}

    cells: list[dict[str, Any]] = [{"label": _("Select"), "hidden_label": True}, sort_cell("number", _("Number"))]
    for name, label in columns:
        cell = sort_cell(name, label) if name in sortable else {"name": name, "label": label}
        cell["column"] = True
        cell["width"] = (widths or {}).get(name)
        cells.append(cell)
    return cells


def _mass_fields(spec: ModuleSpec) -> list[tuple[str, str]]:
    """Plain fields that can be set on many records at once (references and required fields excluded)."""
    language = get_language() or ""
    return [(name, field_label(spec.model, name, language)) for name in spec.mass_edit_fields]


def error_text(exc: ValidationError) -> str:
    """One line for a ValidationError with or without per-field messages."""
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


# Seconds the mass update's owner list is reused (keyed by the access version, which every member
# added, deactivated or reactivated bumps; a renamed person shows under the new name within this).
OWNER_CHOICES_TTL = 60


def services_owner_choices() -> list[tuple[str, str]]:
    """The active members, for the list's mass update of the owner (a statement on every list view before)."""
    from crm_apps.engine.forms import owner_choices

    return cache_versions.remembered(
        "owner-choices", lambda: owner_choices(groups=False), ttl=OWNER_CHOICES_TTL, kind=list
    )


def _filter_fields(spec: ModuleSpec, current: dict[str, str], displayer: Displayer) -> list[dict[str, Any]]:
    """Inputs for the filter bar: picklists as selects, the rest as text."""
    from django.db import models

    out = []
    for name in spec.filter_fields:
        field: Any = spec.model._meta.get_field(name)
        item: dict[str, Any] = {
            "name": name,
            "label": str(field.verbose_name).capitalize(),
            "value": current.get(name, ""),
        }
        if name in spec.picklists:
            item["choices"] = [(v.value, v.label) for v in displayer.values[name] if not v.retired]
        elif isinstance(field, models.BooleanField):
            item["choices"] = [("true", _("Yes")), ("false", _("No"))]
        elif isinstance(field, models.ForeignKey):
            continue  # references are filtered from the related record's page
        out.append(item)
    return out


@login_required
def record_detail(request: HttpRequest, module: str, record_id: uuid.UUID) -> HttpResponse:
    """A record: a header with its key fields, then sections (summary, details, related lists with counts
    and quick-create, activity); fields the member may change are edited in place. Layout slots for the
    modules' panels: `top` (above the fields), `main` (after the related lists), `side` (side column)."""
    spec = _spec(module, request)
    member = request_member(request)
    # The related lists of the modules the member may view. Whether each of them (and each panel's list, and
    # the comments) has any rows at all, and whether the member follows the record, are read with the record:
    # a list without rows is not read; one with rows is read through the visibility filter as always.
    relations = [(i, r, registry.get(r.module)) for i, r in enumerate(spec.related)]
    relations = [(i, r, other) for i, r, other in relations if visibility.can_view_module(actor=member, spec=other)]
    common = _page_flags(spec)
    flags = {
        "page_following": selectors.following_flag(spec=spec, actor=member),
        **{name: flag for name, flag in common.items() if not name.startswith("page_related_")},
        **{f"page_related_{i}": common[f"page_related_{i}"] for i, _r, _other in relations},
    }
    record = selectors.access_record(spec=spec, actor=member, record_id=record_id, flags=flags)
    if record is None:
        raise Http404
    selectors.recent_view_touch(spec=spec, actor=member, record=record)
    displayer = Displayer(spec)
    rules = field_rules(actor=member, spec=spec)
    can_edit = visibility.can_edit(actor=member, spec=spec, record=record)
    can_delete = visibility.can_delete(actor=member, spec=spec, record=record)

    # The in-place editor's address, reversed once: only the field's name changes.
    cell_url = reverse("engine:cell", args=[spec.key, record.pk, "__name__"])

    def field(name: str, shown: Any) -> dict[str, Any]:
        editable = can_edit and list_layout.inline_editable(spec, name, readonly=rules.readonly, hidden=rules.hidden)
        return {"name": name, "shown": shown, "edit_url": cell_url.replace("__name__", name) if editable else None}

    blocks, hidden = metadata.layout_blocks(spec, custom=True)
    custom_by_name = {f"custom.{f.key}": f for f in rules.custom(metadata.custom_fields(spec.key))}

    def shown(name: str) -> Any:
        if name in custom_by_name:
            return custom_shown(custom_by_name[name], record)
        return displayer.value(record, name)

    shown_blocks: list[dict[str, Any]] = []
    placed: set[str] = set()
    for block in blocks:
        placed.update(block.fields)
        values = [
            field(name, shown(name))
            for name in block.fields
            if name not in hidden
            and name not in spec.shown_by_panel
            and (name in custom_by_name if name.startswith("custom.") else rules.shows(name))
        ]
        if not shown_blocks:
            values.append(field("owner", displayer.value(record, "owner")))
        if any(v["shown"].text for v in values):  # empty blocks are hidden
            shown_blocks.append(
                {"key": block.key, "title": block.title, "fields": values, "html": _fields_html(values)}
            )
    # Custom fields the layout editor did not place (or an older layout): the "More fields" section.
    custom = [field(name, custom_shown(f, record)) for name, f in custom_by_name.items() if name not in placed | hidden]
    related = []
    for i, relation, other in relations:
        rows: list[Any] = []
        shown_rows: list[tuple[str, str, str]] = []
        if getattr(record, f"page_related_{i}"):
            # The count in the same statement (`_total`); the statement kept per process like the record's.
            other, rows = selectors.related_page(spec=spec, actor=member, record=record, related_key=relation.module)
        if rows:
            other_display = Displayer(other)
            other_columns = field_rules(actor=member, spec=other).visible(other.list_columns[1:4])
            shown_rows = [
                (
                    record_url(other, r),
                    str(r),
                    " · ".join(t for t in (other_display.value(r, c).text for c in other_columns) if t),
                )
                for r in rows
            ]
        can_quick = visibility.can_create(actor=member, spec=other)
        related.append(
            {
                "key": other.key,
                "label": relation.label or other.label_plural,
                "spec": other,
                "count": rows[0]._total if rows else 0,
                "rows": shown_rows,
                "more_url": f"{reverse('engine:list', args=[other.key])}?{relation.via}={record.pk}&view=all",
                "create_url": reverse("engine:related_create", args=[spec.key, record.pk, other.key])
                if can_quick
                else None,
            }
        )
    following = bool(record.page_following)
    panels = extensions.panels(spec=spec, record=record, member=member, request=request)
    timeline = _timeline_rows(spec, selectors.timeline(spec=spec, record=record), displayer, member, rules.hidden)
    context = {
        "spec": spec,
        "record": record,
        "crumbs": [(reverse("engine:list", args=[spec.key]), spec.label_plural), (None, record.number)],
        "header_actions": _detail_actions(spec, record, member, can_edit, can_delete, following),
        "key_fields": _key_fields(spec, record, displayer, rules, field),
        "owner_row": [displayer.value(record, "owner")],
        "blocks": shown_blocks,
        "custom": custom,
        "custom_html": _fields_html(custom),
        "custom_filled": any(c["shown"].text for c in custom),
        "owner": displayer.value(record, "owner"),
        "related": related,
        "timeline": timeline,
        "can_edit": can_edit,
        "can_delete": can_delete,
        "comments": selectors.comments(spec=spec, record=record) if record.page_comments else [],
        "following": following,
        "panels": panels,
        "record_actions": extensions.record_actions(spec=spec, record=record, member=member),
        "child_tables": child_forms.shown_tables(spec, actor=member, record=record),
    }
    return render_page(request, spec.template_for("detail"), context)


# The record page's flags that do not depend on the member, per module: (the spec they were made for, flags).
_PAGE_FLAGS: dict[str, tuple[ModuleSpec, dict[str, Any]]] = {}


def _page_flags(spec: ModuleSpec) -> dict[str, Any]:
    """Whether the record has comments, rows in each related list (`page_related_<index in spec.related>`) and
    in each panel's lists (`extensions.panel_flags`), as expressions for `access_record(flags=...)`. Built once
    per spec (a custom module's changed spec gets its own); the query resolves a copy of each per request."""
    memo = _PAGE_FLAGS.get(spec.key)
    if memo is None or memo[0] is not spec:
        flags = {
            "page_comments": selectors.comments_flag(spec=spec),
            **{
                f"page_related_{i}": selectors.related_flag(spec=spec, related_key=r.module)
                for i, r in enumerate(spec.related)
            },
            **extensions.panel_flags(spec=spec),
        }
        memo = _PAGE_FLAGS[spec.key] = (spec, flags)
    return memo[1]


def _fields_html(fields: list[dict[str, Any]]) -> SafeString:
    """A record's fields as label/value pairs (`field` in record_detail: name, shown, edit_url), built here
    rather than by a template included per block (a page shows dozens). Empty values show "—" only where
    they can be filled; a field the member may change is edited in place (lists.js). Everything is escaped."""
    esc = list_rows.escape
    html = ['<dl class="record-fields">']
    for f in fields:
        shown, edit_url = f["shown"], f["edit_url"]
        if not (shown.text or edit_url):
            continue
        label_id = f"label-{esc(slugify(f['name']))}"
        edit = (
            f' data-edit="{esc(edit_url)}" tabindex="0" aria-labelledby="{label_id}" aria-describedby="edit-hint"'
            if edit_url
            else ""
        )
        if shown.url:
            value = f'<a href="{esc(shown.url)}">{esc(shown.text)}</a>'
        elif shown.text:
            value = linebreaksbr(shown.text, autoescape=True)
        else:
            value = '<span class="muted">—</span>'
        html.append(f'<dt id="{label_id}">{esc(shown.label)}</dt><dd data-field="{esc(f["name"])}"{edit}>{value}</dd>')
    html.append("</dl>")
    return mark_safe("".join(html))  # noqa: S308 - every value above went through escape or linebreaksbr


def _key_fields(spec: ModuleSpec, record: Any, displayer: Displayer, rules: Any, field: Any) -> list[dict[str, Any]]:
    """The record header's key fields: the owner, the status-like picklists (the kanban field, then the
    picklists the module lists as columns; at most three) and the amount with its currency, each
    editable in place where the member may."""
    out = [{**field("owner", displayer.value(record, "owner")), "kind": "owner"}]
    listed = [n for n in spec.picklists if n in spec.list_columns]
    status = [n for n in dict.fromkeys([spec.kanban_field, *listed]) if n and rules.shows(n)][:3]
    for name in status:
        shown = displayer.value(record, name)
        if shown.text:
            out.append({**field(name, shown), "kind": "status"})
    names = {f.name for f in spec.model._meta.get_fields()}
    if "amount" in names and rules.shows("amount") and getattr(record, "amount", None) is not None:
        item = {**field("amount", displayer.value(record, "amount")), "kind": "amount"}
        item["currency"] = getattr(record, "currency", "") if "currency" in names else ""
        out.append(item)
    return out


def _detail_actions(
    spec: ModuleSpec, record: Any, member: Member, can_edit: bool, can_delete: bool, following: bool
) -> list[dict[str, Any]]:
    """The detail page's action bar: follow, the module's own record actions, edit and delete."""
    actions: list[dict[str, Any]] = [
        {
            "label": ("★ " + _("Following")) if following else ("☆ " + _("Follow")),
            "url": reverse("engine:follow", args=[spec.key, record.pk]),
            "method": "post",
            "params": {"follow": "0" if following else "1"},
            "pressed": following,
        }
    ]
    actions += [
        {"label": a.label, "url": a.url, "method": a.method, "primary": a.primary}
        for a in extensions.record_actions(spec=spec, record=record, member=member)
    ]
    if can_edit:
        actions.append({"label": _("Edit"), "url": reverse("engine:edit", args=[spec.key, record.pk]), "method": "get"})
    if can_delete:
        actions.append(
            {"label": _("Delete"), "url": reverse("engine:delete", args=[spec.key, record.pk]), "method": "post"}
        )
    return actions


def _timeline_rows(
    spec: ModuleSpec, entries: list[Any], displayer: Displayer, member: Member, hidden: Collection[str] = ()
) -> list[dict[str, Any]]:
    """Timeline entries with readable changes: field labels, picklist labels, titles of referenced records."""
    custom = {f"custom.{f.key}": f.label for f in metadata.custom_fields(spec.key, include_archived=True)}
    references = _referenced_titles(spec, entries, member)
    # "Related record added" entries name the other record: only when the member may see it.
    visible_related = link_selectors.timeline_related_visible(actor=member, entries=entries)
    # Entries another app links to its own page (an email's thread), when the member may open it.
    elsewhere = extensions.timeline_links(member=member, entries=entries)

    child_labels = {child.key: str(child.label) for child in spec.children}

    def readable(name: str, value: Any) -> str:
        if name in child_labels:
            return child_tables.rows_summary(value)
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        if name in displayer.labels and value in displayer.labels[name]:
            return displayer.labels[name][value]
        if value is not None and (name, str(value)) in references:
            return references[(name, str(value))]
        return plain(value)

    rows = []
    for entry in entries:
        changes = []
        for name, (old, new) in (entry.data.get("changes") or {}).items():
            if name in hidden:
                continue  # the member's profiles hide this field
            if name in custom:
                label = custom[name]
            elif name in child_labels:
                label = child_labels[name]
            else:
                try:
                    label = str(spec.model._meta.get_field(name).verbose_name).capitalize()  # type: ignore[union-attr]
                except Exception:
                    label = name
            changes.append((label, readable(name, old), readable(name, new)))
        shown = entry.kind != "related" or (entry.data.get("module"), str(entry.data.get("id"))) in visible_related
        rows.append(
            {
                "entry": entry,
                "changes": changes,
                "related_visible": shown,
                "related_change": _related_change(entry),
                "link": elsewhere.get(entry.pk),
            }
        )
    return rows


def _related_change(entry: Any) -> str:
    """What happened to a related record (a module's link entries say "removed" or a status change)."""
    change = entry.data.get("change") if entry.kind == "related" else None
    if change == "removed":
        return _("Related record removed")
    if change == "status":
        old, new = (entry.data.get("status") or ["", ""])[:2]
        return _("Related record's status: %(old)s → %(new)s") % {"old": old or "—", "new": new or "—"}
    return ""


def _referenced_titles(spec: ModuleSpec, entries: list[Any], member: Member) -> dict[tuple[str, str], str]:
    """(field, id) -> title for the references that changed in these entries, one query per target model."""
    from django.db import models as dj_models

    wanted: dict[str, set[str]] = {}
    for entry in entries:
        for name, values in (entry.data.get("changes") or {}).items():
            if name.startswith("custom."):
                continue
            try:
                field: Any = spec.model._meta.get_field(name)
            except FieldDoesNotExist:  # a field removed since the entry was written
                continue
            if isinstance(field, dj_models.ForeignKey):
                wanted.setdefault(name, set()).update(str(v) for v in values if v is not None)
    titles: dict[tuple[str, str], str] = {}
    for name, ids in wanted.items():
        target: Any = spec.model._meta.get_field(name).remote_field.model  # type: ignore[union-attr]
        pk_field = target._meta.pk
        valid = []
        for value in ids:
            try:
                valid.append(pk_field.to_python(value))
            except ValidationError:  # not an id of this model
                continue
        objects = target.objects.filter(pk__in=valid).select_related(*(["user"] if target is Member else []))
        if target is not Member:
            with contextlib.suppress(registry.UnknownModule):  # titles of records the member may not see stay hidden
                objects = visibility.visible_records(
                    actor=member, spec=registry.spec_for_model(target), queryset=objects
                )
        for obj in objects:
            titles[(name, str(obj.pk))] = obj.user.name if target is Member else str(getattr(obj, "display_name", obj))
    return titles


def _save(request: HttpRequest, spec: ModuleSpec, record: Any) -> HttpResponse:
    member = request_member(request)
    allowed = (
        visibility.can_create(actor=member, spec=spec)
        if record is None
        else visibility.can_edit(actor=member, spec=spec, record=record)
    )
    if not allowed:
        raise PermissionDenied
    form = record_form(spec, actor=member, record=record, data=request.POST or None)
    tables = child_forms.child_tables(spec, actor=member, record=record, data=request.POST or None)
    duplicates: list[Any] = []
    if request.method == "POST" and not child_forms.row_action(request.POST):  # a row button only rearranges
        data, custom = form_to_service(spec, form)
        children = child_forms.tables_to_service(tables)
        if record is None and not request.POST.get("confirm_duplicate"):
            try:
                duplicates = selectors.duplicates_find(spec=spec, actor=member, data=data)
            except (ValidationError, ValueError, TypeError):
                duplicates = []  # malformed input: the service below reports it field by field
        if not duplicates:
            try:
                if record is None:
                    saved = services.record_create(spec=spec, actor=member, data=data, custom=custom, children=children)
                    messages.success(request, _("%(module)s created.") % {"module": spec.label})
                else:
                    version = request.POST.get("version")
                    saved = services.record_update(
                        spec=spec,
                        actor=member,
                        record=record,
                        data=data,
                        custom=custom,
                        children=children,
                        # The form carries the version it was rendered with; a mangled one is a conflict too.
                        expected_version=None
                        if version is None
                        else int(version)
                        if version.isdigit() and len(version) < 10
                        else -1,
                    )
                    messages.success(request, _("Changes saved."))
                return redirect(record_url(spec, saved))
            except visibility.FieldPermissionDenied as exc:
                field_errors_to_form(form, {name: [_("You may not change this field.")] for name in exc.fields})
            except PlanLimitReached as exc:
                form_add_service_errors(form, exc)
            except ValidationError as exc:
                field_errors_to_form(form, child_forms.errors_to_tables(tables, exc.message_dict))
            except services.ConflictError:
                form.add_error(
                    None,
                    _("Someone else changed this record while you were editing. Reload the page to see their changes."),
                )
    list_crumb = (reverse("engine:list", args=[spec.key]), spec.label_plural)
    context = {
        "spec": spec,
        "record": record,
        "page_title": f"{_('Edit')} {record}" if record else _("New %(label)s") % {"label": spec.label},
        "crumbs": [list_crumb, (record_url(spec, record), record.number)] if record else [list_crumb],
        "form": form,
        "duplicates": [(record_url(spec, d), str(d), d.number) for d in duplicates],
        "child_tables": tables,
        # Drafts stay in the browser (forms.js): one per tenant, member, module and record.
        "draft_key": f"crm-draft:{current_schema()}:{member.pk}:{spec.key}:{record.pk if record else 'new'}",
    }
    child_forms.form_totals(spec, tables, record)
    return render_page(request, spec.template_for("form"), context, status=200)


@login_required
def record_create(request: HttpRequest, module: str) -> HttpResponse:
    return _save(request, _spec(module, request), None)


@login_required
def record_edit(request: HttpRequest, module: str, record_id: uuid.UUID) -> HttpResponse:
    spec = _spec(module, request)
    return _save(request, spec, _record_or_404(spec, request, record_id))


@require_POST
@login_required
def record_delete(request: HttpRequest, module: str, record_id: uuid.UUID) -> HttpResponse:
    spec = _spec(module, request)
    record = _record_or_404(spec, request, record_id)
    services.record_delete(spec=spec, actor=request_member(request), record=record)
    messages.success(request, _("Moved to the recycle bin. You can restore it for 30 days."))
    return redirect("engine:list", module=spec.key)


@login_required
def recycle_bin(request: HttpRequest, module: str) -> HttpResponse:
    spec = _spec(module, request)
    records = selectors.recycle_bin(spec=spec, actor=request_member(request))
    return render(request, "engine/trash.html", {"spec": spec, "records": records})


@require_POST
@login_required
def record_restore(request: HttpRequest, module: str, record_id: uuid.UUID) -> HttpResponse:
    spec = _spec(module, request)
    try:
        record = services.record_restore(spec=spec, actor=request_member(request), record_id=record_id)
    except spec.model.DoesNotExist as exc:
        raise Http404 from exc
    messages.success(request, _("Restored."))
    return redirect(record_url(spec, record))


@require_POST
@login_required
def record_comment(request: HttpRequest, module: str, record_id: uuid.UUID) -> HttpResponse:
    spec = _spec(module, request)
    record = _record_or_404(spec, request, record_id)
    try:
        services.comment_add(spec=spec, actor=request_member(request), record=record, body=request.POST.get("body", ""))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect(record_url(spec, record) + "#comments")


@require_POST
@login_required
def record_follow(request: HttpRequest, module: str, record_id: uuid.UUID) -> HttpResponse:
    spec = _spec(module, request)
    record = _record_or_404(spec, request, record_id)
    services.follow_set(
        spec=spec, actor=request_member(request), record=record, following=request.POST.get("follow") == "1"
    )
    return redirect(record_url(spec, record))


@require_POST
@login_required
def mass_action(request: HttpRequest, module: str) -> HttpResponse:
    """Mass delete, change owner or set one field on the selected records (all or nothing)."""
    spec = _spec(module, request)
    member = request_member(request)
    ids = request.POST.getlist("ids")
    action = request.POST.get("action")
    if not ids:
        messages.error(request, _("Select at least one record."))
        return redirect("engine:list", module=spec.key)
    try:
        if action == "delete":
            count = services.records_mass_delete(spec=spec, actor=member, ids=ids)
        elif action == "owner":
            owner = request.POST.get("owner", "")
            if owner.startswith("g:"):
                new_owner = {"owner": None, "owner_group": owner[2:]}
            else:
                new_owner = {"owner": owner[2:], "owner_group": None}
            count = services.records_mass_update(spec=spec, actor=member, ids=ids, data=new_owner)
        elif action == "edit":
            field = request.POST.get("field", "")
            if field not in spec.form_fields:
                raise ValidationError({"field": [_("Choose a field.")]})
            count = services.records_mass_update(
                spec=spec, actor=member, ids=ids, data={field: request.POST.get("value", "")}
            )
        else:
            raise ValidationError({"action": [_("Choose an action.")]})
    except services.RecordsPermissionDenied as exc:
        messages.error(
            request,
            _("Nothing was changed: you may not change %(records)s.") % {"records": ", ".join(exc.records[:10])},
        )
        return redirect("engine:list", module=spec.key)
    except visibility.FieldPermissionDenied as exc:
        messages.error(
            request, _("Nothing was changed: you may not change %(fields)s.") % {"fields": ", ".join(exc.fields)}
        )
        return redirect("engine:list", module=spec.key)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("engine:list", module=spec.key)
    messages.success(request, _("%(count)d records updated.") % {"count": count})
    return redirect("engine:list", module=spec.key)


@login_required
def export(request: HttpRequest, module: str, fmt: str) -> HttpResponseBase:
    """The current view (filters, search, order) as CSV or XLSX, through the visibility filter."""
    spec = _spec(module, request)
    member = request_member(request)
    if not visibility.has_privilege(actor=member, privilege=Privilege.CAN_EXPORT):
        raise PermissionDenied
    rules = field_rules(actor=member, spec=spec)
    try:
        qs = selectors.list_queryset(
            spec=spec,
            actor=member,
            filters=_filters(spec, request),
            search=request.GET.get("q", ""),
            default_view=request.GET.get("view") != "all",
        ).order_by(*selectors.ordering_for(spec, request.GET.get("ordering") or None, hidden=rules.hidden))
    except ValidationError as exc:
        raise Http404 from exc
    from crm_apps.engine.api.representation import api_fields

    names = rules.visible(api_fields(spec))
    custom = rules.custom(metadata.custom_fields(spec.key))
    displayer = Displayer(spec)
    header = [
        _("Number"),
        *[displayer.value(spec.model(), n).label for n in names],
        _("Owner"),
        *[f.label for f in custom],
    ]

    references = [n for n in names if isinstance(spec.model._meta.get_field(n), models.ForeignKey)]

    def rows() -> Any:
        for record in qs.select_related("owner__user", "owner_group", *references).iterator(chunk_size=2000):
            yield [
                safe_cell(value)
                for value in (
                    record.number,
                    *[displayer.value(record, n).text for n in names],
                    displayer.value(record, "owner").text,
                    *[exports.custom_cell(f, record) for f in custom],
                )
            ]

    filename = f"{spec.key}.{fmt}"
    if fmt == "csv":
        _export_audit(spec, member, request, fmt, qs.order_by()[:EXPORT_LIMIT].count())
        stream = exports.csv_stream(header, rows(), limit=EXPORT_LIMIT)
        response: HttpResponseBase = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
    elif fmt == "xlsx":
        content, written = exports.xlsx_bytes(
            title=str(spec.label_plural), header=header, rows=rows(), limit=EXPORT_LIMIT
        )
        _export_audit(spec, member, request, fmt, written)
        response = HttpResponse(content, content_type=exports.XLSX_CONTENT_TYPE)
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _export_audit(spec: ModuleSpec, member: Member, request: HttpRequest, fmt: str, rows: int) -> None:
    """Who exported how many rows of which module, and which view (filters, search) they exported."""
    view = {k: v[:200] for k, v in list(request.GET.items())[:30]}
    audit_log(action=EXPORT, actor=member, module=spec.key, details={"format": fmt, "rows": rows, "view": view})


@require_POST
@login_required
def saved_view_create(request: HttpRequest, module: str) -> HttpResponse:
    spec = _spec(module, request)
    member = request_member(request)
    name = (request.POST.get("name") or "").strip()
    if not name or len(name) > 100 or "\x00" in name:
        messages.error(request, _("Give the view a name of 1-100 characters."))
        return redirect("engine:list", module=spec.key)
    params: dict[str, str] = {k: str(v).replace("\x00", "") for k, v in request.POST.items()}
    not_filters = LIST_PARAMS | {"name", "shared", "csrfmiddlewaretoken", "columns", "layout_columns"}
    filters = {k: v for k, v in params.items() if k not in not_filters and v}
    known = {f.key for f in metadata.custom_fields(spec.key)}
    columns = [c for c in request.POST.getlist("columns") if c in known]
    try:
        selectors.apply_filters(spec, spec.records().none(), filters)
        selectors.ordering_for(spec, params.get("ordering") or None)
        shown = request.POST.getlist("layout_columns")
        layout = (
            list_layout.layout_clean(spec, {"columns": shown}, rules=field_rules(actor=member, spec=spec))
            if shown
            else {}
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("engine:list", module=spec.key)
    view = SavedView.objects.create(
        module=spec.key,
        name=name,
        owner=member,
        shared=bool(params.get("shared")) and member.is_admin,
        filters=filters,
        search=params.get("q", "")[:200],
        ordering=params.get("ordering", "")[:60],
        columns=columns,
        layout=layout,
    )
    messages.success(request, _("View saved."))
    return redirect(f"{reverse('engine:list', args=[spec.key])}?saved={view.pk}")


@login_required
def merge(request: HttpRequest, module: str) -> HttpResponse:
    """Choose, field by field, which record's value survives; related records move to the primary."""
    spec = _spec(module, request)
    member = request_member(request)
    ids = [i for i in (request.GET.getlist("ids") or request.POST.getlist("ids")) if i][:3]
    records = [selectors.access_record(spec=spec, actor=member, record_id=i) for i in ids]
    if len(records) < 2 or any(r is None for r in records):
        messages.error(request, _("Choose two or three records to merge."))
        return redirect("engine:list", module=spec.key)
    if request.method == "POST":
        primary = request.POST.get("primary")
        choices = {k[7:]: v for k, v in request.POST.items() if k.startswith("choice:")}
        try:
            merged = services.records_merge(
                spec=spec,
                actor=member,
                primary_id=primary,
                other_ids=[str(r.pk) for r in records if str(r.pk) != primary],
                choices=choices,
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Records merged."))
            return redirect(record_url(spec, merged))
    displayer = Displayer(spec)
    fields = []
    for name in spec.form_fields:
        values = [displayer.value(r, name) for r in records]
        if len({v.text for v in values}) > 1:
            fields.append({"name": name, "label": values[0].label, "values": list(zip(records, values, strict=True))})
    for cf in metadata.custom_fields(spec.key):
        values = [custom_shown(cf, r) for r in records]
        if len({v.text for v in values}) > 1:
            fields.append(
                {"name": f"custom.{cf.key}", "label": cf.label, "values": list(zip(records, values, strict=True))}
            )
    return render(request, "engine/merge.html", {"spec": spec, "records": records, "fields": fields})


@login_required
def reference_lookup(request: HttpRequest, module: str) -> HttpResponse:
    """Search results for a record picker (htmx)."""
    spec = _spec(module, request)
    text = request.GET.get("q", "")[:100]
    page = selectors.record_list(spec=spec, actor=request_member(request), search=text, limit=8) if text else None
    results = [(str(r.pk), str(r), r.number) for r in (page.records if page else [])]
    return render(
        request, "engine/widgets/reference_results.html", {"results": results, "target": request.GET.get("target", "")}
    )


@login_required
def board(request: HttpRequest, module: str) -> HttpResponse:
    """The module's board by its kanban field or any picklist field (`?field=`): a column per value with
    count and totals; cards move by drag, keyboard or menu; amount and date are edited on the card."""
    spec = _spec(module, request)
    name = board_field(spec, request.GET.get("field"))
    if name is None or not field_rules(actor=request_member(request), spec=spec).shows(name):
        raise Http404
    return render_board(request, spec, partial=request.headers.get("HX-Request") == "true", field_name=name)


def render_board(
    request: HttpRequest, spec: ModuleSpec, *, partial: bool, field_name: str | None = None
) -> HttpResponse:
    """The whole board page, or only its columns (for htmx after a card moved)."""
    member = request_member(request)
    name = field_name or board_field(spec, request.GET.get("field"))
    rules = field_rules(actor=member, spec=spec)
    if name is None or not rules.shows(name):
        # Every caller (the board, a card move, a module's own stage view) groups by a field the member sees.
        raise Http404
    context = board_context(spec=spec, member=member, request=request, search=request.GET.get("q", ""), field_name=name)
    can_move = rules.editable(name) if name else False
    context |= {
        "can_move": can_move,
        "is_admin": member.is_admin,
        "quick_edit": _quick_edit_fields(context, rules),
        "board_query": request.GET.urlencode(),
    }
    if partial:
        return render_page(request, spec.template_for("_board_columns"), context)
    actions: list[dict[str, Any]] = [
        {"label": _("List"), "url": reverse("engine:list", args=[spec.key]), "method": "get"}
    ]
    actions += _create_action(spec, member)
    query = request.GET.urlencode()
    context |= {
        "header_actions": actions,
        "columns_template": spec.template_for("_board_columns"),
        "move_param": "value",
        "move_url_template": reverse("engine:board_move", args=[spec.key, uuid.UUID(int=0)])
        + (f"?{query}" if query else ""),
        "board_fields": list_board_fields(spec, rules),
    }
    return render_page(request, spec.template_for("board"), context)


@login_required
def board_cards(request: HttpRequest, module: str) -> HttpResponse:
    """The next cards of one board column (its "Load more" button, htmx): `value` names the column, `after`
    the last card shown; the board's own parameters (field, pipeline, q) select the same cards."""
    spec = _spec(module, request)
    member = request_member(request)
    name = board_field(spec, request.GET.get("field"))
    rules = field_rules(actor=member, spec=spec)
    if name is None or not rules.shows(name):
        raise Http404
    try:
        context = column_cards(
            spec=spec,
            member=member,
            request=request,
            field_name=name,
            value=request.GET.get("value", ""),
            after=request.GET.get("after", ""),
            search=request.GET.get("q", ""),
        )
    except ValidationError as exc:
        return HttpResponse(error_text(exc), status=400)
    board_query = request.GET.copy()
    for param in ("value", "after"):
        board_query.pop(param, None)
    context |= {
        "can_move": rules.editable(name),
        "quick_edit": _quick_edit_fields(context, rules),
        "board_query": board_query.urlencode(),
    }
    return render(request, "engine/_board_cards.html", context)


def _quick_edit_fields(context: dict[str, Any], rules: Any) -> list[str]:
    """The card fields a member may edit on the board: the amount and the card's date, where shown."""
    names = ["amount"] if context["amount_field"] else []
    names += [context["date_field"]] if context["date_field"] else []
    return [n for n in names if rules.editable(n)]


@require_POST
@login_required
def board_move(request: HttpRequest, module: str, record_id: uuid.UUID) -> HttpResponse:
    """Move a card to another column: an ordinary update of the board's field (rights, audit, timeline),
    or the module's own action for its kanban field."""
    spec = _spec(module, request)
    name = board_field(spec, request.GET.get("field"))
    if name is None or not field_rules(actor=request_member(request), spec=spec).shows(name):
        raise Http404
    record = _record_or_404(spec, request, record_id)
    htmx = request.headers.get("HX-Request") == "true"
    value = request.POST.get("value", "").strip()
    member = request_member(request)
    try:
        if not value:
            raise ValidationError({name: [_("Choose a column to move the card to.")]})
        if spec.board_move is not None and name == spec.kanban_field:
            spec.board_move(member, record, value)
        else:
            services.record_update(spec=spec, actor=member, record=record, data={name: value})
    except (ValidationError, visibility.FieldPermissionDenied, PermissionDenied) as exc:
        text = error_text(exc) if isinstance(exc, ValidationError) else _("You may not change this record.")
        if htmx:
            return HttpResponse(text, status=400 if isinstance(exc, ValidationError) else 403)
        messages.error(request, text)
    if htmx:
        return render_board(request, spec, partial=True, field_name=name)
    query = request.GET.urlencode()
    return redirect(reverse("engine:board", args=[spec.key]) + (f"?{query}" if query else ""))


@login_required
def global_search(request: HttpRequest) -> HttpResponse:
    """One box for everything: results grouped by module."""
    text = request.GET.get("q", "")[:200]
    groups = selectors.global_search(actor=request_member(request), text=text)
    results = [
        {
            "spec": g.spec,
            "rows": [(record_url(g.spec, r), str(r), r.number) for r in g.records],
            "more_url": f"{reverse('engine:list', args=[g.spec.key])}?{urlencode({'q': text, 'view': 'all'})}",
        }
        for g in groups
    ]
    return render(request, "engine/search.html", {"q": text, "results": results})
