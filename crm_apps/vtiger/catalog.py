"""The vtiger view of the registry: module names and id prefixes, and each module's fields under their
vtiger names, built from the specs' declarations alone (`ModuleSpec.vtiger_module`, `vtiger_fields`)
plus the tenant's custom fields (`cf_<key>`), so modules added later are served without code here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Max

from crm_apps.access.models import Group, Member
from crm_apps.engine import metadata, registry
from crm_apps.engine.fieldaccess import FieldRules
from crm_apps.engine.models import CustomField, FieldType
from crm_apps.engine.spec import ModuleSpec
from crm_apps.vtiger.models import ModuleId

# vtiger's entity type ids (`vtiger_ws_entity`) of a default install: 1-23 are the same in every vtiger
# 6/7/8 install; the later ones vary between installs, so these are ours, fixed for good.
STANDARD_IDS: dict[str, int] = {
    "Calendar": 1,
    "Leads": 2,
    "Accounts": 3,
    "Contacts": 4,
    "Potentials": 5,
    "Products": 6,
    "Documents": 7,
    "Emails": 8,
    "HelpDesk": 9,
    "Faq": 10,
    "Vendors": 11,
    "PriceBooks": 12,
    "Quotes": 13,
    "PurchaseOrder": 14,
    "SalesOrder": 15,
    "Invoice": 16,
    "Campaigns": 17,
    "Events": 18,
    "Users": 19,
    "Groups": 20,
    "Currency": 21,
    "DocumentFolders": 22,
    "CompanyDetails": 23,
    "ServiceContracts": 24,
    "Services": 25,
    "ModComments": 26,
    "Assets": 27,
    "ProjectMilestone": 28,
    "ProjectTask": 29,
    "Project": 30,
    "PBXManager": 31,
    "SMSNotifier": 32,
}
USERS = "Users"
GROUPS = "Groups"
FIRST_GENERATED_PREFIX = 100

# What every record has, under vtiger's names.
COMMON_NAMES = {
    "owner": "assigned_user_id",
    "created_at": "createdtime",
    "updated_at": "modifiedtime",
    "created_by": "created_user_id",
    "updated_by": "modifiedby",
    "number": "record_no",
    "description": "description",
}

CUSTOM_TYPES: dict[str, str] = {
    FieldType.TEXT: "string",
    FieldType.TEXTAREA: "text",
    FieldType.INTEGER: "integer",
    FieldType.DECIMAL: "double",
    FieldType.CURRENCY: "currency",
    FieldType.PERCENT: "double",
    FieldType.DATE: "date",
    FieldType.DATETIME: "datetime",
    FieldType.CHECKBOX: "boolean",
    FieldType.EMAIL: "email",
    FieldType.PHONE: "phone",
    FieldType.URL: "url",
    FieldType.PICKLIST: "picklist",
    FieldType.MULTIPICKLIST: "multipicklist",
    FieldType.MEMBER: "owner",
    FieldType.RECORD: "reference",
}
NUMERIC_TYPES = {"integer", "double", "currency"}


@dataclass
class WsField:
    """One field of a module as the webservice shows it."""

    name: str  # vtiger name
    label: str
    type: str  # vtiger type name: string, text, integer, double, currency, date, datetime, boolean, ...
    attr: str  # model field name, or the custom field key when `custom`
    custom: bool = False
    mandatory: bool = False
    editable: bool = True
    nullable: bool = True
    refers_to: list[str] = field(default_factory=list)  # vtiger module names (references)
    target: str = ""  # module key of a record reference
    picklist: str = ""  # picklist name (standard picklist fields)
    choices: list[tuple[str, str]] = field(default_factory=list)  # (value, label)
    model_field: Any = None
    custom_field: CustomField | None = None
    default: Any = ""

    @property
    def orm(self) -> str:
        """The ORM path the query compiler filters on (custom fields are annotated by the compiler)."""
        if self.custom:
            return f"custom_data__{self.attr}"
        if self.model_field is not None and isinstance(self.model_field, models.ForeignKey):
            return self.model_field.attname
        return self.attr


@dataclass
class WsModule:
    name: str
    prefix: int
    label: str
    singular: str
    spec: ModuleSpec | None  # None: Users
    fields: dict[str, WsField]
    label_fields: list[str]

    @property
    def key(self) -> str:
        return self.spec.key if self.spec else USERS


class UnknownModule(LookupError):
    pass


def vtiger_name(spec: ModuleSpec) -> str:
    """The module's vtiger name: declared, else generated from its key ("equipment" -> "Equipment")."""
    if spec.vtiger_module:
        return spec.vtiger_module
    return "".join(part.capitalize() for part in re.split(r"[_\W]+", spec.key) if part) or spec.key


def _names() -> dict[str, ModuleSpec]:
    found: dict[str, ModuleSpec] = {}
    for spec in registry.all_specs():
        name = vtiger_name(spec)
        if name in found or name in (USERS, GROUPS):
            name = f"{name}_{spec.key}"
        found[name] = spec
    return found


def module_names() -> dict[str, ModuleSpec]:
    """vtiger module name -> spec, for every module of the tenant (built-in and custom)."""
    return metadata.memoised(("vtiger-names",), _names)


def name_of(spec: ModuleSpec) -> str:
    for name, candidate in module_names().items():
        if candidate.key == spec.key:
            return name
    return vtiger_name(spec)


def prefix_of(spec: ModuleSpec) -> int:
    """The module's id prefix: vtiger's standard one for its vtiger name, else one given once."""
    name = name_of(spec)
    if name in STANDARD_IDS:
        return STANDARD_IDS[name]
    return _generated_prefixes().get(spec.key) or _prefix_assign(spec.key)


def _generated_prefixes() -> dict[str, int]:
    return metadata.memoised(("vtiger-prefixes",), lambda: dict(ModuleId.objects.values_list("module_key", "prefix")))


def _prefix_assign(key: str) -> int:
    for _attempt in range(5):
        try:
            with transaction.atomic():
                found = ModuleId.objects.filter(module_key=key).first()
                if found is not None:
                    return found.prefix
                top = ModuleId.objects.aggregate(top=Max("prefix"))["top"] or FIRST_GENERATED_PREFIX - 1
                created = ModuleId.objects.create(module_key=key, prefix=top + 1).prefix
                metadata.metadata_changed()
                return created
        except IntegrityError:
            continue
    raise RuntimeError("could not assign a module id")  # pragma: no cover


def spec_for_prefix(prefix: int) -> ModuleSpec | None:
    for spec in module_names().values():
        if prefix_of(spec) == prefix:
            return spec
    return None


def _model_type(spec: ModuleSpec, f: Any) -> tuple[str, list[str], str]:
    """(vtiger type, refersTo, target module key) of a model field."""
    if isinstance(f, models.ForeignKey):
        target = f.remote_field.model
        if target is Member:
            return "owner", [USERS], ""
        if target is Group:
            return "owner", [GROUPS], ""
        try:
            target_spec = registry.spec_for_model(target)
        except registry.UnknownModule:
            return "picklist", [], ""  # pipelines, stages, folders: named values
        return "reference", [name_of(target_spec)], target_spec.key
    if f.name in spec.picklists or f.choices:
        return "picklist", [], ""
    if isinstance(f, models.EmailField):
        return "email", [], ""
    if isinstance(f, models.URLField):
        return "url", [], ""
    if isinstance(f, models.TextField):
        return "text", [], ""
    if isinstance(f, models.BooleanField):
        return "boolean", [], ""
    if isinstance(f, models.DateTimeField):
        return "datetime", [], ""
    if isinstance(f, models.DateField):
        return "date", [], ""
    if isinstance(f, models.TimeField):
        return "time", [], ""
    if isinstance(f, models.DecimalField):
        return "currency" if f.decimal_places == 2 else "double", [], ""
    if isinstance(f, models.FloatField):
        return "double", [], ""
    if isinstance(f, models.IntegerField):
        return "integer", [], ""
    if isinstance(f, models.CharField) and ("phone" in f.name or f.name in ("mobile", "fax")):
        return "phone", [], ""
    return "string", [], ""


def _choices(spec: ModuleSpec, f: Any, picklist: str) -> list[tuple[str, str]]:
    if picklist:
        return [(v.value, v.label) for v in metadata.picklist_values(picklist)]
    if getattr(f, "choices", None):
        return [(str(v), str(label)) for v, label in f.choices]
    if isinstance(f, models.ForeignKey):
        target: Any = f.remote_field.model
        if target not in (Member, Group) and hasattr(target, "name"):
            return [(str(o), str(o)) for o in target.objects.order_by("pk")[:200]]
    return []


def _build(spec: ModuleSpec) -> WsModule:
    names = {**COMMON_NAMES, **spec.vtiger_fields}
    out: dict[str, WsField] = {}
    mandatory = metadata.layout_mandatory(spec)

    def add(attr: str, *, editable: bool = True) -> None:
        f: Any = spec.model._meta.get_field(attr)
        kind, refers, target = _model_type(spec, f)
        picklist = spec.picklists.get(attr, "")
        required = (not getattr(f, "blank", True) and not f.has_default()) or attr in mandatory
        name = names.get(attr, attr)
        out[name] = WsField(
            name=name,
            label=str(getattr(f, "verbose_name", attr)).capitalize(),
            type=kind,
            attr=attr,
            mandatory=bool(required and editable),
            editable=editable,
            nullable=bool(getattr(f, "null", False) or getattr(f, "blank", False)),
            refers_to=refers,
            target=target,
            picklist=picklist,
            model_field=f,
            default=f.get_default() if f.has_default() and not callable(f.default) else "",
        )

    for attr in spec.form_fields:
        if attr in ("owner", "owner_group"):
            continue
        add(attr)
    out["assigned_user_id"] = WsField(
        name=names["owner"],
        label="Assigned To",
        type="owner",
        attr="owner",
        mandatory=False,
        refers_to=[USERS, GROUPS],
        model_field=spec.model._meta.get_field("owner"),
    )
    for attr in ("number", "created_at", "updated_at", "created_by", "updated_by"):
        add(attr, editable=False)
    for cf in metadata.custom_fields(spec.key):
        kind = CUSTOM_TYPES.get(cf.type, "string")
        target = str(cf.options.get("target", "")) if cf.type == FieldType.RECORD else ""
        refers: list[str] = [USERS] if cf.type == FieldType.MEMBER else []
        if target:
            try:
                refers = [name_of(registry.get(target))]
            except registry.UnknownModule:
                refers = []
        name = f"cf_{cf.key}"
        out[name] = WsField(
            name=name,
            label=cf.label,
            type=kind,
            attr=cf.key,
            custom=True,
            mandatory=cf.required or f"custom.{cf.key}" in mandatory,
            refers_to=refers,
            target=target,
            custom_field=cf,
            default=cf.default if cf.default is not None else "",
        )
    label_fields = [names.get(a, a) for a in spec.title_fields]
    return WsModule(
        name=name_of(spec),
        prefix=prefix_of(spec),
        label=str(spec.label_plural),
        singular=str(spec.label),
        spec=spec,
        fields=out,
        label_fields=label_fields,
    )


USER_FIELDS = (
    ("user_name", "User Name", "string"),
    ("email1", "Email", "email"),
    ("first_name", "First Name", "string"),
    ("last_name", "Last Name", "string"),
    ("status", "Status", "picklist"),
    ("is_admin", "Admin", "boolean"),
    ("language", "Language", "string"),
    ("time_zone", "Time Zone", "string"),
    ("roleid", "Role", "string"),
)
USER_ORM = {
    "user_name": "user__email",
    "email1": "user__email",
    "first_name": "user__name",
    "last_name": "user__name",
    "status": "active",
    "is_admin": "is_admin",
    "language": "language",
    "time_zone": "timezone",
    "roleid": "role__name",
}


def users_module() -> WsModule:
    fields = {
        name: WsField(name=name, label=label, type=kind, attr=USER_ORM[name], editable=False)
        for name, label, kind in USER_FIELDS
    }
    fields["status"].choices = [("Active", "Active"), ("Inactive", "Inactive")]
    return WsModule(
        name=USERS,
        prefix=STANDARD_IDS[USERS],
        label="Users",
        singular="User",
        spec=None,
        fields=fields,
        label_fields=["first_name", "last_name"],
    )


GROUP_FIELDS = (
    ("groupname", "Group Name", "string"),
    ("description", "Description", "text"),
)
GROUP_ORM = {"groupname": "name", "description": "description"}


def groups_module() -> WsModule:
    """vtiger's Groups: read-only here (groups are edited in Settings › Access), queryable so that an
    integration, or a migration from this workspace, can resolve the group ids records are owned by."""
    fields = {
        name: WsField(name=name, label=label, type=kind, attr=GROUP_ORM[name], editable=False)
        for name, label, kind in GROUP_FIELDS
    }
    return WsModule(
        name=GROUPS,
        prefix=STANDARD_IDS[GROUPS],
        label="Groups",
        singular="Group",
        spec=None,
        fields=fields,
        label_fields=["groupname"],
    )


def module(name: str) -> WsModule:
    """The webservice module of this vtiger name; UnknownModule when there is none."""
    if name == USERS:
        return users_module()
    if name == GROUPS:
        return groups_module()
    spec = module_names().get(str(name))
    if spec is None:
        raise UnknownModule(name)
    return metadata.memoised(("vtiger-module", spec.key), lambda: _build(spec))


def module_for_spec(spec: ModuleSpec) -> WsModule:
    return module(name_of(spec))


def visible_fields(ws: WsModule, rules: FieldRules) -> dict[str, WsField]:
    """The fields the member may see (field rules name standard fields by attribute, custom ones
    `custom.<key>`)."""
    if not rules.hidden:
        return ws.fields
    return {n: f for n, f in ws.fields.items() if rules.shows(f"custom.{f.attr}" if f.custom else f.attr)}


def field_picklist_values(f: WsField) -> list[dict[str, str]]:
    values = _choices_for(f)
    return [{"label": label, "value": value} for value, label in values]


def _choices_for(f: WsField) -> list[tuple[str, str]]:
    if f.choices:
        return f.choices
    if f.custom_field is not None:
        if f.custom_field.type in (FieldType.PICKLIST, FieldType.MULTIPICKLIST):
            return [(v.value, v.label) for v in metadata.picklist_values(f.custom_field.picklist_name)]
        return []
    if f.model_field is None:
        return []
    return _choices(None, f.model_field, f.picklist)  # type: ignore[arg-type]
