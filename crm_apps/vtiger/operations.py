"""The webservice operations, shared by `/webservice.php` and the REST flavour. Each takes the signed-in
member and the request's parameters and returns vtiger's `result`, or raises WsError. Reads go through
the engine's selectors and the access layer's visibility filter, writes through the engine's services
(validation, rights, field rules, audit, timeline), lead conversion through the leads module's service."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.entitlements import PlanLimitReached
from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import registry, selectors
from crm_apps.engine.fieldaccess import FieldRules, field_rules
from crm_apps.engine.models import Comment
from crm_apps.engine.services import comment_add, record_create, record_delete, record_update
from crm_apps.engine.spec import ModuleSpec, Related
from crm_apps.vtiger import catalog, errors, ids
from crm_apps.vtiger.catalog import GROUPS, USERS, WsModule
from crm_apps.vtiger.errors import WsError
from crm_apps.vtiger.query import Compiler, group_queryset, member_queryset
from crm_apps.vtiger.records import (
    deserialize,
    emptied,
    member_id,
    serialize,
    serialize_group,
    serialize_member,
    validation_error,
)
from crm_apps.vtiger.vtql import ROW_CAP, VtqlSyntaxError, parse

API_VERSION = "0.22"
VTIGER_VERSION = "7.5.0"
COMMENTS = "ModComments"
DOCUMENTS = "documents"
SYNC_PAGE = 100

Params = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# Helpers


def _param(params: Params, name: str, *, required: bool = True) -> Any:
    value = params.get(name)
    if required and value in (None, ""):
        raise WsError(errors.MANDATORY_FIELDS_MISSING, _("“%(name)s” is required.") % {"name": name})
    return value


def _json_object(params: Params, name: str) -> dict[str, Any]:
    raw = _param(params, name)
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw)
    except (TypeError, ValueError) as exc:
        raise WsError(
            errors.INVALID_ID_ATTRIBUTE if name == "id" else errors.FAILED_TO_UPDATE,
            _("“%(name)s” is not valid JSON.") % {"name": name},
        ) from exc
    if not isinstance(value, dict):
        raise WsError(errors.FAILED_TO_UPDATE, _("“%(name)s” must be a JSON object.") % {"name": name})
    return value


def _module(member: Member, name: Any) -> WsModule:
    """The module of this vtiger name if the member may use it: INVALID_MODULE / ACCESS_DENIED."""
    try:
        ws = catalog.module(str(name or ""))
    except catalog.UnknownModule as exc:
        raise WsError(errors.INVALID_MODULE, _("“%(name)s” is not a module here.") % {"name": name}) from exc
    if ws.spec is not None and not visibility.can_view_module(actor=member, spec=ws.spec):
        raise WsError(errors.ACCESS_DENIED, _("Permission to read %(module)s is denied.") % {"module": ws.name})
    return ws


def _record(member: Member, value: Any) -> tuple[WsModule, Any]:
    """The live record a vtiger id names, if the member may see it; RECORD_NOT_FOUND for missing and
    forbidden alike."""
    parsed = ids.parse(value)
    if parsed is None:
        raise WsError(errors.INVALID_ID_ATTRIBUTE, _("“%(id)s” is not a record id.") % {"id": value})
    spec = catalog.spec_for_prefix(parsed[0])
    if spec is None:
        raise WsError(errors.INVALID_ID_ATTRIBUTE, _("“%(id)s” is not a record id.") % {"id": value})
    ws = catalog.module_for_spec(spec)
    found = ids.records_for(spec.key, [parsed[1]]).get(parsed[1])
    record = selectors.access_record(spec=spec, actor=member, record_id=found) if found else None
    if record is None:
        raise WsError(errors.RECORD_NOT_FOUND, _("Record %(id)s not found.") % {"id": value})
    return ws, record


def _one(ws: WsModule, member: Member, record: Any) -> dict[str, str]:
    assert ws.spec is not None
    return serialize(ws, [record], field_rules(actor=member, spec=ws.spec))[0]


def _write(ws: WsModule, code: str, fn: Callable[[], Any]) -> Any:
    """Run an engine write; its refusals as vtiger errors (nothing is written on any of them)."""
    try:
        with transaction.atomic():
            return fn()
    except WsError:
        raise
    except PlanLimitReached as exc:
        raise WsError(errors.LIMIT_EXCEEDED, " ".join(exc.messages)) from exc
    except visibility.FieldPermissionDenied as exc:
        raise WsError(
            errors.ACCESS_DENIED, _("You may not change: %(fields)s.") % {"fields": ", ".join(exc.fields)}
        ) from exc
    except PermissionDenied as exc:
        raise WsError(errors.ACCESS_DENIED, _("Permission to perform the operation is denied.")) from exc
    except ValidationError as exc:
        raise validation_error(ws, exc, code) from exc


# ---------------------------------------------------------------------------------------------
# Session-free information


def login_result(member: Member, session_name: str) -> dict[str, Any]:
    name = (member.user.name or "").strip()
    first, _sep, last = name.rpartition(" ")
    return {
        "sessionName": session_name,
        "userId": member_id(member.pk),
        "version": API_VERSION,
        "vtigerVersion": VTIGER_VERSION,
        "first_name": first,
        "last_name": last or name,
        "email": member.user.email,
        "time_zone": member.timezone,
        "hour_format": "24",
        "date_format": "yyyy-mm-dd",
        "is_admin": "on" if member.is_admin else "off",
    }


def me(member: Member, params: Params) -> dict[str, Any]:
    return serialize_member(member)


# ---------------------------------------------------------------------------------------------
# Metadata


def _specs(member: Member) -> list[ModuleSpec]:
    return [s for s in catalog.module_names().values() if visibility.can_view_module(actor=member, spec=s)]


def listtypes(member: Member, params: Params) -> dict[str, Any]:
    wanted: set[str] | None = None
    raw = params.get("fieldTypeList")
    if raw not in (None, "", "null"):
        try:
            value = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError as exc:
            raise WsError(errors.FAILED_TO_UPDATE, _("“fieldTypeList” is not valid JSON.")) from exc
        if value is not None:
            wanted = {str(v) for v in (value if isinstance(value, list) else [value])}
    types: list[str] = []
    information: dict[str, Any] = {}
    for spec in _specs(member):
        ws = catalog.module_for_spec(spec)
        if wanted is not None and not wanted & {f.type for f in ws.fields.values()}:
            continue
        types.append(ws.name)
        information[ws.name] = {"isEntity": True, "label": ws.label, "singular": ws.singular}
    if wanted is None:
        extra = ((USERS, "Users", "User"), (GROUPS, "Groups", "Group"), (COMMENTS, "Comments", "Comment"))
        for name, label, singular in extra:
            types.append(name)
            information[name] = {"isEntity": name not in (USERS, GROUPS), "label": label, "singular": singular}
    return {"types": types, "information": information}


def describe(member: Member, params: Params) -> dict[str, Any]:
    name = _param(params, "elementType")
    if name == COMMENTS:
        return _comments_describe()
    ws = _module(member, name)
    spec = ws.spec
    rules = field_rules(actor=member, spec=spec) if spec else None
    fields = catalog.visible_fields(ws, rules) if rules else ws.fields
    out = [
        {
            "name": "id",
            "label": "id",
            "mandatory": False,
            "type": {"name": "autogenerated"},
            "nullable": False,
            "editable": False,
            "default": "",
        }
    ]
    for f in fields.values():
        type_info: dict[str, Any] = {"name": f.type}
        if f.refers_to:
            type_info["refersTo"] = f.refers_to
        if f.type in ("picklist", "multipicklist"):
            type_info["picklistValues"] = catalog.field_picklist_values(f)
            type_info["defaultValue"] = type_info["picklistValues"][0]["value"] if type_info["picklistValues"] else ""
        if f.type == "date":
            type_info["format"] = "yyyy-mm-dd"
        editable = f.editable and (rules is None or rules.editable(f"custom.{f.attr}" if f.custom else f.attr))
        out.append(
            {
                "name": f.name,
                "label": f.label,
                "mandatory": f.mandatory,
                "type": type_info,
                "isunique": f.name == "record_no",
                "nullable": f.nullable,
                "editable": editable,
                "default": "" if f.default is None else str(f.default),
            }
        )
    can_create = spec is not None and visibility.can_create(actor=member, spec=spec)
    return {
        "label": ws.label,
        "name": ws.name,
        "createable": can_create,
        "updateable": can_create or (spec is not None and visibility.can_view_module(actor=member, spec=spec)),
        "deleteable": spec is not None,
        "retrieveable": True,
        "fields": out,
        "idPrefix": str(ws.prefix),
        "isEntity": spec is not None,
        "allowDuplicates": True,
        "labelFields": ",".join(ws.label_fields),
    }


# ---------------------------------------------------------------------------------------------
# Records


def create(member: Member, params: Params) -> dict[str, Any]:
    name = _param(params, "elementType")
    element = _json_object(params, "element")
    if name == COMMENTS:
        return _comment_create(member, element)
    ws = _module(member, name)
    if ws.spec is None:
        raise WsError(errors.OPERATION_NOT_SUPPORTED, _("Users are invited from the workspace settings."))
    spec = ws.spec
    rules = field_rules(actor=member, spec=spec)

    def run() -> Any:
        data, custom = deserialize(ws, element, rules)
        record = record_create(spec=spec, actor=member, data=data, custom=custom)
        return _one(ws, member, record)  # its crmid is given in the same transaction (one commit)

    return dict(_write(ws, errors.FAILED_TO_CREATE, run))


def retrieve(member: Member, params: Params) -> dict[str, Any]:
    value = _param(params, "id")
    parsed = ids.parse(value)
    if parsed is not None and parsed[0] == catalog.STANDARD_IDS[USERS]:
        found = member_queryset().filter(pk=parsed[1]).first()
        if found is None:
            raise WsError(errors.RECORD_NOT_FOUND, _("Record %(id)s not found.") % {"id": value})
        return serialize_member(found)
    if parsed is not None and parsed[0] == catalog.STANDARD_IDS[GROUPS]:
        group = group_queryset().filter(pk=parsed[1]).first()
        if group is None:
            raise WsError(errors.RECORD_NOT_FOUND, _("Record %(id)s not found.") % {"id": value})
        return serialize_group(group)
    if parsed is not None and parsed[0] == catalog.STANDARD_IDS[COMMENTS]:
        return _comment_get(member, parsed[1])
    ws, record = _record(member, value)
    return _one(ws, member, record)


def _update(member: Member, params: Params, *, full: bool) -> dict[str, Any]:
    element = _json_object(params, "element")
    ws, record = _record(member, element.get("id"))
    spec = ws.spec
    assert spec is not None
    rules = field_rules(actor=member, spec=spec)

    def run() -> Any:
        data, custom = deserialize(ws, element, rules)
        if full:
            empty_data, empty_custom = emptied(ws, element, rules)
            data = {**empty_data, **data}
            custom = {**empty_custom, **custom}
        updated = record_update(spec=spec, actor=member, record=record, data=data, custom=custom or None)
        return _one(ws, member, updated)

    return dict(_write(ws, errors.FAILED_TO_UPDATE, run))


def update(member: Member, params: Params) -> dict[str, Any]:
    return _update(member, params, full=True)


def revise(member: Member, params: Params) -> dict[str, Any]:
    return _update(member, params, full=False)


def delete(member: Member, params: Params) -> dict[str, Any]:
    value = _param(params, "id")
    ws, record = _record(member, value)
    assert ws.spec is not None
    spec = ws.spec
    _write(ws, errors.ACCESS_DENIED, lambda: record_delete(spec=spec, actor=member, record=record))
    return {"status": "successful"}


# ---------------------------------------------------------------------------------------------
# Queries


def _parsed(text: Any) -> Any:
    try:
        return parse(str(text or ""))
    except VtqlSyntaxError as exc:
        raise WsError(errors.QUERY_SYNTAX_ERROR, str(exc)) from exc


def _run(member: Member, query: Any, extra: Any = None) -> Any:
    ws = _module(member, query.module)
    if ws.spec is None:
        compiler = Compiler(ws, FieldRules())
        queryset = group_queryset() if ws.name == GROUPS else member_queryset()
    else:
        compiler = Compiler(ws, field_rules(actor=member, spec=ws.spec))
        queryset = selectors._base(ws.spec, member)
    columns = compiler.columns(query)
    queryset = compiler.apply(queryset, query)
    if extra is not None:
        queryset = queryset.filter(extra)
    if query.count:
        return [{"count": str(queryset.order_by().count())}]
    rows = list(queryset[query.offset : query.offset + min(query.limit, ROW_CAP)])
    if ws.spec is None:
        out = [serialize_group(g) if ws.name == GROUPS else serialize_member(g) for g in rows]
        if columns is not None:
            out = [{k: v for k, v in row.items() if k in columns or k == "id"} for row in out]
        return out
    return serialize(ws, rows, field_rules(actor=member, spec=ws.spec), columns)


def query(member: Member, params: Params) -> list[dict[str, str]]:
    return _run(member, _parsed(_param(params, "query")))


def sync(member: Member, params: Params) -> dict[str, Any]:
    """Records changed and deleted since `modifiedTime` (Unix seconds), oldest first, 100 per call."""
    try:
        since = int(float(str(_param(params, "modifiedTime", required=False) or 0)))
    except ValueError as exc:
        raise WsError(errors.FAILED_TO_UPDATE, _("“modifiedTime” is not a Unix time.")) from exc
    since = max(since, 0)
    sync_type = str(params.get("syncType") or "application")
    if sync_type not in ("user", "userandgroup", "application"):
        raise WsError(errors.FAILED_TO_UPDATE, _("“syncType” is user, userandgroup or application."))
    if sync_type == "application" and not member.is_admin and params.get("syncType"):
        raise WsError(errors.ACCESS_DENIED, _("Only administrators may sync the whole application."))
    ws = _module(member, _param(params, "elementType"))
    if ws.spec is None:
        raise WsError(errors.OPERATION_NOT_SUPPORTED, _("Users cannot be synced."))
    spec = ws.spec
    moment = dt.datetime.fromtimestamp(since, tz=dt.UTC)
    live = selectors._base(spec, member).filter(updated_at__gt=moment)
    gone = selectors._base(spec, member, deleted=True).filter(deleted_at__gt=moment)
    if sync_type == "user":
        live, gone = live.filter(owner=member), gone.filter(owner=member)
    elif sync_type == "userandgroup":
        groups = list(member.groups.values_list("pk", flat=True))
        live = live.filter(owner=member) | live.filter(owner_group__in=groups)
        gone = gone.filter(owner=member) | gone.filter(owner_group__in=groups)
    updated = list(live.order_by("updated_at", "pk")[: SYNC_PAGE + 1])
    more = len(updated) > SYNC_PAGE
    updated = updated[:SYNC_PAGE]
    deleted = list(gone.order_by("deleted_at", "pk").values_list("pk", "deleted_at")[:SYNC_PAGE])
    last = since
    if updated:
        last = max(last, int(updated[-1].updated_at.timestamp()))
    if deleted and not more:
        last = max(last, int(deleted[-1][1].timestamp()))
    crm = ids.crmids_for(spec.key, [pk for pk, _at in deleted])
    return {
        "updated": serialize(ws, updated, field_rules(actor=member, spec=spec)),
        "deleted": [f"{ws.prefix}x{crm[pk]}" for pk, _at in deleted],
        "lastModifiedTime": last,
        "more": more,
    }


# ---------------------------------------------------------------------------------------------
# Lead conversion


def convertlead(member: Member, params: Params) -> dict[str, Any]:
    """vtiger's `convertlead` over `lead_convert`: Accounts (reused when one has the company's name) and
    Contacts are always made (this CRM's conversion needs both), Potentials when asked; the entities'
    extra fields fill the new deal."""
    from crm_apps.modules.leads.services import lead_convert

    element = _json_object(params, "element")
    ws, lead = _record(member, element.get("leadId"))
    if ws.spec is None or ws.spec.key != "leads":
        raise WsError(errors.INVALID_ID_ATTRIBUTE, _("“leadId” is not a lead."))
    if lead.converted:
        raise WsError(errors.LEAD_ALREADY_CONVERTED, _("This lead has already been converted."))
    entities = element.get("entities") or {}
    if not isinstance(entities, dict):
        raise WsError(errors.FAILED_TO_UPDATE, _("“entities” must be an object."))
    potential = entities.get("Potentials") or {}
    create_deal = bool(isinstance(potential, dict) and potential.get("create") not in (False, 0, "0", "false", None))
    deal_data: dict[str, Any] | None = None
    deals_ws = catalog.module_for_spec(registry.get("deals"))
    if create_deal:
        extra = {k: v for k, v in potential.items() if k not in ("create", "name")}
        deal_data, _custom = deserialize(deals_ws, extra, field_rules(actor=member, spec=registry.get("deals")))
    owner = None
    assigned = element.get("assignedTo")
    if assigned:
        parsed = ids.parse(assigned)
        if parsed is None or parsed[0] != catalog.STANDARD_IDS[USERS]:
            raise WsError(errors.REFERENCE_INVALID, _("“assignedTo” is not a user id."))
        owner = parsed[1]
    try:
        with transaction.atomic():
            result = lead_convert(actor=member, lead=lead, create_deal=create_deal, deal=deal_data, owner_id=owner)
    except PermissionDenied as exc:
        raise WsError(errors.ACCESS_DENIED, _("Permission to convert this lead is denied.")) from exc
    except ValidationError as exc:
        if _("This lead has already been converted.") in exc.messages:
            raise WsError(errors.LEAD_ALREADY_CONVERTED, " ".join(exc.messages)) from exc
        raise validation_error(deals_ws, exc, errors.FAILED_TO_CREATE) from exc
    out: dict[str, str] = {"leadId": str(element.get("leadId"))}
    for name, key, record in (
        ("Accounts", "organizations", result.organization),
        ("Contacts", "contacts", result.contact),
        ("Potentials", "deals", result.deal),
    ):
        if record is not None:
            prefix = catalog.prefix_of(registry.get(key))
            out[name] = f"{prefix}x{ids.crmid_for(key, record.pk)}"
    return out


# ---------------------------------------------------------------------------------------------
# Relations


def _relations(spec: ModuleSpec) -> dict[str, Related]:
    """relation label -> related list: the related module's vtiger name (with the field when one module is
    related twice)."""
    out: dict[str, Related] = {}
    for related in spec.related:
        try:
            target = registry.get(related.module)
        except registry.UnknownModule:
            continue
        label = catalog.name_of(target)
        if label in out:
            label = f"{label}_{related.via}"
        out[label] = related
    return out


def relatedtypes(member: Member, params: Params) -> dict[str, Any]:
    ws = _module(member, _param(params, "elementType"))
    if ws.spec is None:
        return {"types": [], "information": {}}
    types: list[str] = []
    information: dict[str, Any] = {}
    for label, related in _relations(ws.spec).items():
        target = registry.get(related.module)
        if not visibility.can_view_module(actor=member, spec=target):
            continue
        name = catalog.name_of(target)
        types.append(name)
        information[label] = {
            "name": name,
            "label": label,
            "translated_label": str(related.label or target.label_plural),
            "relation_id": f"{ws.spec.key}.{related.module}.{related.via}",
            "actions": "ADD,SELECT",
        }
    types.append(COMMENTS)
    information[COMMENTS] = {
        "name": COMMENTS,
        "label": COMMENTS,
        "translated_label": "Comments",
        "relation_id": "comments",
        "actions": "ADD",
    }
    return {"types": types, "information": information}


def _relation(member: Member, ws: WsModule, label: Any) -> tuple[Related, WsModule]:
    assert ws.spec is not None
    related = _relations(ws.spec).get(str(label or ""))
    if related is None:
        raise WsError(
            errors.INVALID_MODULE,
            _("%(module)s has no related list “%(label)s”.") % {"module": ws.name, "label": label},
        )
    target_ws = _module(member, catalog.name_of(registry.get(related.module)))
    return related, target_ws


def retrieve_related(member: Member, params: Params) -> list[dict[str, str]]:
    ws, record = _record(member, _param(params, "id"))
    label = params.get("relatedLabel") or params.get("relatedType")
    if label == COMMENTS:
        return _comments_of(member, ws, record)
    related, target_ws = _relation(member, ws, label)
    assert target_ws.spec is not None
    rows = list(
        selectors._base(target_ws.spec, member)
        .filter(**{related.via: record.pk})
        .order_by("-created_at", "-pk")[:ROW_CAP]
    )
    return serialize(target_ws, rows, field_rules(actor=member, spec=target_ws.spec))


def query_related(member: Member, params: Params) -> list[dict[str, str]]:
    ws, record = _record(member, _param(params, "id"))
    related, target_ws = _relation(member, ws, params.get("relatedLabel"))
    parsed = _parsed(_param(params, "query"))
    if parsed.module != target_ws.name:
        raise WsError(
            errors.QUERY_SYNTAX_ERROR, _("The query must select from %(module)s.") % {"module": target_ws.name}
        )
    from django.db.models import Q

    return _run(member, parsed, Q(**{related.via: record.pk}))


def add_related(member: Member, params: Params) -> dict[str, Any]:
    """Relate two records: the related record's reference field points at the source record
    (`record_update`, so the member must be allowed to edit it)."""
    ws, source = _record(member, _param(params, "sourceRecordId"))
    target_ws, target = _record(member, _param(params, "relatedRecordId"))
    assert ws.spec is not None and target_ws.spec is not None
    label = params.get("relationIdLabel") or target_ws.name
    related = _relations(ws.spec).get(str(label))
    if related is None or related.module != target_ws.spec.key:
        candidates = [r for r in _relations(ws.spec).values() if r.module == target_ws.spec.key]
        if not candidates:
            raise WsError(
                errors.FAILED_TO_CREATE_RELATION,
                _("%(a)s and %(b)s cannot be related.") % {"a": ws.name, "b": target_ws.name},
            )
        related = candidates[0]
    spec = target_ws.spec
    _write(
        target_ws,
        errors.FAILED_TO_CREATE_RELATION,
        lambda: record_update(spec=spec, actor=member, record=target, data={related.via: source.pk}),
    )
    return {"message": "successfull"}  # sic: vtiger's answer


# ---------------------------------------------------------------------------------------------
# Comments (ModComments): the engine's comments on any record


def _comment_element(comment: Comment, related_to: str) -> dict[str, str]:
    return {
        "id": f"{catalog.STANDARD_IDS[COMMENTS]}x{comment.pk}",
        "commentcontent": comment.body,
        "related_to": related_to,
        "assigned_user_id": member_id(comment.author_id),
        "creator": member_id(comment.author_id),
        "createdtime": timezone.localtime(comment.created_at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "modifiedtime": timezone.localtime(comment.created_at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
    }


def _comments_of(member: Member, ws: WsModule, record: Any) -> list[dict[str, str]]:
    assert ws.spec is not None
    own = f"{ws.prefix}x{ids.crmid_for(ws.spec.key, record.pk)}"
    rows = Comment.objects.filter(module=ws.spec.key, record_id=record.pk).order_by("created_at", "pk")[:ROW_CAP]
    return [_comment_element(c, own) for c in rows]


def _comment_get(member: Member, number: int) -> dict[str, str]:
    comment = Comment.objects.filter(pk=number).first()
    if comment is not None:
        try:
            spec = registry.get(comment.module)
        except registry.UnknownModule:
            spec = None
        record = selectors.access_record(spec=spec, actor=member, record_id=comment.record_id) if spec else None
        if record is not None:
            ws = catalog.module_for_spec(spec)  # type: ignore[arg-type]
            return _comment_element(comment, f"{ws.prefix}x{ids.crmid_for(spec.key, record.pk)}")  # type: ignore[union-attr]
    raise WsError(errors.RECORD_NOT_FOUND, _("Record not found."))


def _comment_create(member: Member, element: dict[str, Any]) -> dict[str, str]:
    ws, record = _record(member, element.get("related_to"))
    assert ws.spec is not None
    spec = ws.spec
    comment = _write(
        ws,
        errors.FAILED_TO_CREATE,
        lambda: comment_add(spec=spec, actor=member, record=record, body=str(element.get("commentcontent") or "")),
    )
    return _comment_element(comment, f"{ws.prefix}x{ids.crmid_for(spec.key, record.pk)}")


def _comments_describe() -> dict[str, Any]:
    def field(name: str, label: str, kind: str, mandatory: bool, **extra: Any) -> dict[str, Any]:
        return {
            "name": name,
            "label": label,
            "mandatory": mandatory,
            "type": {"name": kind, **extra},
            "nullable": not mandatory,
            "editable": True,
            "default": "",
        }

    return {
        "label": "Comments",
        "name": COMMENTS,
        "createable": True,
        "updateable": False,
        "deleteable": False,
        "retrieveable": True,
        "fields": [
            field("commentcontent", "Comment", "text", True),
            field(
                "related_to",
                "Related To",
                "reference",
                True,
                refersTo=[catalog.name_of(s) for s in catalog.module_names().values()],
            ),
            field("assigned_user_id", "Assigned To", "owner", False),
        ],
        "idPrefix": str(catalog.STANDARD_IDS[COMMENTS]),
        "isEntity": True,
        "labelFields": "commentcontent",
    }


# ---------------------------------------------------------------------------------------------
# Document files: vtiger 7.3+'s files_retrieve and coreBOS/berliCRM's retrievedocattachment


def _document(member: Member, value: Any) -> tuple[WsModule, Any]:
    """A document the member may see (RECORD_NOT_FOUND otherwise); INVALID_ID_ATTRIBUTE for another module."""
    ws, record = _record(member, value)
    if ws.spec is None or ws.spec.key != DOCUMENTS:
        raise WsError(errors.INVALID_ID_ATTRIBUTE, _("“%(id)s” is not a document.") % {"id": value})
    return ws, record


def _stored(document: Any) -> Any:
    from crm_apps.modules.documents.models import DocumentVersion

    return DocumentVersion.objects.filter(document_id=document.pk).order_by("-number").first()


def _contents(version: Any) -> str:
    from crm_apps.modules.documents import files

    with files.open_stored(version.storage_name) as stream:
        return base64.b64encode(stream.read()).decode("ascii")


def files_retrieve(member: Member, params: Params) -> list[dict[str, Any]]:
    """The document's current file, base64 in `filecontents` (vtiger 7.3+'s answer shape). `id` is the
    document's own id: this CRM gives its files no ids of their own."""
    _ws, document = _document(member, _param(params, "id"))
    version = _stored(document)
    if version is None:
        return []
    return [
        {
            "fileid": str(version.pk),
            "filename": version.file_name,
            "filetype": version.content_type,
            "filesize": version.size,
            "filecontents": _contents(version),
        }
    ]


def retrievedocattachment(member: Member, params: Params) -> dict[str, dict[str, Any]]:
    """coreBOS's `retrievedocattachment`: for each document id of the comma-separated `id` (at most 100), its
    file's name, type, size and, when `returnfile` is 1, its base64 content in `attachment`."""
    from crm_apps.modules.documents.services import max_upload_bytes

    # Each id once (a repeated id would read and encode the same file again), at most ROW_CAP of them.
    wanted = list(dict.fromkeys(v.strip() for v in str(_param(params, "id")).split(",") if v.strip()))[:ROW_CAP]
    with_file = str(params.get("returnfile", "1")).strip().lower() in ("1", "true", "on", "yes")
    found = [(value, _stored(_document(member, value)[1])) for value in wanted]
    if with_file and sum(version.size for _v, version in found if version is not None) > max_upload_bytes():
        # One answer holds every file in memory (base64 inside JSON): never more than one upload's worth.
        raise WsError(
            errors.LIMIT_EXCEEDED,
            _("These files are too large to send in one answer: ask for fewer documents at a time."),
        )
    out: dict[str, dict[str, Any]] = {}
    for value, version in found:
        out[value] = {
            "recordid": value.partition("x")[2],
            "filetype": version.content_type if version else "",
            "filename": version.file_name if version else "",
            "filesize": version.size if version else 0,
            "attachment": _contents(version) if version is not None and with_file else "",
        }
    return out


OPERATIONS: dict[str, tuple[str, Callable[[Member, Params], Any]]] = {
    "listtypes": ("GET", listtypes),
    "describe": ("GET", describe),
    "create": ("POST", create),
    "retrieve": ("GET", retrieve),
    "update": ("POST", update),
    "revise": ("POST", revise),
    "delete": ("POST", delete),
    "query": ("GET", query),
    "sync": ("GET", sync),
    "convertlead": ("POST", convertlead),
    "relatedtypes": ("GET", relatedtypes),
    "retrieve_related": ("GET", retrieve_related),
    "query_related": ("GET", query_related),
    "add_related": ("POST", add_related),
    "me": ("GET", me),
    "files_retrieve": ("GET", files_retrieve),
    "retrievedocattachment": ("POST", retrievedocattachment),
}
