"""Saved views of a list: the layout (columns, widths, density, page size) a member keeps with a view."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from crm_apps.access.models import Member
from crm_apps.engine.fieldaccess import field_rules
from crm_apps.engine.list_layout import layout_clean
from crm_apps.engine.models import SavedView
from crm_apps.engine.spec import ModuleSpec


@transaction.atomic
def saved_view_layout_save(*, spec: ModuleSpec, actor: Member, view: SavedView | None, layout: Any) -> SavedView:
    """Store a list layout on a view the actor owns (an admin also on a shared view) or, without a view,
    on the actor's own default view of the module. A bad layout is a ValidationError, nothing stored."""
    clean = layout_clean(spec, layout, rules=field_rules(actor=actor, spec=spec))
    if view is None:
        view = SavedView.objects.select_for_update().filter(
            owner=actor, module=spec.key, is_default=True
        ).first() or SavedView(owner=actor, module=spec.key, is_default=True, name=_("My list"))
    elif view.module != spec.key or (view.owner_id != actor.pk and not (view.shared and actor.is_admin)):
        raise PermissionDenied
    view.layout = clean
    view.save()
    return view
