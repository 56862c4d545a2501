"""Record panels and workflow actions of the installed apps, read from their manifests.

A panel is a frame of the app's page, drawn by frontend/assets/app-frames.js once it scrolls into view
(never blocking the page), sandboxed, with the app's origin allowed in `frame-src` on that response
only, and a signed context (context.py) for the member, record, module and locale."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from django.core.signals import request_finished, request_started
from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation

from crm_apps.access.models import Member
from crm_apps.automation.action_types import ExternalAction
from crm_apps.engine import metadata, registry
from marketplace.installs.models import InstallationState
from marketplace.ui.context import context_sign
from marketplace.ui.models import AppInstall
from saas.headers import csp_allow

# allow-same-origin lets the frame keep the app's own origin (so the host can check event.origin and the
# app can reach its own server); it is safe only because an app's origin is never the platform's own
# (manifest validation refuses it): scripts in the frame can never reach the CRM page.
SANDBOX = "allow-scripts allow-forms allow-same-origin allow-popups"


def panels_apply(spec: Any) -> bool:
    from tenants.runtime import in_public_schema

    return not in_public_schema()


@dataclass(frozen=True)
class InstalledApp:
    """What frames and actions need of an installed app (memoised per tenant metadata version)."""

    installation_id: int
    slug: str
    name: str
    origin: str
    secret: str
    manifest: dict[str, Any]
    listing_id: int = 0

    @classmethod
    def of(cls, app: AppInstall) -> InstalledApp:
        installation = app.installation
        return cls(
            installation.pk,
            installation.slug,
            installation.name,
            app.origin,
            app.secret,
            installation.manifest,
            installation.listing_id,
        )

    def declared(self, kind: str) -> list[dict[str, Any]]:
        """The manifest's `ui.<kind>` declarations."""
        return list(((self.manifest.get("ui") or {}).get(kind)) or [])


def _load_installed() -> list[InstalledApp]:
    rows = (
        AppInstall.objects.select_related("installation")
        .filter(installation__state=InstallationState.INSTALLED)
        .exclude(origin="")
        .order_by("installation__name")
    )
    return [InstalledApp.of(app) for app in rows]


def installed_apps() -> list[InstalledApp]:
    """The installed apps with an origin; no query on a page once loaded for this metadata version
    (installs and uninstalls call `metadata_changed()`)."""
    return metadata.memoised(("marketplace_apps",), _load_installed)


# Suspensions read in this request (listing ids -> suspended ones): a page asks several times (panels,
# record actions); only between request_started and request_finished, so a worker never keeps it.
_request = threading.local()


def _request_begins(**kwargs: Any) -> None:
    _request.suspended = {}


def _request_ends(**kwargs: Any) -> None:
    _request.suspended = None


request_started.connect(_request_begins, dispatch_uid="marketplace-ui-suspended-start")
request_finished.connect(_request_ends, dispatch_uid="marketplace-ui-suspended-end")


def active_apps() -> list[InstalledApp]:
    """The installed apps whose OAuth app (same listing) operators have not suspended platform-wide: a
    suspension hides their frames and buttons at once (one query to `public` per request, only when apps
    are installed; suspension is not a tenant's metadata, so it is never memoised across requests)."""
    from marketplace.apps.models import App, AppStatus

    apps = installed_apps()
    if not apps:
        return []
    listings = tuple(sorted(app.listing_id for app in apps))
    seen: dict[tuple[int, ...], set[int]] | None = getattr(_request, "suspended", None)
    suspended = seen.get(listings) if seen is not None else None
    if suspended is None:
        suspended = set(
            App.objects.filter(listing_id__in=listings, status=AppStatus.SUSPENDED).values_list("listing_id", flat=True)
        )
        if seen is not None:
            seen[listings] = suspended
    return [app for app in apps if app.listing_id not in suspended]


def context_for(
    app: InstalledApp,
    *,
    request: HttpRequest,
    member: Member,
    ext: str,
    module: str,
    record_id: str | None,
    records: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """A signed context; `records` (the ids a list action was given) only for list actions; `extra` adds
    what a surface needs (click-to-call: `number`; a field type's panel: `field`, `value`, `can_edit`)."""
    tenant = getattr(request, "tenant", None)
    payload: dict[str, Any] = {
        "ws": request.get_host(),
        "tenant": getattr(tenant, "schema_name", ""),
        "ins": app.installation_id,
        "app": app.slug,
        "ext": ext,
        "member": member.pk,
        "module": module,
        "record": record_id,
        "locale": translation.get_language() or "en",
    }
    if records is not None:
        payload["records"] = records
    payload.update(extra or {})
    return context_sign(app.secret, payload)


def record_panels(record: Any, member: Member, request: HttpRequest) -> dict[str, Any]:
    spec = registry.spec_for_record(record)
    frames = []
    for app in active_apps():
        for item in ((app.manifest.get("ui") or {}).get("record_panels")) or []:
            if spec.key not in item["modules"]:
                continue
            ext = f"record_panels.{item['key']}"
            frames.append(
                {
                    "id": f"app-{app.slug}-{item['key']}",
                    "label": item["label"],
                    "app": app.name,
                    "src": item["url"],
                    "origin": app.origin,
                    "height": item.get("height", 240),
                    "context": context_for(
                        app, request=request, member=member, ext=ext, module=spec.key, record_id=str(record.pk)
                    ),
                    "refresh": reverse(
                        "marketplace_ui:context", args=[app.installation_id, ext, spec.key, str(record.pk)]
                    ),
                }
            )
            csp_allow(request, "frame-src", app.origin)
        frames += _field_frames(app, spec=spec, record=record, member=member, request=request)
    return {"frames": frames, "sandbox": SANDBOX}


def _field_frames(
    app: InstalledApp, *, spec: Any, record: Any, member: Member, request: HttpRequest
) -> list[dict[str, Any]]:
    """A frame per custom field of this app's field types (fields.py), showing and editing its value."""
    from crm_apps.access import visibility
    from marketplace.ui.fields import app_fields, app_may_write, field_context_extra

    frames: list[dict[str, Any]] = []
    fields = app_fields(app, spec)
    if not fields:
        return frames
    # Once per record, not once per field (can_edit may read the parent record).
    access = visibility.field_access(actor=member, spec=spec)
    editable = app_may_write(app, spec.key) and visibility.can_edit(actor=member, spec=spec, record=record)
    for field, item in fields:
        extra = field_context_extra(
            app=app, field=field, spec=spec, record=record, member=member, access=access, record_editable=editable
        )
        if extra is None:
            continue
        ext = f"fields.{field.key}"
        frames.append(
            {
                "id": f"app-{app.slug}-field-{field.key}",
                "label": field.label,
                "app": app.name,
                "src": item["panel"]["url"],
                "origin": app.origin,
                "height": item["panel"].get("height", 240),
                "context": context_for(
                    app,
                    request=request,
                    member=member,
                    ext=ext,
                    module=spec.key,
                    record_id=str(record.pk),
                    extra=extra,
                ),
                "refresh": reverse("marketplace_ui:context", args=[app.installation_id, ext, spec.key, str(record.pk)]),
            }
        )
        csp_allow(request, "frame-src", app.origin)
    return frames


def workflow_actions_for(module: str) -> list[ExternalAction]:
    """The installed apps' workflow actions offered on `module` (crm_apps.automation.action_types)."""
    from tenants.runtime import in_public_schema

    if in_public_schema():
        return []
    found = []
    for app in active_apps():
        for item in app.manifest.get("workflow_actions") or []:
            if module in item["modules"]:
                found.append(
                    ExternalAction(
                        type=f"app.{app.slug}.{item['key']}",
                        label=f"{item['label']} ({app.name})",
                        url=item["url"],
                        secret=app.secret,
                    )
                )
    return found
