"""Dashboard widgets, record and list actions and settings pages of the installed apps (manifest `ui`),
drawn like record panels (panels.py): a sandboxed frame of the app's page, created by
frontend/assets/app-frames.js, its origin allowed in `frame-src` on that response only, and a signed
context naming the member, the surface (`ext`), the module and the record(s).

Who sees what:
- a widget: whoever sees the dashboard it was added to (the "add widget" choices list the installed apps'
  widgets); a widget of an app that is uninstalled is deleted, of a suspended app left out;
- a record/list action: members who may view the module, on modules the action declares AND the app's
  scopes can read (`<module>:read`); the ids passed are only those the member may see (visibility);
- a settings page: workspace administrators.
What this does not protect: what the app shows inside its frame is the app's (it reads the CRM through
the API with its own token and scopes, not the member's rights)."""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import reverse

from crm_apps.access import visibility
from crm_apps.access.api.scopes import scopes_held
from crm_apps.access.models import Member
from crm_apps.engine.extensions import ShownAction
from crm_apps.engine.spec import ModuleSpec
from crm_apps.reports.widgets import WidgetChoice, WidgetSource
from marketplace.ui.panels import SANDBOX, InstalledApp, active_apps, context_for
from saas.headers import csp_allow

WIDGET_KIND = "app"  # reports.Widget.kind of every app widget; config {"ref": "<installation id>.<key>"}
GRID_ROW_PX = 80  # the dashboard grid's cell height (frontend/assets/dashboards.js)
WIDGET_CHROME_PX = 56  # the widget's title bar
MAX_ACTION_RECORDS = 100  # ids in one list action's context (the selection of one list page is at most 100)


def active_app(installation_id: Any) -> InstalledApp | None:
    return next((app for app in active_apps() if app.installation_id == installation_id), None)


def declared(app: InstalledApp, kind: str, key: str) -> dict[str, Any] | None:
    return next((item for item in app.declared(kind) if item["key"] == key), None)


def frame(
    app: InstalledApp,
    item: dict[str, Any],
    *,
    kind: str,
    request: HttpRequest,
    member: Member,
    refresh: str,
    module: str = "",
    record_id: str | None = None,
    records: list[str] | None = None,
    height: int = 400,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What `_frame.html` draws for one declared item, and `frame-src` for the app's origin on this response."""
    ext = f"{kind}.{item['key']}"
    csp_allow(request, "frame-src", app.origin)
    return {
        "id": f"app-{app.slug}-{kind}-{item['key']}",
        "label": item["label"],
        "app": app.name,
        "src": item["url"],
        "origin": app.origin,
        "height": item.get("height", height),
        "sandbox": SANDBOX,
        "context": context_for(
            app,
            request=request,
            member=member,
            ext=ext,
            module=module,
            record_id=record_id,
            records=records,
            extra=extra,
        ),
        "refresh": refresh,
    }


# -- dashboard widgets (crm_apps.reports.widgets.widget_source_add) --------------------------------------


def widget_choices(actor: Member) -> dict[str, WidgetChoice]:
    """The installed apps' widgets, "<installation id>.<key>" -> label and grid size from the manifest."""
    found = {}
    for app in active_apps():
        for item in app.declared("dashboard_widgets"):
            height = int(item.get("height", 240))
            found[f"{app.installation_id}.{item['key']}"] = WidgetChoice(
                label=f"{item['label']} ({app.name})",
                w=int(item.get("width", 6)),
                h=max(2, math.ceil((height + WIDGET_CHROME_PX) / GRID_ROW_PX)),
            )
    return found


def _widget_item(ref: Any) -> tuple[InstalledApp, dict[str, Any]] | None:
    installation, _sep, key = str(ref).partition(".")
    app = active_app(int(installation)) if installation.isdigit() and len(installation) < 12 else None
    item = declared(app, "dashboard_widgets", key) if app is not None else None
    return (app, item) if app is not None and item is not None else None


def widget_draw(widget: Any, actor: Member, request: HttpRequest) -> dict[str, Any] | None:
    found = _widget_item((widget.config or {}).get("ref"))
    if found is None:
        return None  # the app is suspended, or its new version no longer declares the widget
    app, item = found
    ext = f"dashboard_widgets.{item['key']}"
    data = frame(
        app,
        item,
        kind="dashboard_widgets",
        request=request,
        member=actor,
        refresh=reverse("marketplace_ui:frame_context", args=[app.installation_id, ext]),
        height=240,
    )
    return {"template": "marketplace_ui/_frame.html", "data": {**data, "bare": True}}


WIDGETS = WidgetSource(kind=WIDGET_KIND, choices=widget_choices, draw=widget_draw)


# -- record and list actions (crm_apps.engine.extensions.*_action_provider_add) ---------------------------


def action_modules_allowed(app: InstalledApp, item: dict[str, Any], module: str) -> bool:
    """Declared for `module`, and the app's scopes may read it."""
    return module in item["modules"] and f"{module}:read" in scopes_held(app.manifest.get("scopes") or [])


def _action_buttons(kind: str, spec: ModuleSpec, member: Member, record: Any = None) -> list[ShownAction]:
    from tenants.runtime import in_public_schema

    if in_public_schema() or not visibility.can_view_module(actor=member, spec=spec):
        return []
    shown = []
    for app in active_apps():
        for item in app.declared(kind):
            if not action_modules_allowed(app, item, spec.key):
                continue
            url = reverse("marketplace_ui:action", args=[app.installation_id, f"{kind}.{item['key']}", spec.key])
            if record is not None:
                url += f"?ids={record.pk}"
            shown.append(
                ShownAction(f"app-{app.slug}-{item['key']}", f"{item['label']} ({app.name})", url, "get", False)
            )
    return shown


def record_action_buttons(spec: ModuleSpec, record: Any, member: Member) -> list[ShownAction]:
    return _action_buttons("record_actions", spec, member, record)


def selection_action_buttons(spec: ModuleSpec, member: Member) -> list[ShownAction]:
    return _action_buttons("list_actions", spec, member)


def visible_ids(*, member: Member, spec: ModuleSpec, ids: list[str]) -> list[str]:
    """The ids among `ids` of records of `spec` that `member` may see, in the order given, without repeats
    (malformed ids, other tenants' and invisible records are left out: a member cannot pass an app a
    record they cannot see)."""
    key_field = spec.model._meta.pk
    wanted: list[str] = []
    for raw in ids:
        try:
            value = str(key_field.to_python(raw))
        except (ValueError, ValidationError):
            continue
        if value not in wanted:
            wanted.append(value)
    if not wanted:
        return []
    queryset = visibility.visible_records(actor=member, spec=spec, queryset=spec.records().filter(pk__in=wanted))
    seen = {str(pk) for pk in queryset.values_list("pk", flat=True)}
    return [one for one in wanted if one in seen]


# -- settings pages -----------------------------------------------------------------------------------


def settings_links(*, installation_id: int | None = None) -> list[dict[str, Any]]:
    """The installed apps' settings pages (all, or one installation's), for the admin's Extensions pages."""
    return [
        {
            "label": item["label"],
            "app": app.name,
            "url": reverse("marketplace_ui:settings_page", args=[app.installation_id, item["key"]]),
        }
        for app in active_apps()
        if installation_id is None or app.installation_id == installation_id
        for item in app.declared("settings_pages")
    ]
