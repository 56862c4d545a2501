"""What the generic screens read from a module's extension points (spec.py: Panel, Action, SettingsPage,
Menu, urls/api_urls). The engine never names a module: everything here iterates the registry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists
from django.http import HttpRequest
from django.urls import URLResolver, include, path, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.access.privileges import privilege_of
from crm_apps.engine import registry
from crm_apps.engine.spec import MENU_GROUPS, Action, HomeWidget, ModuleSpec, Panel

MENU_GROUP_LABELS: dict[str, str | Promise] = {
    "sales": _("Sales"),
    "inventory": _("Inventory"),
    "support": _("Support"),
    "marketing": _("Marketing"),
    "projects": _("Projects"),
    "tools": _("Tools"),
    "settings": _("Settings"),
}
PANEL_SLOTS = ("top", "main", "side")
RECORD_RIGHTS = {"view", "edit", "delete"}
MODULE_RIGHTS = {"view", "create"}


@dataclass(frozen=True)
class ShownAction:
    key: str
    label: str | Promise
    url: str
    method: str
    primary: bool


def _allowed(action: Action, *, member: Member, spec: ModuleSpec, record: Any = None) -> bool:
    if action.requires == "view":
        return True  # the page itself is only shown to members who may view the module (and the record)
    if action.requires == "create":
        return visibility.can_create(actor=member, spec=spec)
    if action.requires == "edit":
        return record is not None and visibility.can_edit(actor=member, spec=spec, record=record)
    if action.requires == "delete":
        return record is not None and visibility.can_delete(actor=member, spec=spec, record=record)
    return visibility.has_privilege(actor=member, privilege=privilege_of(action.requires))


def record_actions(*, spec: ModuleSpec, record: Any, member: Member) -> list[ShownAction]:
    """The module's record actions this member may use on this record (conditions and rights applied),
    then those the registered providers offer for it (`record_action_provider_add`)."""
    shown = [
        ShownAction(a.key, a.label, reverse(a.url_name, args=[record.pk]), a.method, a.primary)
        for a in spec.record_actions
        if (a.condition is None or a.condition(record)) and _allowed(a, member=member, spec=spec, record=record)
    ]
    for provider in _record_action_providers:
        shown += provider(spec, record, member)
    return shown


# Record and selection actions that are data of the workspace rather than code (an installed
# marketplace app's buttons): a provider is called per page with the module, (the record,) and the member,
# and returns the ready buttons - it applies its own rules and the member's rights. Added at start-up.
_record_action_providers: list[Callable[[ModuleSpec, Any, Member], list[ShownAction]]] = []
_selection_action_providers: list[Callable[[ModuleSpec, Member], list[ShownAction]]] = []


def record_action_provider_add(provider: Callable[[ModuleSpec, Any, Member], list[ShownAction]]) -> None:
    """Ask `provider(spec, record, member)` for more buttons on every record page."""
    if provider not in _record_action_providers:
        _record_action_providers.append(provider)


def selection_action_provider_add(provider: Callable[[ModuleSpec, Member], list[ShownAction]]) -> None:
    """Ask `provider(spec, member)` for more buttons in every list's "selected records" bar (each sends
    the selection by GET to its url as repeated `ids=<id>` parameters)."""
    if provider not in _selection_action_providers:
        _selection_action_providers.append(provider)


def list_actions(*, spec: ModuleSpec, member: Member, query: str = "") -> list[ShownAction]:
    """The module's list actions this member may use, plus the board of any module with a kanban field,
    then the actions other apps add to every list (`list_action_add`: reversed with the module's key and
    given the list's current `query`, its filters and search)."""
    shown = []
    if spec.kanban_field:
        shown.append(ShownAction("board", _("Board"), reverse("engine:board", args=[spec.key]), "get", False))
    shown += [
        ShownAction(a.key, a.label, reverse(a.url_name), a.method, a.primary)
        for a in spec.list_actions
        if _allowed(a, member=member, spec=spec)
    ]
    for action, applies in _list_actions:
        if applies(spec) and _allowed(action, member=member, spec=spec):
            url = reverse(action.url_name, args=[spec.key]) + (f"?{query}" if query else "")
            shown.append(ShownAction(action.key, action.label, url, action.method, action.primary))
    return shown


# List actions a feature app puts on the lists of *every* module it applies to (import, export all
# matching): (action, applies(spec) -> bool), added at start-up by the owning app; `url_name` takes the
# module key as its one argument.
_list_actions: list[tuple[Action, Callable[[ModuleSpec], bool]]] = []


def list_action_add(action: Action, *, applies: Callable[[ModuleSpec], bool]) -> None:
    """Offer `action` on the list of every module for which `applies(spec)` is true."""
    if all(existing.key != action.key for existing, _applies in _list_actions):
        _list_actions.append((action, applies))


# Actions on the records selected in a list (email them): (action, applies(spec) -> bool), added at
# start-up by the owning app. Shown as buttons in the list's "selected records" bar; the button sends
# the selection by GET to `url_name` reversed with the module key, as repeated `ids=<id>` parameters.
_selection_actions: list[tuple[Action, Callable[[ModuleSpec], bool]]] = []


def selection_action_add(action: Action, *, applies: Callable[[ModuleSpec], bool]) -> None:
    """Offer `action` for the selected records of every module for which `applies(spec)` is true."""
    if all(existing.key != action.key for existing, _applies in _selection_actions):
        _selection_actions.append((action, applies))


def selection_actions(*, spec: ModuleSpec, member: Member) -> list[ShownAction]:
    shown = [
        ShownAction(action.key, action.label, reverse(action.url_name, args=[spec.key]), "get", action.primary)
        for action, applies in _selection_actions
        if applies(spec) and _allowed(action, member=member, spec=spec)
    ]
    for provider in _selection_action_providers:
        shown += provider(spec, member)
    return shown


# Panels a feature app puts on the records of *other* modules (calls on contacts, documents on every
# record): (panel, applies(spec) -> bool), added at start-up by the app that owns the panel, which keeps
# its template, context function and rights checks. The engine still names no module.
_record_panels: list[tuple[Panel, Callable[[ModuleSpec], bool]]] = []


def record_panel_add(panel: Panel, *, applies: Callable[[ModuleSpec], bool]) -> None:
    """Show `panel` on the detail page of every module for which `applies(spec)` is true."""
    if all(existing.key != panel.key for existing, _applies in _record_panels):
        _record_panels.append((panel, applies))


def _panels_of(spec: ModuleSpec) -> list[Panel]:
    return [*spec.panels, *(p for p, applies in _record_panels if applies(spec))]


def _linked_flag(panel_key: str, name: str) -> str:
    return "page_linked_" + re.sub(r"\W", "_", f"{panel_key}__{name}")


def panel_flags(*, spec: ModuleSpec) -> dict[str, Exists]:
    """For `selectors.access_record(flags=...)`: per panel of `spec`'s page that declares `linked`, whether
    any of its rows are linked to the record at all (EXISTS, read with the record)."""
    return {
        _linked_flag(panel.key, name): Exists(rows)
        for panel in _panels_of(spec)
        if panel.linked is not None
        for name, rows in panel.linked(spec).items()
    }


def may_have_rows(record: Any, panel_key: str, name: str) -> bool:
    """False only when the record page read that no row of the panel's `linked` queryset `name` is linked to
    `record` at all, so the panel's (visibility-filtered) read of them can only come back empty; True when
    there are some or when nobody asked (the record was read without the flags)."""
    return bool(getattr(record, _linked_flag(panel_key, name), True))


def panels(*, spec: ModuleSpec, record: Any, member: Member, request: HttpRequest) -> dict[str, list[dict[str, Any]]]:
    """The module's detail panels by slot (its own, then those other apps add), each with its context."""
    by_slot: dict[str, list[dict[str, Any]]] = {slot: [] for slot in PANEL_SLOTS}
    for panel in _panels_of(spec):
        data = panel.context(record, member, request) if panel.context else {}
        by_slot[panel.slot].append({"key": panel.key, "template": panel.template, "data": data})
    return by_slot


# Timeline entries another app wrote with a key of its own in `data` (mail's "email": message id) link to
# that app's page instead of the record: (data_key, resolve(member, values) -> {value: url}), added at
# start-up. `resolve` answers only for the values the member may open, in one query for the whole page.
_timeline_links: list[tuple[str, Callable[[Member, list[Any]], dict[Any, str]]]] = []


def timeline_link_add(data_key: str, resolve: Callable[[Member, list[Any]], dict[Any, str]]) -> None:
    """Link timeline entries carrying `data[data_key]` to the page `resolve` gives for that value."""
    if all(existing != data_key for existing, _resolve in _timeline_links):
        _timeline_links.append((data_key, resolve))


def timeline_links(*, member: Member, entries: list[Any]) -> dict[int, str]:
    """entry pk -> url for the entries of a timeline page that a registered app links somewhere else."""
    found: dict[int, str] = {}
    for data_key, resolve in _timeline_links:
        wanted = {e.pk: e.data.get(data_key) for e in entries if e.data.get(data_key) is not None}
        if not wanted:
            continue
        urls = resolve(member, sorted(set(wanted.values()), key=str))
        found.update({pk: urls[value] for pk, value in wanted.items() if value in urls})
    return found


def home_widgets(*, member: Member) -> list[tuple[ModuleSpec, HomeWidget]]:
    """The home-page widgets of the modules this member may view (`spec.home_widgets`), in registry order;
    the home page merges them with its own and orders them by position."""
    return [
        (spec, widget)
        for spec in registry.all_specs()
        if spec.home_widgets and visibility.can_view_module(actor=member, spec=spec)
        for widget in spec.home_widgets
    ]


def settings_pages(spec: ModuleSpec) -> list[dict[str, Any]]:
    return [
        {"key": page.key, "label": page.label, "url": reverse(page.url_name), "description": page.description}
        for page in spec.settings_pages
    ]


def menu_groups(*, member: Member | None) -> list[dict[str, Any]]:
    """The navigation: modules the member may view, grouped by their declared menu group, ordered by
    group then position (then label); empty groups are left out."""
    if member is None:
        return []
    groups: dict[str, list[ModuleSpec]] = {key: [] for key in MENU_GROUPS}
    for spec in registry.all_specs():
        if visibility.can_view_module(actor=member, spec=spec):
            groups[spec.menu.group].append(spec)
    return [
        {
            "key": key,
            "label": MENU_GROUP_LABELS[key],
            "modules": sorted(specs, key=lambda s: (s.menu.position, str(s.label_plural))),
        }
        for key, specs in groups.items()
        if specs
    ]


def module_urlpatterns(*, api: bool = False) -> list[URLResolver]:
    """The modules' own URLconfs (`spec.urls`, or `spec.api_urls` for the API), in registry order;
    included before the generic routes so a module's fixed paths win over `<module>/<id>` patterns. Built-in
    modules only: the URLconf is built once per process, and a tenant's custom modules declare no routes."""
    found = []
    for spec in registry.builtin_specs():
        dotted = spec.api_urls if api else spec.urls
        if dotted:
            found.append(path("", include(dotted)))
    return found


@dataclass(frozen=True)
class AppLink:
    """A link to a feature that is not a module (reports, dashboards), shown in the sidebar under Home to
    every active member; `url_name` is reversed without arguments."""

    key: str
    label: str | Promise
    url_name: str
    icon: str
    position: int = 100


_app_links: list[AppLink] = []


def app_link_add(link: AppLink) -> None:
    """Register a sidebar link (an app's AppConfig.ready()); registering the same key twice keeps the first."""
    if all(existing.key != link.key for existing in _app_links):
        _app_links.append(link)


def app_links(*, member: Member | None) -> list[dict[str, Any]]:
    if member is None or not member.active:
        return []
    return [
        {"key": link.key, "label": link.label, "url": reverse(link.url_name), "icon": link.icon}
        for link in sorted(_app_links, key=lambda x: (x.position, x.key))
    ]
