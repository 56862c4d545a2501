"""Forms generated from a ModuleSpec and the tenant's custom fields. They render and parse; the rules
are checked again by the services, so the API and imports obey the same ones."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm_apps.access.models import Group, Member
from crm_apps.engine import field_types, metadata, registry
from crm_apps.engine.fieldaccess import field_rules
from crm_apps.engine.models import CrmRecord, CustomField, FieldType
from crm_apps.engine.spec import ModuleSpec

CUSTOM_PREFIX = "custom__"


FIELD_TEMPLATE = "engine/widgets/field.html"


class ReferenceWidget(forms.TextInput):
    """A record picker: a select holding the chosen record that `forms.js` turns into a searchable box
    (Tom Select over `engine:lookup_json`, with "create new" through `engine:quick_create` when the
    member may create records of the target module). Without JavaScript it keeps the current value."""

    template_name = "engine/widgets/reference.html"

    def __init__(
        self, module: str, actor: Member, attrs: dict[str, Any] | None = None, labels: dict[str, str] | None = None
    ) -> None:
        super().__init__(attrs)
        self.module = module
        self.actor = actor
        # Titles looked up beforehand for many pickers at once (row tables): id -> title of a visible record.
        self.labels = labels

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        label = ""
        if value and self.labels is not None:
            label = self.labels.get(str(value), "")
        elif value:
            from crm_apps.engine.selectors import access_record

            record = access_record(spec=registry.get(self.module), actor=self.actor, record_id=value)
            label = str(record) if record else ""
        create_url = ""
        if self.module:
            from crm_apps.access import visibility

            try:
                target = registry.get(self.module)
            except registry.UnknownModule:
                target = None
            if target is not None and visibility.can_create(actor=self.actor, spec=target):
                create_url = reverse("engine:quick_create", args=[self.module])
        context["widget"].update(
            {
                "module": self.module,
                "label": label,
                "search_url": reverse("engine:lookup_json", args=[self.module]) if self.module else "",
                "create_url": create_url,
            }
        )
        return context


def _is_uuid(value: Any) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def owner_choices(*, groups: bool = True) -> list[tuple[str, str]]:
    members = Member.objects.filter(active=True).order_by("user__name", "pk").values_list("pk", "user__name")
    choices = [(f"m:{pk}", name) for pk, name in members]
    if groups:
        choices += group_choices()
    return choices


def group_choices() -> list[tuple[str, str]]:
    names = Group.objects.order_by("name").values_list("pk", "name")
    return [(f"g:{pk}", _("Group: %(name)s") % {"name": name}) for pk, name in names]


def _picklist_choices(name: str, current: Any) -> list[tuple[str, str]]:
    values = metadata.picklist_values(name, include_retired=True)
    choices = [("", "—")]
    for v in values:
        if not v.retired or v.value == current:
            choices.append((v.value, v.label))
    return choices


class DisplayNameChoiceField(forms.ModelChoiceField):
    """Options named as members see them elsewhere (pipelines and stages an extension translates)."""

    def label_from_instance(self, obj: Any) -> str:
        return str(getattr(obj, "display_name", obj))


def model_required(spec: ModuleSpec, name: str) -> bool:
    """The model itself requires a value (a checkbox never does: unticked is a value)."""
    field: Any = spec.model._meta.get_field(name)
    return not field.blank and not isinstance(field, models.BooleanField)


def _standard_field(spec: ModuleSpec, name: str, current: Any, actor: Member) -> forms.Field:
    field: Any = spec.model._meta.get_field(name)
    label = str(field.verbose_name).capitalize()
    required = model_required(spec, name)
    help_text = str(field.help_text or "")
    if name in spec.picklists:
        return forms.ChoiceField(
            label=label,
            required=required,
            help_text=help_text,
            choices=_picklist_choices(spec.picklists[name], current),
        )
    if isinstance(field, models.ForeignKey):
        target: Any = field.remote_field.model
        if target in (Member, Group):
            # A member reference offers members, a group reference groups ("m:5" / "g:3", as the owner's).
            choices = owner_choices(groups=False) if target is Member else group_choices()
            return forms.ChoiceField(label=label, required=required, help_text=help_text, choices=[("", "—"), *choices])
        try:
            target_spec = registry.spec_for_model(target)
        except registry.UnknownModule:
            qs = target.objects.all()
            return DisplayNameChoiceField(queryset=qs, label=label, required=required, help_text=help_text)
        return forms.CharField(
            label=label, required=required, help_text=help_text, widget=ReferenceWidget(target_spec.key, actor)
        )
    made = field.formfield()
    made.label = label
    made.required = required
    if isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField):
        made.widget = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    return made


def _custom_field(cf: CustomField, current: Any, actor: Member) -> forms.Field:
    common: dict[str, Any] = {"label": cf.label, "required": cf.required, "help_text": cf.help_text}
    kind = field_types.KINDS.get(cf.type)
    if kind is None:
        return forms.CharField(**common)
    return kind.form_field(cf, current=current, actor=actor, common=common)


def enhance_field(field: forms.Field) -> forms.Field:
    """The engine's presentation of a form field: required marker and `aria-required`, help and errors
    under the field (engine/widgets/field.html), and searchable selects instead of native lists
    (`data-ui="select"` / `data-ui="multiselect"`, see the engine README)."""
    field.template_name = FIELD_TEMPLATE  # type: ignore[attr-defined]
    widget = field.widget
    if isinstance(field, forms.MultipleChoiceField) and not isinstance(widget, forms.SelectMultiple):
        field.widget = widget = forms.SelectMultiple(choices=list(field.choices))  # type: ignore[arg-type]
    if isinstance(widget, forms.SelectMultiple):
        widget.attrs["data-ui"] = "multiselect"
    elif isinstance(widget, forms.Select) and not isinstance(widget, forms.NullBooleanSelect):
        widget.attrs["data-ui"] = "select"
    if field.required and not isinstance(field, forms.BooleanField):
        widget.attrs["aria-required"] = "true"
    return field


def _initial_default(spec: ModuleSpec, name: str) -> Any:
    """A new record's starting value: the workspace's base currency for a currency field (when an admin
    set one), else the model's default (a deal's currency), else empty."""
    if name == "currency":
        from crm_apps.engine.currency import base_currency

        base = base_currency()
        if base:
            return base
    model_field: Any = spec.model._meta.get_field(name)
    if model_field.has_default() and not isinstance(model_field, models.ForeignKey):
        value = model_field.get_default()
        return value if isinstance(value, str | int | bool) else ""
    return ""


def record_form(
    spec: ModuleSpec, *, actor: Member, record: CrmRecord | None, data: Any = None, only: set[str] | None = None
) -> forms.Form:
    """The create/edit form of a module in the tenant's layout (hidden optional fields left out).
    `only` keeps just those standard fields (the quick-create form); fields the tenant made mandatory
    are required like the model's own. A new record starts owned by the member creating it."""
    blocks, hidden = metadata.layout_blocks(spec, custom=True)
    mandatory = metadata.layout_mandatory(spec)
    quick = metadata.layout_quick_create(spec)
    rules = field_rules(actor=actor, spec=spec)
    hidden = hidden | rules.hidden
    form = forms.Form(data=data)
    initial: dict[str, Any] = {}
    for block in blocks:
        for name in block.fields:
            if name.startswith(metadata.CUSTOM_NAME_PREFIX):
                continue  # custom fields are added below, then listed in their block
            if name in spec.readonly_fields or name in hidden or name in form.fields:
                continue
            if only is not None and name not in only:
                continue
            current = None
            if record is not None:
                model_field: Any = spec.model._meta.get_field(name)
                current = getattr(record, model_field.attname if isinstance(model_field, models.ForeignKey) else name)
            form.fields[name] = _standard_field(spec, name, current, actor)
            if name in mandatory:
                form.fields[name].required = True
            form.fields[name].disabled = name in rules.readonly
            reference: Any = spec.model._meta.get_field(name)
            if isinstance(reference, models.ForeignKey) and reference.remote_field.model in (Member, Group):
                prefix = "m:" if reference.remote_field.model is Member else "g:"
                current = f"{prefix}{current}" if current else ""
            if record is None:
                current = _initial_default(spec, name)
            initial[name] = current if current is not None else ""
    owner = f"m:{actor.pk}"
    if record is not None:
        owner = (
            f"g:{record.owner_group_id}" if record.owner_group_id else f"m:{record.owner_id}" if record.owner_id else ""
        )
    form.fields["owner"] = forms.ChoiceField(label=_("Owner"), required=False, choices=[("", "—"), *owner_choices()])
    initial["owner"] = owner
    custom_names = []
    if only is None:
        form.fields["tags"] = forms.CharField(
            label=_("Tags"), required=False, help_text=_("Separate tags with commas.")
        )
        initial["tags"] = ", ".join(record.tags) if record is not None else ""
    placed = {name for block in blocks for name in block.fields}
    for cf in rules.custom(metadata.custom_fields(spec.key)):
        name = metadata.CUSTOM_NAME_PREFIX + cf.key
        if name in hidden and not cf.required:
            continue
        if only is not None and not (cf.required or name in mandatory or name in quick):
            continue
        current = (record.custom_data or {}).get(cf.key) if record is not None else cf.default
        form.fields[CUSTOM_PREFIX + cf.key] = _custom_field(cf, current, actor)
        if name in mandatory and cf.type != FieldType.CHECKBOX and name not in rules.readonly:
            form.fields[CUSTOM_PREFIX + cf.key].required = True
        form.fields[CUSTOM_PREFIX + cf.key].disabled = name in rules.readonly
        initial[CUSTOM_PREFIX + cf.key] = current
        if name not in placed:
            custom_names.append(CUSTOM_PREFIX + cf.key)  # not placed by the layout editor: "More fields"
    for made in form.fields.values():
        enhance_field(made)
    form.initial = initial
    form.block_layout = [(b, [n for n in map(_form_name, b.fields) if n in form.fields]) for b in blocks]  # type: ignore[attr-defined]
    form.custom_names = custom_names  # type: ignore[attr-defined]
    return form


def _form_name(name: str) -> str:
    """The form's name of a layout entry ("custom.<key>" -> "custom__<key>")."""
    if name.startswith(metadata.CUSTOM_NAME_PREFIX):
        return CUSTOM_PREFIX + name[len(metadata.CUSTOM_NAME_PREFIX) :]
    return name


def quick_create_fields(spec: ModuleSpec) -> set[str]:
    """The standard fields of the quick-create form: the required and mandatory ones, plus the fields
    the tenant ticked for quick create (the record's title fields when nothing is ticked)."""
    required = {n for n in spec.form_fields if model_required(spec, n)}
    chosen = metadata.layout_quick_create(spec) or set(spec.title_fields)
    return (required | metadata.layout_mandatory(spec) | chosen) & set(spec.form_fields)


def form_to_service(spec: ModuleSpec, form: forms.Form) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split the raw submitted values into standard `data` and `custom` for the services."""
    data: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue  # read-only for this member: never sent to the services
        if isinstance(field, forms.MultipleChoiceField):
            raw: Any = form.data.getlist(name) if hasattr(form.data, "getlist") else form.data.get(name)
        elif isinstance(field, forms.BooleanField):
            raw = name in form.data and form.data.get(name) not in ("", "false", "0", "off")
        else:
            raw = _typed_to_iso(field, form.data.get(name, ""))
        if name.startswith(CUSTOM_PREFIX):
            custom[name[len(CUSTOM_PREFIX) :]] = raw
        elif name == "owner":
            if raw.startswith("m:"):
                data["owner"], data["owner_group"] = raw[2:], None
            elif raw.startswith("g:"):
                data["owner"], data["owner_group"] = None, raw[2:]
        else:
            data[name] = raw
    return data, custom


def _typed_to_iso(field: forms.Field, raw: Any) -> Any:
    """A date, time or date-time typed in the member's format (DATE_INPUT_FORMATS... of the active
    language or the member's own formats, access/formats.py) goes to the services in ISO 8601; what does
    not parse is passed on as typed, for the services to report on the field."""
    if not isinstance(field, forms.DateField | forms.DateTimeField | forms.TimeField):
        return raw
    if not isinstance(raw, str) or not raw.strip():
        return raw
    try:
        parsed = field.to_python(raw)
    except ValidationError:
        return raw
    return parsed.isoformat() if parsed is not None else raw


def field_errors_to_form(form: forms.Form, errors: dict[str, list[str]]) -> None:
    """The services' errors on the form's fields; a field the form itself already found wrong keeps its
    own message (one message per problem, not "required" twice in two wordings)."""
    for key, messages in errors.items():
        name = CUSTOM_PREFIX + key[7:] if key.startswith("custom.") else key
        if name == "owner_group":
            name = "owner"
        if name in form.fields and form.errors.get(name):
            continue
        form.add_error(name if name in form.fields else None, messages)
