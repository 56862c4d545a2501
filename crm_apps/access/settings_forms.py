"""Forms of the access-control settings screens. They parse input only: every rule (no cycles, the top
role stays, required fields stay writable...) lives in crm_apps.access.services."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django import forms
from django.forms.models import ModelChoiceIterator
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from crm_apps.access.grants import ACTIONS, PRIVILEGES
from crm_apps.access.models import (
    Group,
    Member,
    Profile,
    ProfileField,
    ProfileModule,
    Role,
    SharingDefault,
    SharingRule,
)
from crm_apps.access.services import profile_field_names
from crm_apps.engine import metadata, registry
from crm_apps.engine.settings_forms import field_label
from crm_apps.engine.spec import ModuleSpec

DEFAULT_FLAGS = tuple(f"default_{action}" for action in ACTIONS)
PRIVILEGE_FLAGS = PRIVILEGES
ACTION_LABELS = {"view": _("View"), "create": _("Create"), "edit": _("Edit"), "delete": _("Delete")}
FIELD_ACCESS = (
    ("readwrite", _("Read-write")),
    ("readonly", _("Read-only")),
    ("hidden", _("Hidden")),
)
# Three non-breaking spaces per level: the tree shows in plain <select> options.
INDENT = "\u00a0\u00a0\u00a0"


def tree_key(role: Role) -> tuple[int, ...]:
    """Sorting by the ids along the path lists every role right before its subordinates, siblings in
    creation order (the order of the roles screen)."""
    return tuple(int(part) for part in role.path.strip(".").split(".") if part.isdecimal())


class _RoleTreeIterator(ModelChoiceIterator):
    def __iter__(self) -> Iterator[Any]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for role in sorted(self.queryset, key=tree_key):
            yield self.choice(role)


def _role_label(role: Role) -> str:
    return f"{INDENT * max(role.depth, 0)}{role.name}"


class RoleChoiceField(forms.ModelChoiceField):
    iterator = _RoleTreeIterator

    def label_from_instance(self, obj: Any) -> str:
        return _role_label(obj)


class RoleMultipleChoiceField(forms.ModelMultipleChoiceField):
    iterator = _RoleTreeIterator

    def label_from_instance(self, obj: Any) -> str:
        return _role_label(obj)


class MemberMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.user.name} ({obj.user.email})"


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        label = f"{obj.user.name} ({obj.user.email})"
        return label if obj.active else str(_("%(member)s, deactivated") % {"member": label})


def _profiles_field() -> forms.ModelMultipleChoiceField:
    return forms.ModelMultipleChoiceField(
        label=_("Profiles"),
        queryset=Profile.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Members in this role get the most permissive combination of these profiles."),
    )


def _active_members() -> Any:
    return Member.objects.filter(active=True).select_related("user").order_by("user__name", "id")


# ---------------------------------------------------------------------------------------------
# Roles


class RoleCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    parent = RoleChoiceField(label=_("Reports to"), queryset=Role.objects.all(), empty_label=None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["profiles"] = _profiles_field()


class RoleEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)

    def __init__(self, role: Role, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {"name": role.name, "profiles": list(role.profiles.all()), "default_for_new": role.default_for_new},
        )
        super().__init__(*args, **kwargs)
        self.fields["profiles"] = _profiles_field()
        if role.parent_id is not None:
            # Exactly one role is the default: it stops being one when another role becomes it.
            self.fields["default_for_new"] = forms.BooleanField(
                label=_("Default for new members"),
                required=False,
                disabled=role.default_for_new,
                help_text=(
                    _("This is the default role. To change that, make another role the default.")
                    if role.default_for_new
                    else _("Members who join without a chosen role get this one.")
                ),
            )


class RoleMoveForm(forms.Form):
    parent = RoleChoiceField(label=_("Move under"), queryset=Role.objects.all(), empty_label=None)


class RoleDeleteForm(forms.Form):
    def __init__(self, role: Role, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        outside = Role.objects.exclude(path__startswith=role.path).exclude(parent__isnull=True)
        self.fields["transfer_to"] = RoleChoiceField(
            label=_("Move its members to"),
            queryset=outside,
            empty_label=None,
            initial=role.parent_id if role.parent_id and outside.filter(pk=role.parent_id).exists() else None,
            help_text=_("Its sub-roles will report to the role above it."),
        )


# ---------------------------------------------------------------------------------------------
# Profiles


class ProfileForm(forms.Form):
    """Name, description, the module defaults and the global privileges."""

    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(label=_("Description"), max_length=250, required=False)

    def __init__(self, *args: Any, profile: Profile | None = None, **kwargs: Any) -> None:
        if profile is not None:
            initial = {"name": profile.name, "description": profile.description}
            initial.update({flag: getattr(profile, flag) for flag in (*DEFAULT_FLAGS, *PRIVILEGE_FLAGS)})
            kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        for flag in (*DEFAULT_FLAGS, *PRIVILEGE_FLAGS):
            model_field = Profile._meta.get_field(flag)
            self.fields[flag] = forms.BooleanField(
                label=capfirst(model_field.verbose_name),  # type: ignore[union-attr]
                required=False,
                initial=None if profile is not None else model_field.default,  # type: ignore[union-attr]
            )

    def defaults(self) -> list[forms.BoundField]:
        return [self[flag] for flag in DEFAULT_FLAGS]

    def privileges(self) -> list[forms.BoundField]:
        return [self[flag] for flag in PRIVILEGE_FLAGS]

    def flags(self) -> dict[str, bool]:
        return {flag: bool(self.cleaned_data[flag]) for flag in (*DEFAULT_FLAGS, *PRIVILEGE_FLAGS)}


@dataclass
class ModuleRow:
    spec: ModuleSpec
    cells: list[tuple[str, forms.BoundField]]  # (action label, checkbox)
    own: bool  # the profile has its own row for the module (else it follows the defaults)


class ModuleRightsForm(forms.Form):
    """The grid of modules (rows) x view/create/edit/delete (columns) of one profile."""

    def __init__(self, profile: Profile, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.specs = registry.all_specs()
        self.own = {row.module: row for row in ProfileModule.objects.filter(profile=profile)}
        for spec in self.specs:
            row = self.own.get(spec.key)
            for action in ACTIONS:
                value = getattr(row, f"can_{action}") if row is not None else getattr(profile, f"default_{action}")
                self.fields[self.name_for(spec.key, action)] = forms.BooleanField(
                    label=f"{spec.label_plural}: {ACTION_LABELS[action]}", required=False, initial=value
                )

    @staticmethod
    def name_for(module: str, action: str) -> str:
        return f"{module}__{action}"

    def rows(self) -> list[ModuleRow]:
        return [
            ModuleRow(
                spec=spec,
                cells=[(str(ACTION_LABELS[action]), self[self.name_for(spec.key, action)]) for action in ACTIONS],
                own=spec.key in self.own,
            )
            for spec in self.specs
        ]

    def rights(self) -> dict[str, dict[str, bool]]:
        """The modules whose boxes changed, with all four actions (profile_set_modules' argument)."""
        changed = set(self.changed_data)
        return {
            spec.key: {action: bool(self.cleaned_data[self.name_for(spec.key, action)]) for action in ACTIONS}
            for spec in self.specs
            if any(self.name_for(spec.key, action) in changed for action in ACTIONS)
        }


@dataclass
class FieldRow:
    name: str
    label: str
    required: bool
    field: forms.BoundField


class FieldAccessForm(forms.Form):
    """One module's fields for one profile: read-write, read-only or hidden each. Form field names are
    the service's names with "." replaced by "__" (custom fields are "custom.<key>")."""

    def __init__(self, profile: Profile, spec: ModuleSpec, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        current = dict(ProfileField.objects.filter(profile=profile, module=spec.key).values_list("field", "access"))
        custom_labels = {f"custom.{cf.key}": cf.label for cf in metadata.custom_fields(spec.key)}
        custom_labels.update({child.key: str(child.label) for child in spec.children})
        self.names = profile_field_names(spec)
        self.labels: dict[str, str] = {}
        for name, required in self.names.items():
            self.labels[name] = custom_labels[name] if name in custom_labels else field_label(spec, name)
            self.fields[self.form_name(name)] = forms.ChoiceField(
                label=self.labels[name],
                choices=FIELD_ACCESS,
                widget=forms.RadioSelect,
                initial="readwrite" if required else current.get(name, "readwrite"),
                disabled=required,
                required=False,  # a field left out of the post keeps its access
            )

    @staticmethod
    def form_name(name: str) -> str:
        return name.replace(".", "__")

    def rows(self) -> list[FieldRow]:
        return [
            FieldRow(name=name, label=self.labels[name], required=required, field=self[self.form_name(name)])
            for name, required in self.names.items()
        ]

    def access(self) -> dict[str, str]:
        """profile_set_fields' argument: the posted value of every field that was posted."""
        found = {name: self.cleaned_data[self.form_name(name)] for name in self.names}
        return {name: value for name, value in found.items() if value}

    def service_renames(self) -> dict[str, str]:
        return {name: self.form_name(name) for name in self.names}


# ---------------------------------------------------------------------------------------------
# Groups


class GroupForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(label=_("Description"), max_length=250, required=False)

    def __init__(self, *args: Any, group: Group | None = None, **kwargs: Any) -> None:
        if group is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": group.name,
                    "description": group.description,
                    "members": list(group.members.all()),
                    "roles": list(group.roles.all()),
                    "roles_with_subordinates": list(group.roles_with_subordinates.all()),
                    "subgroups": list(group.subgroups.all()),
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["members"] = MemberMultipleChoiceField(
            label=_("Members"), queryset=_active_members(), required=False, widget=forms.CheckboxSelectMultiple
        )
        self.fields["roles"] = RoleMultipleChoiceField(
            label=_("Roles"),
            queryset=Role.objects.all(),
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text=_("Members holding exactly these roles."),
        )
        self.fields["roles_with_subordinates"] = RoleMultipleChoiceField(
            label=_("Roles and their subordinates"),
            queryset=Role.objects.all(),
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text=_("Members holding these roles or any role below them."),
        )
        others = Group.objects.order_by("name")
        if group is not None:
            others = others.exclude(pk=group.pk)
        self.fields["subgroups"] = forms.ModelMultipleChoiceField(
            label=_("Groups"),
            queryset=others,
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text=_("Everyone in these groups belongs to this one too."),
        )

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data["description"],
            "member_ids": [m.pk for m in data["members"]],
            "role_ids": [r.pk for r in data["roles"]],
            "role_tree_ids": [r.pk for r in data["roles_with_subordinates"]],
            "subgroup_ids": [g.pk for g in data["subgroups"]],
        }


class GroupDeleteForm(forms.Form):
    transfer_to = MemberChoiceField(label=_("Give its records to"), queryset=Member.objects.none(), empty_label=None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["transfer_to"].queryset = _active_members()  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# Sharing


@dataclass
class SharingRow:
    spec: ModuleSpec
    access: forms.BoundField
    superiors_see: forms.BoundField
    follow_parent: forms.BoundField | None


class SharingDefaultsForm(forms.Form):
    """Every module's organisation-wide default in one form; only the changed modules are saved."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.specs = registry.all_specs()
        self.current = {d.module: d for d in SharingDefault.objects.all()}
        for spec in self.specs:
            row = self.current.get(spec.key)
            self.fields[f"{spec.key}__access"] = forms.ChoiceField(
                label=_("Default access to %(module)s") % {"module": spec.label_plural},
                choices=SharingDefault.Access.choices,
                initial=row.access if row else spec.sharing_default,
            )
            self.fields[f"{spec.key}__superiors_see"] = forms.BooleanField(
                label=_("Superiors see subordinates' records"),
                required=False,
                initial=row.superiors_see if row else True,
            )
            if spec.sharing_parent:
                self.fields[f"{spec.key}__follow_parent"] = forms.BooleanField(
                    label=_("Visible with the parent record"),
                    required=False,
                    initial=row.follow_parent if row else spec.sharing_follows_parent,
                )

    def rows(self) -> list[SharingRow]:
        return [
            SharingRow(
                spec=spec,
                access=self[f"{spec.key}__access"],
                superiors_see=self[f"{spec.key}__superiors_see"],
                follow_parent=self[f"{spec.key}__follow_parent"] if spec.sharing_parent else None,
            )
            for spec in self.specs
        ]

    def changes(self) -> list[dict[str, Any]]:
        """sharing_default_set's arguments for every module whose row changed."""
        changed = set(self.changed_data)
        found = []
        for spec in self.specs:
            names = [f"{spec.key}__{part}" for part in ("access", "superiors_see", "follow_parent")]
            if not changed.intersection(names):
                continue
            row = self.current.get(spec.key)
            follow = self.cleaned_data.get(names[2]) if spec.sharing_parent else (row.follow_parent if row else True)
            found.append(
                {
                    "module": spec.key,
                    "access": self.cleaned_data[names[0]],
                    "superiors_see": bool(self.cleaned_data[names[1]]),
                    "follow_parent": bool(follow),
                }
            )
        return found


def party_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Who a sharing rule names: a role, a role with its subordinates, or a group ("kind:id")."""
    roles = sorted(Role.objects.all(), key=tree_key)
    groups = list(Group.objects.order_by("name"))
    return [
        (str(_("Roles")), [(f"role:{r.pk}", _role_label(r)) for r in roles]),
        (
            str(_("Roles and subordinates")),
            [(f"role_sub:{r.pk}", _role_label(r)) for r in roles],
        ),
        (str(_("Groups")), [(f"group:{g.pk}", g.name) for g in groups]),
    ]


class SharingRuleForm(forms.Form):
    module = forms.ChoiceField(label=_("Module"))
    source = forms.ChoiceField(label=_("Records owned by"))
    target = forms.ChoiceField(label=_("Are shared with"))
    access = forms.ChoiceField(label=_("Access"), choices=SharingRule.Access.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["module"].choices = [(s.key, str(s.label_plural)) for s in registry.all_specs()]  # type: ignore[attr-defined]
        parties = party_choices()
        self.fields["source"].choices = parties  # type: ignore[attr-defined]
        self.fields["target"].choices = parties  # type: ignore[attr-defined]

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        source_kind, source_id = data["source"].split(":", 1)
        target_kind, target_id = data["target"].split(":", 1)
        return {
            "module": data["module"],
            "source_kind": source_kind,
            "source_id": source_id,
            "target_kind": target_kind,
            "target_id": target_id,
            "access": data["access"],
        }


SHARING_RULE_RENAMES = {"source_kind": "source", "target_kind": "target"}


# ---------------------------------------------------------------------------------------------
# Explain


class ExplainForm(forms.Form):
    member = MemberChoiceField(label=_("Member"), queryset=Member.objects.none(), empty_label=None)
    module = forms.ChoiceField(label=_("Module"))
    record = forms.CharField(
        label=_("Record"),
        max_length=100,
        help_text=_("Its number (for example CON-12) or its id, as in the record's address."),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = Member.objects.select_related("user").order_by(  # type: ignore[attr-defined]
            "-active", "user__name", "id"
        )
        self.fields["module"].choices = [(s.key, str(s.label_plural)) for s in registry.all_specs()]  # type: ignore[attr-defined]
