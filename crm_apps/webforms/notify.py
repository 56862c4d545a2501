"""The owner's notification about a web form submission (kind `webform_submission`)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm_apps.notifications.kinds import EMAIL, Kind, kind_register

KIND = "webform_submission"


def kind_install() -> None:
    kind_register(
        Kind(
            key=KIND,
            label=_("Web form submissions"),
            title=_("%(form)s: %(record)s"),
            default=EMAIL,
            description=_("A visitor sends one of the workspace's web forms and the record is yours."),
        )
    )


def submission_notify(*, form: Any, record: Any, linked: bool, module: str = "") -> None:
    """Tell the record's owner (a member; a group-owned record tells nobody) that a visitor wrote in.
    `module` is the record's (a lead form's submission may link to a contact), else the form's."""
    from crm_apps.access.models import Member
    from crm_apps.notifications.services import notification_send

    owner = Member.objects.filter(pk=record.owner_id, active=True).select_related("user").first()
    if owner is None:
        return
    notification_send(
        recipient=owner,
        kind=KIND,
        module=module or form.module,
        record_id=record.pk,
        params={"form": form.name, "record": str(record), "body": form.name},
        url=reverse("engine:detail", args=[module or form.module, record.pk]),
    )
