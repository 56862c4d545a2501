"""Dashboards: which a member may open (their own and the shared ones) and change (their own; shared ones:
tenant admins), adding and removing widgets, saving the grid layout, quotas (managers)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege, is_tenant_admin
from crm_apps.reports import selectors
from crm_apps.reports.cache import data_changed
from crm_apps.reports.models import Dashboard, Quota, Widget
from crm_apps.reports.widgets import (
    KINDS,
    MINI_LIST_MAX_ROWS,
    MINI_LIST_ROWS,
    default_dashboard,
    saved_view_choices,
    widget_source,
)

GRID_COLUMNS = 12
MAX_WIDGETS = 30


def dashboards_for(*, actor: Member) -> QuerySet[Dashboard]:
    default_dashboard()
    return Dashboard.objects.filter(Q(shared=True) | Q(owner=actor))


def dashboard_get(*, actor: Member, dashboard_id: Any) -> Dashboard | None:
    if not str(dashboard_id).isdigit() or len(str(dashboard_id)) > 12:
        return None
    return dashboards_for(actor=actor).filter(pk=int(dashboard_id)).first()


def can_change(actor: Member, dashboard: Dashboard) -> bool:
    return dashboard.owner_id == actor.pk or (dashboard.shared and is_tenant_admin(actor))


def _require_change(actor: Member, dashboard: Dashboard) -> None:
    if not can_change(actor, dashboard):
        raise PermissionDenied(_("Only the dashboard's owner can change it."))


def dashboard_create(*, actor: Member, name: Any, shared: bool = False) -> Dashboard:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
        raise ValidationError({"name": [_("Enter a name of at most 100 characters.")]})
    if shared and not is_tenant_admin(actor):
        raise PermissionDenied(_("Only administrators share dashboards with everyone."))
    return Dashboard.objects.create(name=name.strip(), owner=None if shared else actor, shared=shared)


def dashboard_delete(*, actor: Member, dashboard: Dashboard) -> None:
    _require_change(actor, dashboard)
    dashboard.delete()


def widget_add(*, actor: Member, dashboard: Dashboard, kind: Any, report_id: Any = None, config: Any = None) -> Widget:
    _require_change(actor, dashboard)
    errors: dict[str, list[str]] = {}
    contributed = None  # a widget another app offers: "<source kind>:<ref>" (widgets.widget_source_add)
    if isinstance(kind, str) and ":" in kind:
        kind, _sep, ref = kind.partition(":")
        source = widget_source(kind)
        contributed = source.choices(actor).get(ref) if source is not None else None
        if contributed is None:
            errors["kind"] = [_("Choose a widget.")]
        config = {"ref": ref}
    elif kind not in KINDS:
        errors["kind"] = [_("Choose a widget.")]
    report = None
    if kind == "report":
        report = selectors.report_get(actor=actor, report_id=report_id) if report_id not in (None, "") else None
        if report is None:
            errors["report"] = [_("Choose one of your reports.")]
    if config is not None and not isinstance(config, dict):
        errors["config"] = [_("Send an object.")]
    elif kind == "saved_view":
        view_id = (config or {}).get("view")
        if not isinstance(view_id, int) or view_id not in dict(saved_view_choices(actor)):
            errors["view"] = [_("Choose one of your saved list views.")]
        rows = (config or {}).get("rows", MINI_LIST_ROWS)
        if not isinstance(rows, int) or isinstance(rows, bool) or not 1 <= rows <= MINI_LIST_MAX_ROWS:
            errors["rows"] = [_("Enter a number of rows between 1 and %(n)d.") % {"n": MINI_LIST_MAX_ROWS}]
    if dashboard.widgets.count() >= MAX_WIDGETS:
        errors["kind"] = [_("A dashboard holds at most %(n)d widgets.") % {"n": MAX_WIDGETS}]
    if errors:
        raise ValidationError(errors)
    bottom = max((w.y + w.h for w in dashboard.widgets.all()), default=0)
    width, height = (contributed.w, contributed.h) if contributed is not None else (6, 4)
    return Widget.objects.create(
        dashboard=dashboard, kind=kind, report=report, config=config or {}, y=bottom, w=width, h=height
    )


def widget_remove(*, actor: Member, widget: Widget) -> None:
    _require_change(actor, widget.dashboard)
    widget.delete()


@transaction.atomic
def layout_save(*, actor: Member, dashboard: Dashboard, items: Any) -> None:
    """Positions and sizes from the grid: [{"id", "x", "y", "w", "h"}] (every id a widget of this dashboard)."""
    _require_change(actor, dashboard)
    if not isinstance(items, list) or len(items) > MAX_WIDGETS:
        raise ValidationError({"widgets": [_("Send the list of widgets.")]})
    widgets = {w.pk: w for w in dashboard.widgets.select_for_update()}
    for index, item in enumerate(items):
        ok = isinstance(item, dict) and item.get("id") in widgets
        values = [item.get(k) for k in ("x", "y", "w", "h")] if ok else []
        if not ok or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 1000 for v in values):
            raise ValidationError({f"widgets.{index}": [_("Unknown widget or bad position.")]})
        x, y, w, h = values
        if w < 1 or h < 1 or x + w > GRID_COLUMNS:
            raise ValidationError({f"widgets.{index}": [_("Unknown widget or bad position.")]})
        widget = widgets[item["id"]]
        widget.x, widget.y, widget.w, widget.h = x, y, w, h
    Widget.objects.bulk_update(list(widgets.values()), ["x", "y", "w", "h"])


def quota_set(*, actor: Member, member_id: Any, month: Any, amount: Any) -> Quota:
    """Managers (manage-settings privilege) set a member's quota for a month (amount in the base currency)."""
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied(_("Only managers set quotas."))
    errors: dict[str, list[str]] = {}
    member = Member.objects.filter(pk=member_id, active=True).first() if isinstance(member_id, int) else None
    if member is None:
        errors["member"] = [_("Unknown member.")]
    try:
        first = dt.date.fromisoformat(
            f"{month}-01" if isinstance(month, str) and len(month) == 7 else str(month)
        ).replace(day=1)
    except ValueError:
        errors["month"] = [_("Enter a month as YYYY-MM.")]
    try:
        value = Decimal(str(amount))
        if not value.is_finite() or value < 0 or value >= Decimal("1e14"):
            raise InvalidOperation
    except InvalidOperation:
        errors["amount"] = [_("Enter a positive amount.")]
    if errors:
        raise ValidationError(errors)
    quota, _created = Quota.objects.update_or_create(
        member=member, month=first, defaults={"amount": value.quantize(Decimal("0.01"))}
    )
    data_changed()  # quota and forecast widgets' cached results
    return quota
