"""Where the engine tells members about @mentions in comments: the notification centre
(`crm_apps.notifications`) sends each one in the app and/or by email, as the member chose."""

from __future__ import annotations

from crm_apps.access.models import Member
from crm_apps.engine.display import record_url
from crm_apps.engine.models import Comment, CrmRecord
from crm_apps.engine.spec import ModuleSpec


def mention_notify(*, spec: ModuleSpec, record: CrmRecord, comment: Comment, members: list[Member]) -> None:
    """Tell each mentioned member where they were mentioned (once per comment, as they chose)."""
    from crm_apps.notifications import kinds
    from crm_apps.notifications.services import notification_send

    for member in members:
        notification_send(
            recipient=member,
            kind=kinds.MENTION,
            module=spec.key,
            record_id=record.pk,
            actor=comment.author,
            params={"record": str(record), "body": comment.body},
            url=record_url(spec, record),
            dedupe_key=f"mention:{comment.pk}",
        )
