"""Tenant-admin screens of access control: roles, profiles, groups, sharing, and "why can this member see
this record?".

Views parse forms and call crm_apps.access.services, which enforce every rule and refuse non-admins
again. Every service bumps the access version after commit, so a change applies to everyone's next
request.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_apps.access.decorators import admin_view
from crm_apps.access.explain import access_explain
from crm_apps.access.models import Group, Member, Profile, Role, SharingDefault, SharingRule
from crm_apps.access.selectors import RoleNode, role_tree
from crm_apps.access.services import (
    group_delete,
    group_save,
    profile_delete,
    profile_save,
    profile_set_fields,
    profile_set_modules,
    role_create,
    role_delete,
    role_move,
    role_update,
    sharing_default_set,
    sharing_rule_create,
    sharing_rule_delete,
)
from crm_apps.access.settings_forms import (
    INDENT,
    SHARING_RULE_RENAMES,
    ExplainForm,
    FieldAccessForm,
    GroupDeleteForm,
    GroupForm,
    ModuleRightsForm,
    ProfileForm,
    RoleCreateForm,
    RoleDeleteForm,
    RoleEditForm,
    RoleMoveForm,
    SharingDefaultsForm,
    SharingRuleForm,
)
from crm_apps.engine import registry
from crm_apps.engine.spec import ModuleSpec
from frontend.forms import form_add_service_errors

View = Callable[..., HttpResponse]


def _object(model: type[models.Model], pk: int) -> Any:
    found = model._default_manager.filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def _spec(module: str) -> ModuleSpec:
    try:
        return registry.get(module)
    except registry.UnknownModule as exc:
        raise Http404 from exc


def _redirect(name: str, *args: Any, anchor: str = "") -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse(f"access_settings:{name}", args=args) + (f"#{anchor}" if anchor else ""))


def _service_errors(form: forms.Form, exc: ValidationError, renames: dict[str, str] | None = None) -> None:
    """Service errors onto the form; `renames` maps a service argument to the form field that fed it."""
    if renames and hasattr(exc, "error_dict"):
        exc = ValidationError({renames.get(key, key): msgs for key, msgs in exc.message_dict.items()})
    form_add_service_errors(form, exc)


def _posted(request: HttpRequest) -> Any:
    """The form data of a POST (even an empty one, so that it is validated), None otherwise."""
    return request.POST if request.method == "POST" else None


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _page(request: HttpRequest, template: str, tab: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, f"access/settings/{template}", {"tab": tab, **context})


# ---------------------------------------------------------------------------------------------
# Index


@admin_view
def index(request: HttpRequest, actor: Member) -> HttpResponse:
    stored = dict(SharingDefault.objects.values_list("module", "access"))
    counts = {
        "roles": Role.objects.count(),
        "profiles": Profile.objects.count(),
        "groups": Group.objects.count(),
        "rules": SharingRule.objects.count(),
        "private": [
            spec.label_plural
            for spec in registry.all_specs()
            if stored.get(spec.key, spec.sharing_default) == SharingDefault.Access.PRIVATE
        ],
    }
    return _page(request, "index.html", "index", {"counts": counts})


# ---------------------------------------------------------------------------------------------
# Roles


@dataclass
class RoleItem:
    """A role of the tree as the roles screen shows it, with the roles it may move under."""

    role: Role
    depth: int
    members: int
    profiles: list[str]
    parents: list[tuple[int, str]]
    children: list[RoleItem] = field(default_factory=list)


def _role_items() -> list[RoleItem]:
    tree = role_tree()
    flat = [node for top in tree for node in top.walk()]

    def item(node: RoleNode) -> RoleItem:
        path = node.role.path
        return RoleItem(
            role=node.role,
            depth=node.depth,
            members=node.members,
            profiles=sorted(p.name for p in node.role.profiles.all()),
            parents=[
                (other.role.pk, f"{INDENT * other.depth}{other.role.name}")
                for other in flat
                if not other.role.path.startswith(path)
            ],
            children=[item(child) for child in node.children],
        )

    return [item(top) for top in tree]


def _tree_context(*, message: str = "", error: bool = False, moved: int | None = None) -> dict[str, Any]:
    return {"tree": _role_items(), "tree_message": message, "tree_error": error, "moved": moved}


@admin_view
def roles(request: HttpRequest, actor: Member) -> HttpResponse:
    initial = {"parent": request.GET.get("parent")} if str(request.GET.get("parent", "")).isdecimal() else {}
    form = RoleCreateForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            role = role_create(
                actor=actor, name=data["name"], parent=data["parent"], profile_ids=[p.pk for p in data["profiles"]]
            )
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, _("Role “%(role)s” added.") % {"role": role.name})
            return _redirect("roles", anchor=f"role-{role.pk}")
    return _page(request, "roles.html", "roles", {"form": form, **_tree_context()})


@admin_view
def role_edit(request: HttpRequest, actor: Member, role_id: int) -> HttpResponse:
    role = _object(Role, role_id)
    form = RoleEditForm(role, _posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            role = role_update(
                actor=actor,
                role=role,
                name=data["name"],
                profile_ids=[p.pk for p in data["profiles"]],
                default_for_new=bool(data.get("default_for_new")),
            )
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, _("Role “%(role)s” saved.") % {"role": role.name})
            return _redirect("roles", anchor=f"role-{role.pk}")
    return _page(request, "role_edit.html", "roles", {"form": form, "role": role})


@require_POST
@admin_view
def role_move_view(request: HttpRequest, actor: Member, role_id: int) -> HttpResponse:
    """Re-parent a role: from the "Move under" select or by drag and drop. htmx requests get the
    re-drawn tree back (with the outcome in a status line)."""
    role = _object(Role, role_id)
    form = RoleMoveForm(request.POST)
    error = True
    if not form.is_valid():
        message = " ".join(str(m) for msgs in form.errors.values() for m in msgs)
    else:
        parent = form.cleaned_data["parent"]
        try:
            role = role_move(actor=actor, role=role, parent=parent)
        except ValidationError as exc:
            message = " ".join(exc.messages)
        else:
            error = False
            message = _("“%(role)s” now reports to “%(parent)s”.") % {"role": role.name, "parent": parent.name}
    if _is_htmx(request):
        return render(
            request, "access/settings/_role_tree.html", _tree_context(message=message, error=error, moved=role.pk)
        )
    (messages.error if error else messages.success)(request, message)
    return _redirect("roles", anchor=f"role-{role.pk}")


@admin_view
def role_delete_view(request: HttpRequest, actor: Member, role_id: int) -> HttpResponse:
    role = _object(Role, role_id)
    form = RoleDeleteForm(role, _posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            role_delete(actor=actor, role=role, transfer_to=form.cleaned_data["transfer_to"])
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, _("Role “%(role)s” deleted.") % {"role": role.name})
            return _redirect("roles")
    context = {
        "form": form,
        "role": role,
        "member_count": Member.objects.filter(role=role).count(),
        "child_count": Role.objects.filter(parent=role).count(),
    }
    return _page(request, "role_delete.html", "roles", context)


# ---------------------------------------------------------------------------------------------
# Profiles


@admin_view
def profiles(request: HttpRequest, actor: Member) -> HttpResponse:
    rows = Profile.objects.prefetch_related("roles").order_by("name")
    return _page(request, "profiles.html", "profiles", {"profiles": rows})


@admin_view
def profile_new(request: HttpRequest, actor: Member) -> HttpResponse:
    form = ProfileForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            profile = profile_save(
                actor=actor, profile=None, name=data["name"], description=data["description"], flags=form.flags()
            )
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, _("Profile “%(profile)s” added.") % {"profile": profile.name})
            return _redirect("profile_edit", profile.pk)
    return _page(request, "profile_new.html", "profiles", {"form": form})


def _profile_page(
    request: HttpRequest, profile: Profile, *, form: ProfileForm | None = None, grid: ModuleRightsForm | None = None
) -> HttpResponse:
    context = {
        "profile": profile,
        "form": form or ProfileForm(profile=profile),
        "grid": grid or ModuleRightsForm(profile),
        "roles": list(profile.roles.order_by("path")),
        "restricted": dict(
            profile.field_rights.values_list("module").annotate(n=Count("id")).values_list("module", "n")
        ),
    }
    return _page(request, "profile_edit.html", "profiles", context)


@admin_view
def profile_edit(request: HttpRequest, actor: Member, profile_id: int) -> HttpResponse:
    profile = _object(Profile, profile_id)
    form = ProfileForm(_posted(request), profile=profile)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            profile = profile_save(
                actor=actor, profile=profile, name=data["name"], description=data["description"], flags=form.flags()
            )
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, _("Profile “%(profile)s” saved.") % {"profile": profile.name})
            return _redirect("profile_edit", profile.pk)
    return _profile_page(request, profile, form=form)


@require_POST
@admin_view
def profile_modules(request: HttpRequest, actor: Member, profile_id: int) -> HttpResponse:
    profile = _object(Profile, profile_id)
    grid = ModuleRightsForm(profile, request.POST)
    if grid.is_valid():
        try:
            profile_set_modules(actor=actor, profile=profile, rights=grid.rights())
        except ValidationError as exc:
            _service_errors(grid, exc)
        else:
            messages.success(request, _("Module permissions of “%(profile)s” saved.") % {"profile": profile.name})
            return _redirect("profile_edit", profile.pk, anchor="modules")
    return _profile_page(request, profile, grid=grid)


@admin_view
def profile_fields(request: HttpRequest, actor: Member, profile_id: int, module: str) -> HttpResponse:
    profile = _object(Profile, profile_id)
    spec = _spec(module)
    form = FieldAccessForm(profile, spec, _posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            profile_set_fields(actor=actor, profile=profile, module=spec.key, access=form.access())
        except ValidationError as exc:
            _service_errors(form, exc, form.service_renames())
        else:
            messages.success(
                request,
                _("Field access of “%(profile)s” in %(module)s saved.")
                % {"profile": profile.name, "module": spec.label_plural},
            )
            return _redirect("profile_fields", profile.pk, spec.key)
    context = {"profile": profile, "spec": spec, "form": form, "specs": registry.all_specs()}
    return _page(request, "profile_fields.html", "profiles", context)


@admin_view
def profile_delete_view(request: HttpRequest, actor: Member, profile_id: int) -> HttpResponse:
    profile = _object(Profile, profile_id)
    form = forms.Form(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            profile_delete(actor=actor, profile=profile)
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, _("Profile “%(profile)s” deleted.") % {"profile": profile.name})
            return _redirect("profiles")
    roles = list(profile.roles.order_by("path"))
    return _page(request, "profile_delete.html", "profiles", {"profile": profile, "form": form, "roles": roles})


# ---------------------------------------------------------------------------------------------
# Groups


@dataclass
class GroupRow:
    group: Group
    members: int
    roles: int
    trees: int
    groups: int


@admin_view
def groups(request: HttpRequest, actor: Member) -> HttpResponse:
    def counts(through: Any, key: str = "group_id", **filters: Any) -> dict[int, int]:
        # One small aggregate per relation: joining all four at once would multiply their rows.
        rows = through.objects.filter(**filters).values(key).annotate(n=Count("pk")).values_list(key, "n")
        return dict(rows)

    members = counts(Group.members.through, member__active=True)
    roles = counts(Group.roles.through)
    trees = counts(Group.roles_with_subordinates.through)
    nested = counts(Group.subgroups.through, "from_group_id")
    rows = [
        GroupRow(
            group=g,
            members=members.get(g.pk, 0),
            roles=roles.get(g.pk, 0),
            trees=trees.get(g.pk, 0),
            groups=nested.get(g.pk, 0),
        )
        for g in Group.objects.order_by("name")
    ]
    return _page(request, "groups.html", "groups", {"groups": rows})


def _group_form(request: HttpRequest, actor: Member, group: Group | None) -> HttpResponse:
    form = GroupForm(_posted(request), group=group)
    if request.method == "POST" and form.is_valid():
        try:
            saved = group_save(actor=actor, group=group, **form.service_kwargs())
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, _("Group “%(group)s” saved.") % {"group": saved.name})
            return _redirect("groups", anchor=f"group-{saved.pk}")
    return _page(request, "group_form.html", "groups", {"form": form, "group": group})


@admin_view
def group_new(request: HttpRequest, actor: Member) -> HttpResponse:
    return _group_form(request, actor, None)


@admin_view
def group_edit(request: HttpRequest, actor: Member, group_id: int) -> HttpResponse:
    return _group_form(request, actor, _object(Group, group_id))


@admin_view
def group_delete_view(request: HttpRequest, actor: Member, group_id: int) -> HttpResponse:
    group = _object(Group, group_id)
    form = GroupDeleteForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            moved = group_delete(actor=actor, group=group, transfer_to=form.cleaned_data["transfer_to"])
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Group “%(group)s” deleted; %(count)d of its records were given to %(member)s.")
                % {"group": group.name, "count": moved, "member": form.cleaned_data["transfer_to"].user.name},
            )
            return _redirect("groups")
    owned = sum(spec.records().filter(owner_group=group).count() for spec in registry.all_specs())
    return _page(request, "group_delete.html", "groups", {"group": group, "form": form, "owned": owned})


# ---------------------------------------------------------------------------------------------
# Sharing: organisation-wide defaults and sharing rules


def _sharing_page(
    request: HttpRequest, defaults: SharingDefaultsForm | None = None, rule_form: SharingRuleForm | None = None
) -> HttpResponse:
    rules = list(SharingRule.objects.select_related("source_role", "source_group", "target_role", "target_group"))
    by_module = [(spec, [r for r in rules if r.module == spec.key]) for spec in registry.all_specs()]
    context = {
        "defaults": defaults or SharingDefaultsForm(),
        "rule_form": rule_form or SharingRuleForm(),
        "rules_by_module": [(spec, found) for spec, found in by_module if found],
        "rule_count": len(rules),
    }
    return _page(request, "sharing.html", "sharing", context)


@admin_view
def sharing(request: HttpRequest, actor: Member) -> HttpResponse:
    form = SharingDefaultsForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        changes = form.changes()
        try:
            with transaction.atomic():
                for change in changes:
                    try:
                        sharing_default_set(actor=actor, **change)
                    except ValidationError as exc:
                        prefix = change["module"]
                        _service_errors(form, exc, {"access": f"{prefix}__access", "module": f"{prefix}__access"})
                        raise
        except ValidationError:
            pass
        else:
            if changes:
                messages.success(request, _("Organisation-wide defaults saved."))
            else:
                messages.info(request, _("Nothing changed."))
            return _redirect("sharing")
    return _sharing_page(request, defaults=form)


@require_POST
@admin_view
def sharing_rule_add(request: HttpRequest, actor: Member) -> HttpResponse:
    form = SharingRuleForm(request.POST)
    if form.is_valid():
        try:
            rule = sharing_rule_create(actor=actor, **form.service_kwargs())
        except ValidationError as exc:
            _service_errors(form, exc, SHARING_RULE_RENAMES)
        else:
            messages.success(request, _("Sharing rule added."))
            return _redirect("sharing", anchor=f"rule-{rule.pk}")
    return _sharing_page(request, rule_form=form)


@require_POST
@admin_view
def sharing_rule_delete_view(request: HttpRequest, actor: Member, rule_id: int) -> HttpResponse:
    rule = _object(SharingRule, rule_id)
    sharing_rule_delete(actor=actor, rule=rule)
    messages.success(request, _("Sharing rule deleted."))
    return _redirect("sharing", anchor="rules")


# ---------------------------------------------------------------------------------------------
# "Why can this member see this record?"


def _find_record(spec: ModuleSpec, value: str) -> Any:
    """A live record of the module by its id (as in its address) or its number."""
    value = value.strip()
    live = spec.records().filter(deleted_at__isnull=True)
    try:
        return live.filter(pk=uuid.UUID(value)).first()
    except ValueError:
        return live.filter(number__iexact=value).first()


@admin_view
def explain(request: HttpRequest, actor: Member) -> HttpResponse:
    form = ExplainForm(request.GET if "member" in request.GET else None)
    context: dict[str, Any] = {"form": form, "result": None}
    if form.is_bound and form.is_valid():
        spec = registry.get(form.cleaned_data["module"])
        record = _find_record(spec, form.cleaned_data["record"])
        if record is None:
            form.add_error(
                "record", _("No record of %(module)s has this number or id.") % {"module": spec.label_plural}
            )
        else:
            member = form.cleaned_data["member"]
            context.update(
                result=access_explain(actor=actor, member=member, spec=spec, record=record),
                record=record,
                spec=spec,
                subject=member,
            )
    return _page(request, "explain.html", "explain", context)


# ---------------------------------------------------------------------------------------------
# Security (sessions)


class SecurityForm(forms.Form):
    session_idle_minutes = forms.IntegerField(
        label=_("Sign members out after inactivity (minutes)"),
        min_value=0,
        max_value=60 * 24 * 30,
        help_text=_("0 keeps members signed in for two weeks unless they sign out. 30 to 480 is usual."),
    )


class MfaPolicyForm(forms.Form):
    required = forms.BooleanField(
        label=_("Require two-factor authentication for every member"),
        required=False,
        help_text=_("Members without an authenticator app or security key must set one up at their next sign-in."),
    )


@admin_view
def security(request: HttpRequest, actor: Member) -> HttpResponse:
    from crm_apps.access.mfa import workspace_mfa_require
    from crm_apps.access.services import workspace_session_idle_set
    from tenants.mfa.services import workspace_mfa_required

    tenant = request.tenant  # type: ignore[attr-defined]
    is_mfa = request.POST.get("form") == "mfa"
    form = SecurityForm(
        None if is_mfa else _posted(request), initial={"session_idle_minutes": tenant.session_idle_minutes}
    )
    mfa_form = MfaPolicyForm(_posted(request) if is_mfa else None, initial={"required": workspace_mfa_required(tenant)})
    if request.method == "POST" and is_mfa and mfa_form.is_valid():
        try:
            workspace_mfa_require(actor=actor, tenant=tenant, required=mfa_form.cleaned_data["required"])
        except ValidationError as exc:
            form_add_service_errors(mfa_form, exc)
        else:
            messages.success(request, _("Security settings saved."))
            return _redirect("security")
    elif request.method == "POST" and not is_mfa and form.is_valid():
        workspace_session_idle_set(actor=actor, tenant=tenant, minutes=form.cleaned_data["session_idle_minutes"])
        messages.success(request, _("Security settings saved."))
        return _redirect("security")
    return _page(request, "security.html", "security", {"form": form, "mfa_form": mfa_form})
