"""Record links: rows attached to one record of any module by (module, record_id).

The linking models are the concrete subclasses of `RecordLink` in the installed apps (comments,
timeline entries, follows, recent views here; webhook deliveries in `marketplace.installs`; the
activities, emails and documents to come). The registry is declarative: a model joins it by inheriting
`RecordLink`, so the engine never imports the apps that add links, and nothing can forget to list one.
Everything that must treat "things attached to a record" alike iterates `link_models()`:

- purge (`links_purge`): a record deleted for good takes its links with it;
- merge (`links_merge`): links of the merged-away records move to the survivor (`link_on_merge`), and
  so do `record`-type custom field values of any module that pointed at them;
- visibility (`links_visible`): a link is visible exactly when its record is;
- the cross-tenant suite (`tests/test_record_links.py`).

What it does not protect: a link's record is not a foreign key, so a raw SQL delete of a record leaves
its links behind (they are invisible, as their record is, until the next purge of that id). Tenant
backups dump the whole schema, so link tables need no listing there.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import F, Func, Q, QuerySet, Value

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.models import CustomField, FieldType, RecordLink
from crm_apps.engine.spec import ModuleSpec

# Segments after `/api/v1/<module>/<id>/` that the link endpoints own; a related list may not use them.
RESERVED_ROUTE_NAMES = frozenset({"comments", "timeline", "follow", "tags", "restore"})


def link_models() -> list[type[RecordLink]]:
    """Every concrete linking model of the installed apps, by label (a stable order for tests and merges)."""
    found = [m for m in apps.get_models() if issubclass(m, RecordLink)]
    return sorted(found, key=lambda m: m._meta.label)


def _unique_columns(constraint: models.UniqueConstraint) -> tuple[str, ...]:
    """The field names of a unique constraint, written as `fields=` or as plain field expressions."""
    if constraint.fields:
        return tuple(constraint.fields)
    return tuple(str(e.name) for e in constraint.expressions if isinstance(e, F))  # type: ignore[attr-defined]


def record_index_problem(model: type[models.Model]) -> str | None:
    """Why `model` cannot find its links by (module, record_id) with an index, or None."""
    leading: list[tuple[str, ...]] = [tuple(f.lstrip("-") for f in index.fields[:2]) for index in model._meta.indexes]
    leading += [_unique_columns(c)[:2] for c in model._meta.constraints if isinstance(c, models.UniqueConstraint)]
    if ("module", "record_id") in leading:
        return None
    return f"{model._meta.label} has no index whose leading columns are (module, record_id)."


def _unique_partners(model: type[RecordLink]) -> list[tuple[str, ...]]:
    """For each unique constraint over (module, record_id, ...): the other fields ("member" for follows)."""
    partners = []
    for constraint in model._meta.constraints:
        if not isinstance(constraint, models.UniqueConstraint) or constraint.condition is not None:
            continue
        columns = _unique_columns(constraint)
        if {"module", "record_id"} <= set(columns):
            partners.append(tuple(f for f in columns if f not in ("module", "record_id")))
    return partners


def links_purge(*, module: str, record_ids: Iterable[Any]) -> dict[str, int]:
    """Delete every link of these records (they are being deleted for good); rows deleted per model."""
    ids = list(record_ids)
    deleted: dict[str, int] = {}
    for model in link_models():
        count, _by_model = model.objects.filter(module=module, record_id__in=ids).delete()
        deleted[model._meta.label] = count
    return deleted


def _move_rows(model: type[RecordLink], *, module: str, from_ids: list[Any], to_id: Any) -> int:
    rows = model.objects.filter(module=module, record_id__in=from_ids)
    partners = _unique_partners(model)
    if partners:
        # A member who followed two of the duplicates follows the survivor once.
        fields = sorted({f for group in partners for f in group})
        taken = {
            group: {
                tuple(row[f] for f in group)
                for row in model.objects.filter(module=module, record_id=to_id).values(*fields)
            }
            for group in partners
        }
        drop = []
        for row in rows.order_by("pk").values("pk", *fields):
            keys = {group: tuple(row[f] for f in group) for group in partners}
            if any(keys[group] in taken[group] for group in partners):
                drop.append(row["pk"])
                continue
            for group in partners:
                taken[group].add(keys[group])
        if drop:
            model.objects.filter(pk__in=drop).delete()
    return rows.update(record_id=to_id)


def custom_references_move(*, module: str, from_ids: list[Any], to_id: Any) -> int:
    """Point every `record`-type custom value that names one of `from_ids` (records of `module`) at
    `to_id`, in the records of every module, in the recycle bin too; each changed record gets a new
    version so an edit based on the old value is a conflict. The number of records changed."""
    targets = [str(pk) for pk in from_ids]
    changed = 0
    for field in CustomField.objects.filter(type=FieldType.RECORD, options__target=module).order_by("pk"):
        try:
            spec = registry.get(field.module)
        except registry.UnknownModule:
            continue
        changed += (
            spec.records()
            .filter(**{f"custom_data__{field.key}__in": targets})
            .update(
                custom_data=Func(
                    F("custom_data"),
                    Value([field.key]),
                    Value(str(to_id), output_field=models.JSONField()),
                    function="jsonb_set",
                    output_field=models.JSONField(),
                ),
                version=F("version") + 1,
            )
        )
    return changed


def links_merge(*, module: str, from_ids: Iterable[Any], to_id: Any) -> dict[str, int]:
    """Give the survivor of a merge the links of the merged records (models that keep theirs excepted)
    and the custom references to them; rows moved per model, and "custom_references" records changed."""
    ids = [pk for pk in from_ids if str(pk) != str(to_id)]
    moved: dict[str, int] = {}
    for model in link_models():
        if model.link_on_merge == RecordLink.MOVE:
            moved[model._meta.label] = _move_rows(model, module=module, from_ids=ids, to_id=to_id)
    moved["custom_references"] = custom_references_move(module=module, from_ids=ids, to_id=to_id)
    return moved


def _specs_of(keys: Iterable[str]) -> list[ModuleSpec]:
    """The live modules among `keys`, looked up one by one (a built-in key never reads the tenant's
    custom module definitions); unknown or archived keys are left out."""
    found: list[ModuleSpec] = []
    for key in dict.fromkeys(keys):
        try:
            found.append(registry.get(key))
        except registry.UnknownModule:
            continue
    return found


def links_visible(
    *,
    actor: Member,
    model: type[RecordLink],
    queryset: QuerySet[Any] | None = None,
    modules: Iterable[str] | None = None,
) -> QuerySet[Any]:
    """The links (of `model`, or within `queryset`) whose record `actor` may see: live, in a module their
    profiles open, and passing the one visibility filter. `modules` narrows the modules considered."""
    qs = model.objects.all() if queryset is None else queryset
    condition = Q(pk__in=[])
    for spec in registry.all_specs() if modules is None else _specs_of(modules):
        if not visibility.can_view_module(actor=actor, spec=spec):
            continue
        records = visibility.visible_records(
            actor=actor, spec=spec, queryset=spec.records().filter(deleted_at__isnull=True)
        )
        condition |= Q(module=spec.key, record_id__in=records.order_by().values("pk"))
    return qs.filter(condition)
