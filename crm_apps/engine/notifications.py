"""Notifications the engine sends: @mentions in comments."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import override

from crm_apps.access.models import Member
from crm_apps.engine.display import record_url
from crm_apps.engine.mentions import comment_text
from crm_apps.engine.models import Comment, CrmRecord
from crm_apps.engine.spec import ModuleSpec
from tenants.mail import mail_enqueue
from tenants.runtime import current_schema
from tenants.services import tenant_url


def comment_url(*, spec: ModuleSpec, record: CrmRecord, comment: Comment) -> str:
    """The absolute address of one comment: the record's page, scrolled to it."""
    return tenant_url(current_schema(), f"{record_url(spec, record)}#comment-{comment.pk}")


def mention_notify(*, spec: ModuleSpec, record: CrmRecord, comment: Comment, members: list[Member]) -> None:
    """The one place mentions are dispatched: `comment_add` calls it with the active members a comment
    mentions who may see the record (never the author). Today it emails each of them, in their own
    language, a link to the comment; further channels (in-app notifications) hook in here."""
    url = comment_url(spec=spec, record=record, comment=comment)
    for member in members:
        with override(member.language):
            mail_enqueue(
                to=[member.user.email],
                subject=_("%(name)s mentioned you") % {"name": comment.author.user.name},
                template="engine/email/mention.txt",
                context={
                    "author": comment.author.user.name,
                    "record": str(record),
                    "body": comment_text(comment.body),
                    "url": url,
                },
            )
