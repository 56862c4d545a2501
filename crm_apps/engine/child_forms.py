"""Child tables on the edit and detail screens. The edit form posts formset-style names
(`lines-TOTAL_FORMS`, `lines-0-id`, `lines-0-quantity`, `lines-0-DELETE`); rows are sent to the
services in the order posted, so moving a row is moving its inputs. Without JavaScript, the add and
move buttons submit the form and the page comes back with the rows rearranged and nothing saved;
`frontend/assets/rows.js` does the same in the page and recomputes the shown totals while typing.
The services stay the authority: nothing here validates a value."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.db import models
from django.utils import formats

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.children import rows_of
from crm_apps.engine.display import Displayer, plain, record_url
from crm_apps.engine.fieldaccess import field_rules
from crm_apps.engine.forms import ReferenceWidget
from crm_apps.engine.models import CrmRecord
from crm_apps.engine.spec import ChildSpec, ModuleSpec

ACTION = "row_action"  # the JS-free add/move buttons: "<table>:add", "<table>:up:<i>", "<table>:down:<i>"
# More rows than any table allows: a forged TOTAL_FORMS cannot make the server build a million forms.
POSTED_ROWS_LIMIT = 1000


@dataclass
class RowForm:
    form: forms.Form
    id: str = ""
    delete: bool = False
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def cells(self) -> list[tuple[Any, list[str]]]:
        return [(self.form[name], self.errors.get(name, [])) for name in self.form.fields]

    @property
    def row_errors(self) -> list[str]:
        return self.errors.get("non_field_errors", [])


@dataclass
class ChildTable:
    child: ChildSpec
    rows: list[RowForm]
    blank: forms.Form  # the row the script copies for "Add row" (prefix __prefix__)
    readonly: bool = False
    errors: list[str] = field(default_factory=list)
    totals: list[Any] = field(default_factory=list)
    # service row index -> index in `rows` (deleted and blank rows are not sent)
    sent: list[int] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.child.key

    @property
    def columns(self) -> list[str]:
        return [str(self.blank.fields[name].label) for name in self.blank.fields]

    @property
    def amount_fields(self) -> str:
        return " ".join(self.child.row_amount)

    @property
    def rows_amount(self) -> str:
        """The sum of the rows' amounts as the form shows them (the script recomputes it while typing)."""
        if not self.child.row_amount:
            return ""
        total = Decimal(0)
        for row in self.rows:
            if row.delete:
                continue
            product = Decimal(1)
            for name in self.child.row_amount:
                try:
                    product *= Decimal(str(row.form.initial.get(name) or "0").replace(",", "."))
                except InvalidOperation:
                    product = Decimal(0)
            total += product
        return plain(total.quantize(Decimal("0.01")))


def _row_field(
    child: ChildSpec, name: str, actor: Member, labels: dict[str, dict[str, str]], values: dict[str, Any], drawn: Any
) -> forms.Field:
    model_field: Any = child.model._meta.get_field(name)
    label = str(model_field.verbose_name).capitalize()
    if name in child.row_fields:
        made: Any = child.row_fields[name].field(drawn[name], str(values.get(name) or ""))
    elif isinstance(model_field, models.ForeignKey):
        try:
            target = registry.spec_for_model(model_field.remote_field.model)
        except registry.UnknownModule:
            made = model_field.formfield()
        else:
            made = forms.CharField(widget=ReferenceWidget(target.key, actor, labels=labels.get(name, {})))
    else:
        made = model_field.formfield()
        if isinstance(made, forms.DecimalField | forms.IntegerField):
            made.widget.attrs["inputmode"] = "decimal"
    made.label = label
    made.required = False  # the services decide; the browser must not block a row the script removed
    return made


def _row_form(
    child: ChildSpec,
    actor: Member,
    prefix: str,
    values: dict[str, Any],
    disabled: bool,
    labels: dict[str, dict[str, str]],
    drawn: dict[str, Any],
) -> forms.Form:
    form = forms.Form(initial=values, prefix=prefix)
    for name in child.shown_fields:
        form.fields[name] = _row_field(child, name, actor, labels, values, drawn)
        form.fields[name].disabled = disabled
    return form


def _stored_values(child: ChildSpec, row: Any, drawn: dict[str, Any]) -> dict[str, Any]:
    values = {}
    for name in child.shown_fields:
        model_field: Any = child.model._meta.get_field(name)
        value = getattr(row, model_field.attname if isinstance(model_field, models.ForeignKey) else name)
        if name in child.row_fields:
            values[name] = child.row_fields[name].to_form(drawn[name], value)
        else:
            values[name] = "" if value is None else value
    return values


def _prepared(child: ChildSpec, actor: Member) -> dict[str, Any]:
    """What each module-drawn column loads once per table (its choices)."""
    return {name: row_field.prepare(actor) for name, row_field in child.row_fields.items()}


def _posted_rows(child: ChildSpec, data: Any) -> list[tuple[str, bool, dict[str, Any]]]:
    try:
        total = int(data.get(f"{child.key}-TOTAL_FORMS", 0))
    except (TypeError, ValueError):
        total = 0
    rows = []
    for index in range(max(0, min(total, POSTED_ROWS_LIMIT))):
        prefix = f"{child.key}-{index}-"
        values = {name: data.get(prefix + name, "") for name in child.shown_fields}
        rows.append((str(data.get(prefix + "id", "")), bool(data.get(prefix + "DELETE")), values))
    return rows


def _apply_action(child: ChildSpec, rows: list[Any], action: str) -> list[Any]:
    """The JS-free row buttons: add a blank row or move a row up or down."""
    key, _sep, rest = action.partition(":")
    if key != child.key:
        return rows
    verb, _sep, position = rest.partition(":")
    if verb == "add":
        return [*rows, ("", False, {})]
    if not position.isdigit() or int(position) >= len(rows):
        return rows
    index = int(position)
    other = index - 1 if verb == "up" else index + 1 if verb == "down" else -1
    if 0 <= other < len(rows):
        rows = list(rows)
        rows[index], rows[other] = rows[other], rows[index]
    return rows


def child_tables(spec: ModuleSpec, *, actor: Member, record: CrmRecord | None, data: Any = None) -> list[ChildTable]:
    """The row tables of the edit form: the stored rows (one blank row for a new record), or the posted
    ones, rearranged by a JS-free row button when one was pressed."""
    rules = field_rules(actor=actor, spec=spec)
    action = str(data.get(ACTION, "")) if data is not None else ""
    tables = []
    for child in spec.children:
        if not rules.shows(child.key):
            continue
        readonly = not rules.editable(child.key)
        drawn = _prepared(child, actor)
        if data is not None and not readonly:
            rows = _apply_action(child, _posted_rows(child, data), action)
        else:
            stored = rows_of(child, record) if record is not None else []
            rows = [(str(r.pk), False, _stored_values(child, r, drawn)) for r in stored]
            if record is None and not rows:
                rows = [("", False, {})]
        labels = _picker_labels(child, actor, [values for _id, _delete, values in rows])
        forms_ = [
            RowForm(
                form=_row_form(child, actor, f"{child.key}-{i}", values, readonly, labels, drawn),
                id=row_id,
                delete=delete,
            )
            for i, (row_id, delete, values) in enumerate(rows)
        ]
        blank = _row_form(child, actor, f"{child.key}-__prefix__", {}, readonly, labels, drawn)
        tables.append(ChildTable(child=child, rows=forms_, blank=blank, readonly=readonly))
    return tables


def _picker_labels(child: ChildSpec, actor: Member, rows: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """field -> {id: title} of the visible records the rows' pickers show: one query per reference field,
    not one per row."""
    labels: dict[str, dict[str, str]] = {}
    for name in child.shown_fields:
        model_field: Any = child.model._meta.get_field(name)
        if not isinstance(model_field, models.ForeignKey):
            continue
        try:
            target = registry.spec_for_model(model_field.remote_field.model)
        except registry.UnknownModule:
            continue
        ids = {str(values.get(name)) for values in rows if values.get(name)}
        ids = {i for i in ids if _is_uuid(i)}
        labels[name] = {}
        if ids:
            qs = target.model._default_manager.filter(pk__in=ids, deleted_at__isnull=True)
            for found in visibility.visible_records(actor=actor, spec=target, queryset=qs):
                labels[name][str(found.pk)] = str(found)
    return labels


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def row_action(data: Any) -> bool:
    """Whether the post only rearranges rows (JS-free add/move): the form comes back, nothing is saved."""
    return bool(data.get(ACTION))


def tables_to_service(tables: list[ChildTable]) -> dict[str, Any] | None:
    """`children` for record_create/record_update: every editable table's rows in order, without the
    removed rows and new rows left blank."""
    children: dict[str, Any] = {}
    for table in tables:
        if table.readonly:
            continue
        rows = []
        table.sent = []
        drawn_by_module = table.child.row_fields
        for index, row in enumerate(table.rows):
            values = {name: row.form.initial.get(name, "") for name in table.child.shown_fields}
            typed = [v for name, v in values.items() if name not in drawn_by_module]
            if row.delete or (not row.id and not any(str(v).strip() for v in typed)):
                continue
            for name, row_field in drawn_by_module.items():
                if name in values:
                    send, value = row_field.to_service(str(values[name] or ""))
                    if send:
                        values[name] = value
                    else:
                        del values[name]
            rows.append({"id": row.id, **values} if row.id else values)
            table.sent.append(index)
        children[table.key] = rows
    return children or None


def errors_to_tables(tables: list[ChildTable], errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Put the services' row errors (`lines.1.quantity`) on their rows and cells; returns the others."""
    by_key = {table.key: table for table in tables}
    rest: dict[str, list[str]] = {}
    for name, messages in errors.items():
        key, _dot, remainder = name.partition(".")
        table = by_key.get(key)
        if table is None:
            rest[name] = messages
            continue
        index, _dot, field_name = remainder.partition(".")
        if not index.isdigit() or int(index) >= len(table.sent):
            table.errors += messages
            continue
        row = table.rows[table.sent[int(index)]]
        target = field_name if field_name in row.form.fields else "non_field_errors"
        row.errors.setdefault(target, []).extend(messages)
        if target in row.form.fields:
            row.form.fields[target].widget.attrs["aria-invalid"] = "true"
            row.form.fields[target].widget.attrs["aria-describedby"] = f"{row.form.prefix}-{target}-error"
    return rest


def tables_have_errors(tables: list[ChildTable]) -> bool:
    return any(t.errors or any(r.errors for r in t.rows) for t in tables)


@dataclass
class ShownTable:
    label: str
    columns: list[str]
    rows: list[list[tuple[str, str | None]]]
    totals: list[Any]


def _reference_titles(child: ChildSpec, actor: Member, rows: list[Any]) -> dict[tuple[str, str], tuple[str, str]]:
    """(field, id) -> (title, url) of the records the rows point at that the member may see."""
    titles: dict[tuple[str, str], tuple[str, str]] = {}
    for name in child.fields:
        model_field: Any = child.model._meta.get_field(name)
        if not isinstance(model_field, models.ForeignKey):
            continue
        ids = {getattr(r, model_field.attname) for r in rows} - {None}
        if not ids:
            continue
        target = model_field.remote_field.model
        try:
            target_spec = registry.spec_for_model(target)
        except registry.UnknownModule:
            titles.update({(name, str(o.pk)): (str(o), "") for o in target._default_manager.filter(pk__in=ids)})
            continue
        qs = target._default_manager.filter(pk__in=ids, deleted_at__isnull=True)
        for found in visibility.visible_records(actor=actor, spec=target_spec, queryset=qs):
            titles[(name, str(found.pk))] = (str(found), record_url(target_spec, found))
    return titles


def _column_label(child: ChildSpec, name: str) -> str:
    model_field: Any = child.model._meta.get_field(name)
    return str(model_field.verbose_name).capitalize()


def shown_tables(spec: ModuleSpec, *, actor: Member, record: CrmRecord) -> list[ShownTable]:
    """The detail page's row tables (one query per table, one per referenced module) with their totals.
    A reference to a record the member may not see shows as "—"."""
    rules = field_rules(actor=actor, spec=spec)
    displayer = Displayer(spec)
    shown = []
    for child in spec.children:
        if not rules.shows(child.key):
            continue
        rows = rows_of(child, record)
        titles = _reference_titles(child, actor, rows)
        drawn = _prepared(child, actor)
        columns = [*child.shown_fields, *child.computed_fields]
        cells = []
        for row in rows:
            line: list[tuple[str, str | None]] = []
            for name in columns:
                model_field: Any = child.model._meta.get_field(name)
                if name in child.row_fields:
                    line.append((child.row_fields[name].display(drawn[name], getattr(row, name)), None))
                elif isinstance(model_field, models.ForeignKey):
                    value = getattr(row, model_field.attname)
                    title, url = titles.get((name, str(value)), ("—" if value else "", ""))
                    line.append((title, url or None))
                elif isinstance(model_field, models.DecimalField) and getattr(row, name) is not None:
                    # All the places the column keeps: a quantity of 0.125 is not 0.13.
                    text = formats.number_format(
                        getattr(row, name), decimal_pos=model_field.decimal_places, use_l10n=True, force_grouping=True
                    )
                    line.append((text, None))
                else:
                    line.append((plain(getattr(row, name)), None))
            cells.append(line)
        shown.append(
            ShownTable(
                label=str(child.label),
                columns=[_column_label(child, n) for n in columns],
                rows=cells,
                totals=[displayer.value(record, name) for name in child.totals_fields if rules.shows(name)],
            )
        )
    return shown


def form_totals(spec: ModuleSpec, tables: list[ChildTable], record: CrmRecord | None) -> None:
    """The totals shown under each editable table: the stored values (the script updates them while typing)."""
    displayer = Displayer(spec)
    for table in tables:
        table.totals = [
            {
                "name": name,
                "label": displayer.label(name),
                "text": plain(getattr(record, name)) if record is not None else "",
            }
            for name in table.child.totals_fields
        ]


__all__ = [
    "ACTION",
    "ChildTable",
    "ShownTable",
    "child_tables",
    "errors_to_tables",
    "form_totals",
    "row_action",
    "shown_tables",
    "tables_have_errors",
    "tables_to_service",
]
