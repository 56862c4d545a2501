"""The list actions this app puts on every module's list (engine extension point `list_action_add`)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm_apps.access.privileges import Privilege
from crm_apps.engine.extensions import list_action_add
from crm_apps.engine.spec import Action


def list_actions_register() -> None:
    list_action_add(
        Action(key="import", label=_("Import"), url_name="imports:new", requires=Privilege.CAN_IMPORT),
        applies=lambda spec: True,
    )
    list_action_add(
        Action(
            key="export_all",
            label=_("Export all matching"),
            url_name="imports:export_new",
            requires=Privilege.CAN_EXPORT,
        ),
        applies=lambda spec: True,
    )
