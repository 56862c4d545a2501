"""The app shell's data: the sidebar (menu groups of the module specs, in the member's order, without the
modules they hid, with their collapsed groups), the admin area, and the command palette's modules and
actions. Computed for the member of the request, from what they may view and create."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.engine.extensions import menu_groups
from crm_apps.engine.spec import ModuleSpec


@dataclass(frozen=True)
class NavLink:
    key: str
    label: str | Promise
    url: str
    icon: str


def sidebar_prefs(member: Member) -> dict[str, list[str]]:
    """The member's stored sidebar preferences, with every part present and of the right type."""
    raw = member.sidebar if isinstance(member.sidebar, dict) else {}
    return {
        part: [str(v) for v in raw.get(part, []) if isinstance(v, str)] for part in ("order", "hidden", "collapsed")
    }


def sidebar_groups(
    *, member: Member, include_hidden: bool = False, menu: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Menu groups with their modules in the member's order (modules they never ordered keep the declared
    order after the ordered ones); hidden modules left out unless `include_hidden`; empty groups dropped.
    `menu`: the member's `menu_groups`, when the caller has them already (one page computes them once)."""
    prefs = sidebar_prefs(member)
    rank = {key: index for index, key in enumerate(prefs["order"])}
    hidden = set(prefs["hidden"])
    collapsed = set(prefs["collapsed"])
    groups = []
    for group in menu if menu is not None else menu_groups(member=member):
        declared = group["modules"]
        ordered = sorted(declared, key=lambda s: (rank.get(s.key, len(rank)), declared.index(s)))
        modules = [{"spec": s, "key": s.key, "label": s.label_plural, "hidden": s.key in hidden} for s in ordered]
        if not include_hidden:
            modules = [m for m in modules if not m["hidden"]]
        if modules:
            groups.append({**group, "modules": modules, "collapsed": group["key"] in collapsed})
    return groups


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:  # an app that is not installed in this configuration
        return None


def admin_links(*, member: Member, plan_allows: dict[str, bool]) -> list[NavLink]:
    """The admin area (workspace settings), apart from daily work: only what this member may open."""
    links: list[tuple[str, str | Promise, str, str]] = []
    if member.is_admin:
        links += [("members", _("Members"), "access:members", "users")]
    if visibility.has_privilege(actor=member, privilege=Privilege.MANAGE_SETTINGS):
        links += [("settings", _("Modules and fields"), "crm_settings:index", "sliders-horizontal")]
        links += [("custom_modules", _("Custom modules"), "custom_modules:index", "layers")]
        links += [("finance", _("Finance"), "finance:taxes", "calculator")]
    if member.is_admin:
        if plan_allows.get("access_control", True):
            links += [("access", _("Access control"), "access_settings:index", "shield")]
        if plan_allows.get("marketplace", True):
            links += [("extensions", _("Extensions"), "marketplace:index", "puzzle")]
            links += [("apps", _("Apps"), "oauth_apps:installed", "puzzle")]
        links += [("partners", _("Partners"), "partner_access", "handshake")]
        links += [("automation", _("Automation"), "automation:index", "workflow")]
        if plan_allows.get("audit_trail", True):
            links += [("audit", _("Audit trail"), "audit:events", "scroll-text")]
    if visibility.has_privilege(actor=member, privilege=Privilege.CAN_IMPORT):
        links += [("imports", _("Imports and exports"), "imports:history", "upload")]
    sandbox = getattr(getattr(connection, "tenant", None), "is_sandbox", False)  # a sandbox is never billed
    if not sandbox and visibility.has_privilege(actor=member, privilege=Privilege.MANAGE_BILLING):
        links += [("billing", _("Billing"), "billing:page", "credit-card")]
    if plan_allows.get("api", True):
        links += [("api", _("API tokens"), "access:api_tokens", "key-round")]
    if member.is_admin:
        links += [("ui", _("Style guide"), "ui_style", "palette")]
    shown = []
    for key, label, name, icon in links:
        url = _url(name)
        if url is not None:
            shown.append(NavLink(key, label, url, icon))
    return shown


def creatable_modules(*, member: Member, menu: list[dict[str, Any]] | None = None) -> list[ModuleSpec]:
    """Modules (in sidebar order, hidden ones too) in which the member may create records: quick create."""
    return [
        m["spec"]
        for group in sidebar_groups(member=member, include_hidden=True, menu=menu)
        for m in group["modules"]
        if visibility.can_create(actor=member, spec=m["spec"])
    ]


def palette_entries(
    *,
    member: Member,
    plan_allows: dict[str, bool],
    menu: list[dict[str, Any]] | None = None,
    creatable: list[ModuleSpec] | None = None,
    admin: list[NavLink] | None = None,
) -> list[dict[str, str]]:
    """What the command palette offers without a query to the server: every module's list (and board),
    "New <module>" for each module the member may create in, the admin pages and the member's own pages."""
    entries: list[dict[str, str]] = [{"kind": "page", "label": str(_("Home")), "url": reverse("home"), "icon": "house"}]
    for group in sidebar_groups(member=member, include_hidden=True, menu=menu):
        for m in group["modules"]:
            spec: ModuleSpec = m["spec"]
            entries.append(
                {
                    "kind": "module",
                    "label": str(spec.label_plural),
                    "url": reverse("engine:list", args=[spec.key]),
                    "icon": spec.icon,
                    "hint": str(group["label"]),
                }
            )
            if spec.kanban_field:
                entries.append(
                    {
                        "kind": "module",
                        "label": str(_("%(module)s board") % {"module": spec.label_plural}),
                        "url": reverse("engine:board", args=[spec.key]),
                        "icon": "kanban",
                        "hint": str(group["label"]),
                    }
                )
    for spec in creatable if creatable is not None else creatable_modules(member=member, menu=menu):
        entries.append(
            {
                "kind": "action",
                "label": str(_("New %(module)s") % {"module": str(spec.label).lower()}),
                "url": reverse("engine:create", args=[spec.key]),
                "icon": "plus",
                "hint": str(spec.label_plural),
            }
        )
    for link in admin if admin is not None else admin_links(member=member, plan_allows=plan_allows):
        entries.append(
            {"kind": "page", "label": str(link.label), "url": link.url, "icon": link.icon, "hint": str(_("Settings"))}
        )
    entries.append(
        {"kind": "page", "label": str(_("Your profile")), "url": reverse("access:profile"), "icon": "circle-user"}
    )
    entries.append(
        {
            "kind": "page",
            "label": str(_("Customise the sidebar")),
            "url": reverse("sidebar_settings"),
            "icon": "panel-left",
        }
    )
    return entries
