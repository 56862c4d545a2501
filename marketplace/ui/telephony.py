"""Installed apps as telephony providers (manifest `telephony`, needs `calls:write`).

- Call events: the app posts to the workspace's telephony webhook (`/api/v1/telephony/events`) with
  `X-Telephony-Provider: app-<installation id>` and `X-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
  "<t>.<body>", keyed with the app secret>` (within 5 minutes; the older `sha256=<hex HMAC of the body>`
  is still accepted); calls/providers.py picks the provider's secret. Each event counts in the app's
  per-minute budget (429 with Retry-After). The app's call ids are its own (Call.provider).
  Ringing / answered / missed / busy / failed, duration and recording URL as in the calls README; the
  audit trail names the app (creations and updates).
- Click-to-call: with `telephony.click_to_call`, phone numbers link to `/marketplace/app/call/<id>/?number=`,
  a page framing the app's URL with the number in the signed context (views.call_page).

Only `active_apps()` are providers: an uninstalled app (secret deleted) or one operators suspended is
refused on its next event and its links disappear from the next page. Another workspace's installation
id names nothing here (or another installation whose secret differs).
"""

from __future__ import annotations

from functools import partial

from django.urls import reverse

from crm_apps.modules.calls.providers import TelephonyProvider
from marketplace.ui.panels import InstalledApp, active_apps

PROVIDER_PREFIX = "app-"


def provider_key(app: InstalledApp) -> str:
    return f"{PROVIDER_PREFIX}{app.installation_id}"


def telephony_app(installation_id: int) -> InstalledApp | None:
    """The active app of this installation if it declares a telephony provider."""
    return next(
        (a for a in active_apps() if a.installation_id == installation_id and a.manifest.get("telephony")), None
    )


def _budget(listing_id: int, installation_id: int) -> tuple[bool, int]:
    """Each call event counts in the app's per-minute budget in this workspace (marketplace.apps.rate)."""
    from django.db import connection

    from marketplace.apps.rate import installed_app_rate_allows

    tenant = getattr(connection, "tenant", None)
    return installed_app_rate_allows(
        listing_id=listing_id, installation_id=installation_id, tenant_id=getattr(tenant, "pk", 0) or 0
    )


def app_telephony_providers() -> list[TelephonyProvider]:
    """calls.providers source: the active apps that declare `telephony` in this workspace."""
    from tenants.runtime import in_public_schema

    if in_public_schema():
        return []
    found = []
    for app in active_apps():
        telephony = app.manifest.get("telephony")
        if not telephony:
            continue
        click = telephony.get("click_to_call")
        found.append(
            TelephonyProvider(
                key=provider_key(app),
                label=app.name,
                # An app that only offers click-to-call reports no events: no secret, every event refused.
                secret=app.secret if telephony.get("events") else "",
                click_to_call_url=reverse("marketplace_ui:call", args=[app.installation_id]) if click else "",
                budget=partial(_budget, app.listing_id, app.installation_id),
            )
        )
    return found
