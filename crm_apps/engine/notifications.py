"""Where the engine tells members about @mentions in comments: the notification centre
(`crm_apps.notifications`) sends each one in the app and/or by email, as the member chose."""

from __future__ import annotations

from crm_apps.access.models import Member
from crm_apps.engine.display import record_url
from crm_apps.engine.mentions import comment_text
from crm_apps.engine.models import Comment, CrmRecord
from crm_apps.engine.spec import ModuleSpec


def comment_path(*, spec: ModuleSpec, record: CrmRecord, comment: Comment) -> str:
    """The address of one comment on this host: the record's page, scrolled to it."""
    return f"{record_url(spec, record)}#comment-{comment.pk}"


def mention_notify(*, spec: ModuleSpec, record: CrmRecord, comment: Comment, members: list[Member]) -> None:
    """The one place mentions are dispatched: `comment_add` calls it with the active members a comment
    mentions who may see the record (never the author); each is told once per comment, as they chose."""
    from crm_apps.notifications import kinds
    from crm_apps.notifications.services import notification_send

    for member in members:
        notification_send(
            recipient=member,
            kind=kinds.MENTION,
            module=spec.key,
            record_id=record.pk,
            actor=comment.author,
            params={"record": str(record), "body": comment_text(comment.body)},
            url=comment_path(spec=spec, record=record, comment=comment),
            dedupe_key=f"mention:{comment.pk}",
        )
