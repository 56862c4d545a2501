"""Emails the engine sends: @mentions in comments."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import override

from crm_apps.access.models import Member
from crm_apps.engine.models import Comment, CrmRecord
from crm_apps.engine.spec import ModuleSpec
from tenants.mail import mail_enqueue
from tenants.runtime import current_schema
from tenants.services import tenant_url


def mention_notify(*, spec: ModuleSpec, record: CrmRecord, comment: Comment, members: list[Member]) -> None:
    """Tell each mentioned member, in their own language, where they were mentioned."""
    url = tenant_url(current_schema(), f"/m/{spec.key}/{record.pk}/")
    for member in members:
        with override(member.language):
            mail_enqueue(
                to=[member.user.email],
                subject=_("%(name)s mentioned you") % {"name": comment.author.user.name},
                template="engine/email/mention.txt",
                context={
                    "author": comment.author.user.name,
                    "record": str(record),
                    "body": comment.body,
                    "url": url,
                },
            )
