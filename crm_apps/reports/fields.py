"""The fields a report can use: a module's own fields, its custom fields, and the fields of the modules it
references (up to two hops: deals -> organisation -> parent organisation), each with a kind that decides
the operators, groupings and aggregates it allows, and the SQL expression that reads it.

A field of a referenced record is read through a guard: it is NULL unless that record is live and
visible to the member (the visibility filter of its module), so a report never shows, filters on or
groups by a value of a record the member may not see. Field-level security: fields hidden from the
member are absent from the member's catalogue (unknown to them, hence a 400 when named)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Case, DateField, DateTimeField, DecimalField, F, IntegerField, Q, Value, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import translation

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import metadata, registry
from crm_apps.engine.models import CustomField, FieldType
from crm_apps.engine.spec import ModuleSpec
from saas import cache_versions

MAX_HOPS = 2
# Columns of every record that a report never reads (internal bookkeeping, search index, JSON blobs).
SKIPPED = {"id", "custom_data", "search_vector", "deleted_at", "version", "tags", "created_by", "updated_by"}

TEXT, NUMBER, MONEY, DATE, DATETIME, BOOLEAN, CHOICE, REFERENCE, LOOKUP, MEMBER, MULTI = (
    "text",
    "number",
    "money",
    "date",
    "datetime",
    "boolean",
    "choice",
    "reference",
    "lookup",
    "member",
    "multi",
)
GROUPABLE = {TEXT, CHOICE, REFERENCE, LOOKUP, MEMBER, DATE, DATETIME, BOOLEAN, NUMBER}
NUMERIC = {NUMBER, MONEY}
ORDERED = {NUMBER, MONEY, DATE, DATETIME}

CUSTOM_KINDS = {
    FieldType.TEXT: TEXT,
    FieldType.TEXTAREA: TEXT,
    FieldType.EMAIL: TEXT,
    FieldType.PHONE: TEXT,
    FieldType.URL: TEXT,
    FieldType.RECORD: TEXT,
    FieldType.INTEGER: NUMBER,
    FieldType.DECIMAL: NUMBER,
    FieldType.CURRENCY: NUMBER,
    FieldType.PERCENT: NUMBER,
    FieldType.DATE: DATE,
    FieldType.DATETIME: DATETIME,
    FieldType.CHECKBOX: BOOLEAN,
    FieldType.PICKLIST: CHOICE,
    FieldType.MULTIPICKLIST: MULTI,
    FieldType.MEMBER: MEMBER,
}


@dataclass(frozen=True)
class Hop:
    """A reference followed from the report's module: ORM path to the referenced record and its module."""

    lookup: str
    spec: ModuleSpec


@dataclass(frozen=True)
class ReportField:
    path: str  # "amount", "organization.industry", "custom.score", "organization.parent.name"
    label: str
    kind: str
    spec: ModuleSpec  # the module the field belongs to
    name: str  # the field's name in its module, as field-level security names it ("custom.<key>" for custom)
    lookup: str  # the ORM path from the report's module
    hops: tuple[Hop, ...] = ()
    custom: CustomField | None = None
    currency_lookup: str | None = None  # money: the ORM path of the record's currency
    target: Any = None  # reference/lookup: the referenced model
    picklist: str | None = None  # choice: the picklist with the value labels
    # A field of records linked through a link table ("linked.tasks.status"): the link followed and the field
    # in the linked module's catalogue. Read by the compiler as the distinct values of the linked records.
    link: Any = None  # LinkPath
    inner: ReportField | None = None

    def raw(self) -> Any:
        """The value's SQL expression without the visibility guard."""
        if self.custom is not None:
            prefix = self.lookup[: -len(f"custom_data__{self.custom.key}")]
            text = KeyTextTransform(self.custom.key, f"{prefix}custom_data")
            if self.kind == NUMBER:
                return Cast(text, DecimalField(max_digits=30, decimal_places=4))
            if self.kind == DATE:
                return Cast(text, DateField())
            if self.kind == DATETIME:
                return Cast(text, DateTimeField())
            if self.kind == BOOLEAN:
                return Cast(text, models.BooleanField())
            if self.kind == MEMBER:
                return Cast(text, IntegerField())
            return text
        if self.kind in (REFERENCE, LOOKUP, MEMBER):
            return F(f"{self.lookup}_id")
        return F(self.lookup)


@dataclass
class Catalogue:
    """The fields of one module as one member may use them (hidden ones absent), plus the names of the
    fields that exist but are hidden from the member (a saved report's columns on them are left out)."""

    spec: ModuleSpec
    fields: dict[str, ReportField]
    hidden: set[str]
    actor: Member

    def guard(self, field: ReportField) -> Q | None:
        """The condition under which a referenced record's value may be read (None: always)."""
        condition: Q | None = None
        for hop in field.hops:
            live = hop.spec.records().filter(deleted_at__isnull=True)
            visible = visibility.visible_records(actor=self.actor, spec=hop.spec, queryset=live)
            part = Q(**{f"{hop.lookup}__in": visible.values("pk")})
            condition = part if condition is None else condition & part
        return condition

    def expression(self, field: ReportField) -> Any:
        raw = field.raw()
        condition = self.guard(field)
        if condition is None:
            return raw
        return Case(When(condition, then=raw), default=Value(None), output_field=_output(field))


def _output(field: ReportField) -> models.Field[Any, Any]:
    if field.kind in (NUMBER, MONEY):
        return DecimalField(max_digits=30, decimal_places=4)
    if field.kind == DATE:
        return DateField()
    if field.kind == DATETIME:
        return DateTimeField()
    if field.kind == BOOLEAN:
        return models.BooleanField()
    if field.kind == MEMBER:
        return IntegerField()
    if field.kind == REFERENCE and field.custom is None:
        return models.UUIDField()
    if field.kind == LOOKUP:
        return IntegerField()
    return models.TextField()


def _module_of(model: Any) -> ModuleSpec | None:
    try:
        return registry.spec_for_model(model)
    except registry.UnknownModule:
        return None


def _kind(spec: ModuleSpec, field: Any) -> str | None:
    if isinstance(field, models.ForeignKey):
        target = field.remote_field.model
        if target is Member:
            return MEMBER
        return REFERENCE if _module_of(target) is not None else LOOKUP
    if isinstance(field, models.DecimalField):
        has_currency = any(f.name == "currency" for f in spec.model._meta.concrete_fields)
        return MONEY if has_currency else NUMBER
    if isinstance(field, models.IntegerField | models.FloatField):
        return NUMBER
    if isinstance(field, models.DateTimeField):
        return DATETIME
    if isinstance(field, models.DateField):
        return DATE
    if isinstance(field, models.BooleanField):
        return BOOLEAN
    if isinstance(field, models.CharField | models.TextField):
        if field.name in spec.picklists or field.choices:
            return CHOICE
        return TEXT
    return None


def _own_fields(spec: ModuleSpec, prefix_path: str, prefix_lookup: str, prefix_label: str, hops: tuple[Hop, ...]):
    out: list[ReportField] = []
    for field in spec.model._meta.concrete_fields:
        if field.name in SKIPPED or field.name in spec.scope:
            continue
        kind = _kind(spec, field)
        if kind is None:
            continue
        label = str(getattr(field, "verbose_name", field.name))
        out.append(
            ReportField(
                path=f"{prefix_path}{field.name}",
                label=f"{prefix_label}{label[:1].upper()}{label[1:]}",
                kind=kind,
                spec=spec,
                name=field.name,
                lookup=f"{prefix_lookup}{field.name}",
                hops=hops,
                currency_lookup=f"{prefix_lookup}currency" if kind == MONEY else None,
                target=field.remote_field.model if isinstance(field, models.ForeignKey) else None,
                picklist=spec.picklists.get(field.name) if kind == CHOICE else None,
            )
        )
    for custom in metadata.custom_fields(spec.key):
        kind = CUSTOM_KINDS.get(custom.type)  # type: ignore[call-overload]
        if kind is None or (hops and kind == MULTI):
            continue
        out.append(
            ReportField(
                path=f"{prefix_path}custom.{custom.key}",
                label=f"{prefix_label}{custom.label}",
                kind=kind,
                spec=spec,
                name=f"custom.{custom.key}",
                lookup=f"{prefix_lookup}custom_data__{custom.key}",
                hops=hops,
                custom=custom,
                picklist=custom.picklist_name if kind in (CHOICE, MULTI) else None,
            )
        )
    return out


# Seconds a member's field catalogue is kept in the process (issue 25: building it, ~500 translated labels over
# the modules two references away, was three quarters of a cached report run's time). The key names what it
# depends on; a change of grants, field rules, custom fields or modules moves a version and so the key.
CATALOGUE_SECONDS = 60.0


def _catalogue_key(spec: ModuleSpec, actor: Member) -> str | None:
    access, meta = cache_versions.version("access"), cache_versions.version("metadata")
    if access is None or meta is None:
        return None
    language = translation.get_language() or ""
    return (
        f"reports-catalogue:{spec.key}:{id(spec)}:{actor.pk}:{actor.active}:{actor.is_admin}:{access}:{meta}:{language}"
    )


def catalogue(*, spec: ModuleSpec, actor: Member) -> Catalogue:
    """Every field a report on `spec` may use for `actor`: own fields, custom fields and, through the
    references to other modules the member may view, theirs (two hops at most). Kept per process for the
    member, versions and language (`_catalogue_key`); each call gets its own dictionaries and the actor."""
    fields, hidden = cache_versions.local_remember(
        _catalogue_key(spec, actor), lambda: _catalogue(spec, actor), ttl=CATALOGUE_SECONDS, kind=tuple
    )
    return Catalogue(spec=spec, fields=dict(fields), hidden=set(hidden), actor=actor)


def _catalogue(spec: ModuleSpec, actor: Member) -> tuple[dict[str, ReportField], frozenset[str]]:
    fields: dict[str, ReportField] = {}
    hidden: set[str] = set()

    def walk(current: ModuleSpec, path: str, lookup: str, label: str, hops: tuple[Hop, ...]) -> None:
        concealed = visibility.hidden_fields(actor=actor, spec=current)
        for field in _own_fields(current, path, lookup, label, hops):
            if field.name in concealed:
                hidden.add(field.path)
            else:
                fields[field.path] = field
        for model_field in current.model._meta.concrete_fields:
            # Lookup tables (stages, pipelines): their plain fields, read through the reference (stage.is_won).
            if not isinstance(model_field, models.ForeignKey) or model_field.name in concealed:
                continue
            target_model = model_field.remote_field.model
            if target_model is Member or _module_of(target_model) is not None:
                continue
            verbose = str(model_field.verbose_name)
            for sub in target_model._meta.concrete_fields:
                kind = _kind(current, sub) if not isinstance(sub, models.ForeignKey) else None
                if kind not in (BOOLEAN, NUMBER, TEXT) or sub.name in ("id", "labels", "position"):
                    continue
                sub_label = str(sub.verbose_name)
                fields[f"{path}{model_field.name}.{sub.name}"] = ReportField(
                    path=f"{path}{model_field.name}.{sub.name}",
                    label=f"{label}{verbose[:1].upper()}{verbose[1:]} › {sub_label[:1].upper()}{sub_label[1:]}",
                    kind=kind,
                    spec=current,
                    name=model_field.name,
                    lookup=f"{lookup}{model_field.name}__{sub.name}",
                    hops=hops,
                )
        if len(hops) >= MAX_HOPS:
            return
        for model_field in current.model._meta.concrete_fields:
            if not isinstance(model_field, models.ForeignKey) or model_field.name in concealed:
                continue
            target = _module_of(model_field.remote_field.model)
            if target is None or not visibility.can_view_module(actor=actor, spec=target):
                continue
            name = model_field.name
            verbose = str(model_field.verbose_name)
            walk(
                target,
                f"{path}{name}.",
                f"{lookup}{name}__",
                f"{label}{verbose[:1].upper()}{verbose[1:]} › ",
                (*hops, Hop(f"{lookup}{name}", target)),
            )

    walk(spec, "", "", "", ())
    return fields, frozenset(hidden)


@dataclass(frozen=True)
class LinkPath:
    """A link table between two modules (`crm_apps.engine.models.RecordLink` subclasses with a foreign key to a
    module's records, e.g. a task's or an event's links to any record): from `spec`'s records to `target`'s.
    `own_side`: the link's foreign key points at `spec`'s records and (module, record_id) at the target's;
    otherwise the other way round. Used in filters ("some linked deal whose stage is ...")."""

    key: str  # "linked.deals"
    label: str
    target: ModuleSpec
    model: Any
    fk: str
    own_side: bool


def _link_tables() -> list[tuple[Any, str, ModuleSpec]]:
    from django.apps import apps

    from crm_apps.engine.models import RecordLink

    out = []
    for model in apps.get_models():
        if not issubclass(model, RecordLink):
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, models.ForeignKey):
                spec = _module_of(field.remote_field.model)
                if spec is not None:
                    out.append((model, field.name, spec))
    return out


def link_paths(*, spec: ModuleSpec, actor: Member) -> dict[str, LinkPath]:
    """The modules `spec`'s records are linked with through link tables, as the member may view them."""
    out: dict[str, LinkPath] = {}
    for model, fk, fk_spec in _link_tables():
        if fk_spec.key == spec.key:  # spec's records own the links: any module may be on the other side
            for target in registry.all_specs():
                if target.key != spec.key and visibility.can_view_module(actor=actor, spec=target):
                    out.setdefault(
                        f"linked.{target.key}",
                        LinkPath(f"linked.{target.key}", str(target.label_plural), target, model, fk, True),
                    )
        elif visibility.can_view_module(actor=actor, spec=fk_spec):
            out.setdefault(
                f"linked.{fk_spec.key}",
                LinkPath(f"linked.{fk_spec.key}", str(fk_spec.label_plural), fk_spec, model, fk, False),
            )
    return out


@dataclass(frozen=True)
class LinkedField:
    """A field of a linked module, offered in filters, columns and groupings (a record has any number of
    linked records: a column lists their distinct values, a grouping puts the record in each value's group)."""

    path: str  # "linked.deals.stage"
    label: str
    field: ReportField


def linked_fields(*, spec: ModuleSpec, actor: Member) -> list[LinkedField]:
    """The linked modules' own fields (no further hop) as filter choices: "Linked deals › Stage"."""
    from django.utils.translation import gettext as _

    out = []
    for link in link_paths(spec=spec, actor=actor).values():
        for fld in catalogue(spec=link.target, actor=actor).fields.values():
            if fld.hops or fld.kind == MULTI:
                continue
            label = _("Linked %(module)s › %(field)s") % {"module": link.label, "field": fld.label}
            out.append(LinkedField(f"{link.key}.{fld.path}", label, fld))
    return out


def linked_field(*, cat: Catalogue, path: str) -> ReportField | None:
    """`linked.<module>.<field>` as a column or grouping of `cat`'s module for its member: the field as the
    linked module's catalogue has it for the same member (hidden fields unknown, references guarded), or None.
    Multi-select picklists are filters only."""
    from django.utils.translation import gettext as _

    prefix, _dot, rest = path[len("linked.") :].partition(".")
    link = link_paths(spec=cat.spec, actor=cat.actor).get(f"linked.{prefix}")
    if link is None or not rest or rest.startswith("linked."):
        return None
    inner = catalogue(spec=link.target, actor=cat.actor).fields.get(rest)
    if inner is None or inner.kind == MULTI:
        return None
    return ReportField(
        path=path,
        label=_("Linked %(module)s › %(field)s") % {"module": link.label, "field": inner.label},
        kind=inner.kind,
        spec=inner.spec,
        name=inner.name,
        lookup=inner.lookup,
        hops=inner.hops,
        custom=inner.custom,
        target=inner.target,
        picklist=inner.picklist,
        link=link,
        inner=inner,
    )
