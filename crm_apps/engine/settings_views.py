"""Tenant-admin settings of every module: custom fields, picklists, layout, numbering. A module's own
settings screens (ModuleSpec.settings_pages, e.g. the lead conversion mapping) live in its package.

Views parse forms and call the engine's services; every rule (what a valid key is, which fields may be
hidden, which numbers are free) is enforced there, so the API and these pages cannot disagree.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_apps.access.decorators import admin_view
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.engine import metadata, registry
from crm_apps.engine.forms import model_required
from crm_apps.engine.models import CustomField, FieldType, NumberingSequence, Picklist, PicklistValue
from crm_apps.engine.services import (
    custom_field_create,
    custom_field_update,
    layout_replace,
    layout_save,
    numbering_update,
    picklist_value_add,
    picklist_value_update,
)
from crm_apps.engine.settings_forms import (
    PICKLIST_TYPES,
    CustomFieldCreateForm,
    CustomFieldUpdateForm,
    LayoutForm,
    NumberingForm,
    PicklistValueAddForm,
    PicklistValueForm,
    field_label,
)
from crm_apps.engine.spec import ModuleSpec
from frontend.forms import form_add_service_errors

View = Callable[..., HttpResponse]


def _spec(module: str) -> ModuleSpec:
    try:
        return registry.get(module)
    except registry.UnknownModule as exc:
        raise Http404 from exc


def _redirect(name: str, *args: Any, anchor: str = "") -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse(f"crm_settings:{name}", args=args) + (f"#{anchor}" if anchor else ""))


def _service_errors(form: forms.Form, exc: ValidationError, renames: dict[str, str] | None = None) -> None:
    """Service errors onto the form; `renames` maps a service argument to the form field that fed it."""
    if renames and hasattr(exc, "error_dict"):
        exc = ValidationError({renames.get(key, key): msgs for key, msgs in exc.message_dict.items()})
    form_add_service_errors(form, exc)


def _page(
    request: HttpRequest, template: str, spec: ModuleSpec | None, tab: str, context: dict[str, Any]
) -> HttpResponse:
    return render(
        request,
        f"engine/settings/{template}",
        {"spec": spec, "tab": tab, **context},
    )


# ---------------------------------------------------------------------------------------------
# Index


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def index(request: HttpRequest, actor: Member) -> HttpResponse:
    counts = dict(
        CustomField.objects.filter(archived_at__isnull=True)
        .values_list("module")
        .annotate(n=Count("id"))
        .values_list("module", "n")
    )
    modules = [{"spec": spec, "custom_fields": counts.get(spec.key, 0)} for spec in registry.all_specs()]
    return _page(request, "index.html", None, "index", {"modules": modules})


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def module_home(request: HttpRequest, actor: Member, module: str) -> HttpResponse:
    return _redirect("fields", _spec(module).key)


# ---------------------------------------------------------------------------------------------
# Custom fields


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def fields(request: HttpRequest, actor: Member, module: str) -> HttpResponse:
    spec = _spec(module)
    form = CustomFieldCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = custom_field_create(actor=actor, spec=spec, **form.service_kwargs())
        except ValidationError as exc:
            _service_errors(form, exc, {"options": "target"})
        else:
            messages.success(request, _("Field “%(label)s” added.") % {"label": created.label})
            return _redirect("fields", spec.key, anchor=f"field-{created.key}")
    labels = {other.key: other.label_plural for other in registry.all_specs()}
    rows = [
        {"field": custom, "target": labels.get(custom.options.get("target", ""), "")}
        for custom in metadata.custom_fields(spec.key, include_archived=True)
    ]
    context = {
        "form": form,
        "rows": rows,
        "picklist_types": PICKLIST_TYPES,
    }
    return _page(request, "fields.html", spec, "fields", context)


def _custom_field(spec: ModuleSpec, key: str) -> CustomField:
    found = CustomField.objects.filter(module=spec.key, key=key).first()
    if found is None:
        raise Http404
    return found


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def field_edit(request: HttpRequest, actor: Member, module: str, key: str) -> HttpResponse:
    spec = _spec(module)
    custom = _custom_field(spec, key)
    initial = {
        "label": custom.label,
        "required": custom.required,
        "help_text": custom.help_text,
        "position": custom.position,
    }
    form = CustomFieldUpdateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            custom_field_update(actor=actor, field=custom, **form.cleaned_data)
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, _("Field “%(label)s” saved.") % {"label": custom.label})
            return _redirect("fields", spec.key, anchor=f"field-{custom.key}")
    return _page(request, "field_edit.html", spec, "fields", {"form": form, "custom": custom})


def _field_archive(request: HttpRequest, actor: Member, module: str, key: str, *, archived: bool) -> HttpResponse:
    spec = _spec(module)
    custom = custom_field_update(actor=actor, field=_custom_field(spec, key), archived=archived)
    message = _("Field “%(label)s” archived; its values are kept.") if archived else _("Field “%(label)s” restored.")
    messages.success(request, message % {"label": custom.label})
    return _redirect("fields", spec.key, anchor=f"field-{custom.key}")


@require_POST
@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def field_archive(request: HttpRequest, actor: Member, module: str, key: str) -> HttpResponse:
    return _field_archive(request, actor, module, key, archived=True)


@require_POST
@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def field_restore(request: HttpRequest, actor: Member, module: str, key: str) -> HttpResponse:
    return _field_archive(request, actor, module, key, archived=False)


# ---------------------------------------------------------------------------------------------
# Picklists


@dataclass
class ValueRow:
    value: PicklistValue
    form: PicklistValueForm
    first: bool
    last: bool


@dataclass
class PicklistBox:
    name: str
    picklist: Picklist | None
    used_by: list[str]
    shared_with: list[str]
    add_form: PicklistValueAddForm | None = None
    rows: list[ValueRow] = field(default_factory=list)


def _module_picklists(spec: ModuleSpec) -> dict[str, list[str]]:
    """Every picklist the module uses: name -> labels of the fields that use it (in this module)."""
    names: dict[str, list[str]] = {}
    for name, picklist in spec.picklists.items():
        names.setdefault(picklist, []).append(field_label(spec, name))
    for custom in metadata.custom_fields(spec.key, include_archived=True):
        if custom.type in PICKLIST_TYPES:
            label = custom.label if custom.archived_at is None else _("%(label)s (archived)") % {"label": custom.label}
            names.setdefault(custom.picklist_name, []).append(label)
    for picklist in spec.default_picklists:
        names.setdefault(picklist, [])
    return names


def _picklist_boxes(
    spec: ModuleSpec, *, bound: forms.Form | None = None, bound_for: tuple[str, int] | None = None
) -> list[PicklistBox]:
    """The module's picklists with their values (retired too) and a form per value; `bound` replaces
    the form at `bound_for` (("add", picklist id) or ("value", value id)) to show its errors."""
    names = _module_picklists(spec)
    found = {
        p.name: p
        for p in Picklist.objects.filter(name__in=list(names)).prefetch_related(
            Prefetch("values", queryset=PicklistValue.objects.order_by("position", "id"))
        )
    }
    boxes = []
    for name, used_by in names.items():
        shared = [
            str(other.label_plural)
            for other in registry.all_specs()
            if other.key != spec.key and (name in other.picklists.values() or name in other.default_picklists)
        ]
        picklist = found.get(name)
        box = PicklistBox(name=name, picklist=picklist, used_by=used_by, shared_with=shared)
        if picklist is not None:
            box.add_form = PicklistValueAddForm(prefix=f"p{picklist.pk}")
            if bound_for == ("add", picklist.pk) and isinstance(bound, PicklistValueAddForm):
                box.add_form = bound
            values = list(picklist.values.all())
            for index, value in enumerate(values):
                form = PicklistValueForm(prefix=f"v{value.pk}", initial={"label": value.label})
                if bound_for == ("value", value.pk) and isinstance(bound, PicklistValueForm):
                    form = bound
                box.rows.append(ValueRow(value=value, form=form, first=index == 0, last=index == len(values) - 1))
        boxes.append(box)
    return boxes


def _picklists_page(
    request: HttpRequest, spec: ModuleSpec, bound: forms.Form | None = None, bound_for: tuple[str, int] | None = None
) -> HttpResponse:
    context = {"boxes": _picklist_boxes(spec, bound=bound, bound_for=bound_for), "form": bound}
    return _page(request, "picklists.html", spec, "picklists", context)


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def picklists(request: HttpRequest, actor: Member, module: str) -> HttpResponse:
    return _picklists_page(request, _spec(module))


@require_POST
@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def picklist_value_add_view(request: HttpRequest, actor: Member, module: str, picklist_id: int) -> HttpResponse:
    spec = _spec(module)
    picklist = Picklist.objects.filter(pk=picklist_id, name__in=list(_module_picklists(spec))).first()
    if picklist is None:
        raise Http404
    form = PicklistValueAddForm(request.POST, prefix=f"p{picklist.pk}")
    if form.is_valid():
        try:
            value = picklist_value_add(actor=actor, name=picklist.name, label=form.cleaned_data["label"])
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, _("Value “%(label)s” added.") % {"label": value.label})
            return _redirect("picklists", spec.key, anchor=f"value-{value.pk}")
    return _picklists_page(request, spec, form, ("add", picklist.pk))


@require_POST
@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def picklist_value_view(request: HttpRequest, actor: Member, module: str, value_id: int) -> HttpResponse:
    spec = _spec(module)
    value = (
        PicklistValue.objects.select_related("picklist")
        .filter(pk=value_id, picklist__name__in=list(_module_picklists(spec)))
        .first()
    )
    if value is None:
        raise Http404
    form = PicklistValueForm(request.POST, prefix=f"v{value.pk}")
    if form.is_valid():
        action = form.cleaned_data["action"]
        changes: dict[str, Any] = {}
        if action == "rename":
            changes["label"] = form.cleaned_data["label"]
        elif action in ("retire", "restore"):
            changes["retired"] = action == "retire"
        else:
            order = list(value.picklist.values.order_by("position", "id").values_list("pk", flat=True))
            changes["position"] = order.index(value.pk) + (-1 if action == "up" else 1)
        try:
            picklist_value_update(actor=actor, value=value, **changes)
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            done = {
                "rename": _("Value renamed to “%(label)s”; records keep their stored value."),
                "retire": _("Value “%(label)s” retired: it is no longer offered, records keep it."),
                "restore": _("Value “%(label)s” is offered again."),
                "up": _("Value “%(label)s” moved."),
                "down": _("Value “%(label)s” moved."),
            }[action]
            messages.success(request, done % {"label": value.label})
            return _redirect("picklists", spec.key, anchor=f"value-{value.pk}")
    return _picklists_page(request, spec, form, ("value", value.pk))


# ---------------------------------------------------------------------------------------------
# Layout


def _model_field(spec: ModuleSpec, name: str) -> Any:
    return spec.model._meta.get_field(name)


def _layout_blocks(spec: ModuleSpec) -> list[dict[str, Any]]:
    """The tenant's current layout, field by field, as the editor shows it."""
    blocks, hidden = metadata.layout_blocks(spec)
    required = {name for name in spec.form_fields if not _model_field(spec, name).blank}
    return [
        {
            "key": block.key,
            "title": block.title,
            "fields": [
                {
                    "name": name,
                    "label": field_label(spec, name),
                    "required": name in required,
                    "readonly": name not in spec.form_fields,
                    "hidden": name in hidden,
                }
                for name in block.fields
            ],
        }
        for block in blocks
    ]


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def layout(request: HttpRequest, actor: Member, module: str) -> HttpResponse:
    """The drag-and-drop editor (JavaScript, saving through `layout_editor_save`) above the plain
    per-block form it replaces in the page; the plain form stays for browsers without JavaScript as
    long as the layout has only the module's own blocks (saving it would lose the editor's blocks)."""
    spec = _spec(module)
    editor_only = metadata.layout_is_editor_shaped(spec)
    form = LayoutForm(spec, request.POST or None)
    if request.method == "POST" and editor_only and "reset" not in request.POST:
        form.add_error(None, _("This layout was arranged in the drag-and-drop editor, which needs JavaScript."))
    elif request.method == "POST" and form.is_valid():
        result = form.result()
        anchor = ""
        if "reset" in request.POST:
            blocks, fields_order, hidden = [b.key for b in spec.blocks], {}, []
        else:
            blocks, fields_order, hidden = result.blocks, result.fields, result.hidden
            move = form.cleaned_data["move"]
            if move:
                anchor = "-".join(move.split(":")[:-1])
        try:
            layout_save(actor=actor, spec=spec, blocks=blocks, fields=fields_order, hidden=hidden)
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            if "reset" in request.POST:
                messages.success(request, _("The standard layout is back."))
            elif not anchor:
                messages.success(request, _("Layout saved."))
            return _redirect("layout", spec.key, anchor=anchor)
    context = {"form": form, "blocks": [] if editor_only else _layout_blocks(spec), "editor": _editor_state(spec)}
    return _page(request, "layout.html", spec, "layout", context)


def _preview_kind(spec: ModuleSpec, name: str) -> str:
    """Which control the editor's live preview draws for a field."""
    field = _model_field(spec, name)
    if name in spec.picklists or isinstance(field, models.ForeignKey):
        return "select"
    if isinstance(field, models.BooleanField):
        return "checkbox"
    if isinstance(field, models.TextField):
        return "textarea"
    if isinstance(field, models.DateField):
        return "date"
    return "text"


MORE_FIELDS_BLOCK = "more-fields"


def _custom_preview_kind(field: CustomField) -> str:
    """Which control the editor's live preview draws for a custom field."""
    if field.type in (FieldType.PICKLIST, FieldType.MULTIPICKLIST, FieldType.MEMBER, FieldType.RECORD):
        return "select"
    if field.type == FieldType.CHECKBOX:
        return "checkbox"
    if field.type == FieldType.TEXTAREA:
        return "textarea"
    if field.type == FieldType.DATE:
        return "date"
    return "text"


def _editor_state(spec: ModuleSpec) -> dict[str, Any]:
    """What the drag-and-drop editor starts from (json_script): the tenant's layout and each field's facts."""
    blocks, hidden = metadata.layout_blocks(spec, custom=True)
    standard = {b.key: str(b.title) for b in spec.blocks}
    names = [f for b in spec.blocks for f in b.fields]
    custom = {metadata.CUSTOM_NAME_PREFIX + f.key: f for f in metadata.custom_fields(spec.key)}
    state_blocks: list[dict[str, Any]] = [
        {"key": b.key, "title": str(b.title), "standard_title": standard.get(b.key, ""), "fields": list(b.fields)}
        for b in blocks
    ]
    # Custom fields the layout does not place yet (all of them in an older layout) start in a
    # "More fields" block, where the form shows them until the editor moves them.
    placed = {name for b in state_blocks for name in b["fields"]}
    if unplaced := [name for name in custom if name not in placed]:
        more = next((b for b in state_blocks if b["key"] == MORE_FIELDS_BLOCK), None)
        if more is None:
            more = {"key": MORE_FIELDS_BLOCK, "title": str(_("More fields")), "standard_title": "", "fields": []}
            state_blocks.append(more)
        more["fields"].extend(unplaced)
    known = set(spec.form_fields) | set(custom)
    custom_facts = {
        name: {
            "label": cf.label,
            "required": cf.required,
            "always_shown": cf.required,
            "readonly": False,
            "checkbox": cf.type == FieldType.CHECKBOX,
            "kind": _custom_preview_kind(cf),
            "custom": True,
        }
        for name, cf in custom.items()
    }
    return {
        "blocks": state_blocks,
        "fields": {
            name: {
                "label": field_label(spec, name),
                "required": name in spec.form_fields and model_required(spec, name),
                "always_shown": name in spec.form_fields and not _model_field(spec, name).blank,
                "readonly": name not in spec.form_fields,
                "checkbox": isinstance(_model_field(spec, name), models.BooleanField),
                "kind": _preview_kind(spec, name),
            }
            for name in names
        }
        | custom_facts,
        "hidden": sorted(hidden & known),
        "mandatory": sorted(metadata.layout_mandatory(spec) & known),
        "quick_create": sorted(metadata.layout_quick_create(spec) & known),
        "save_url": reverse("crm_settings:layout_save", args=[spec.key]),
        "text": {
            "add_block": _("Add a block"),
            "new_block": _("New block"),
            "block_title": _("Block title"),
            "remove_block": _("Remove block"),
            "remove_hint": _("Move its fields out first"),
            "move_up": _("Move up"),
            "move_down": _("Move down"),
            "move_to": _("Move to"),
            "mandatory": _("Mandatory"),
            "quick_create": _("Quick create"),
            "hidden": _("Hidden"),
            "required": _("Required"),
            "read_only": _("Read-only"),
            "custom_field": _("Custom field"),
            "save": _("Save layout"),
            "saving": _("Saving…"),
            "unsaved": _("The layout has unsaved changes."),
            "preview": _("Preview of the form"),
            "moved": _("%(field)s moved to %(block)s."),
            "empty": _("Drop fields here."),
        },
    }


@require_POST
@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def layout_editor_save(request: HttpRequest, actor: Member, module: str) -> JsonResponse:
    """The editor's whole layout as JSON: 200 when saved, 400 with the reason and nothing changed."""
    spec = _spec(module)
    try:
        payload = json.loads(request.body or b"null")
    except ValueError:
        return JsonResponse({"errors": {"layout": [_("Send the layout as JSON.")]}}, status=400)
    try:
        layout_replace(actor=actor, spec=spec, payload=payload)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"layout": exc.messages}
        return JsonResponse({"errors": errors}, status=400)
    return JsonResponse({"saved": True, "message": _("Layout saved.")})


# ---------------------------------------------------------------------------------------------
# Numbering


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def numbering(request: HttpRequest, actor: Member, module: str) -> HttpResponse:
    spec = _spec(module)
    sequence = NumberingSequence.objects.filter(module=spec.key).first()
    current = {
        "number_prefix": sequence.prefix if sequence else spec.number_prefix,
        "next_number": sequence.next_number if sequence else 1,
    }
    form = NumberingForm(request.POST or None, initial=current)
    if request.method == "POST" and form.is_valid():
        try:
            saved = numbering_update(
                actor=actor,
                spec=spec,
                prefix=form.cleaned_data["number_prefix"],
                next_number=form.cleaned_data["next_number"],
            )
        except ValidationError as exc:
            _service_errors(form, exc, {"prefix": "number_prefix"})
        else:
            messages.success(request, _("The next record will be number %(number)s.") % {"number": saved})
            return _redirect("numbering", spec.key)
    return _page(request, "numbering.html", spec, "numbering", {"form": form, "current": current})
