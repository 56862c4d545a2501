"""In-app notifications a workflow sends (kind `workflow`), and who 'owner', 'manager', 'actor',
'member:<id>' and 'group:<id>' are for a record. Each recipient must be able to see the record."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm_apps.access import visibility
from crm_apps.access.models import Group, Member
from crm_apps.engine.display import record_url
from crm_apps.engine.models import CrmRecord
from crm_apps.engine.spec import ModuleSpec
from crm_apps.notifications import kinds
from crm_apps.notifications.services import notification_send

WORKFLOW = "workflow"

kinds.kind_register(
    kinds.Kind(
        key=WORKFLOW,
        label=_("Workflow messages"),
        title=_("%(record)s: %(body)s"),
        description=_("Messages that your workspace's workflows send you about records."),
    )
)


def managers_of(member: Member | None) -> list[Member]:
    """The active members holding the role directly above the member's role (the role tree)."""
    role = member.role if member is not None else None
    if role is None or role.parent_id is None:
        return []
    return list(Member.objects.select_related("user").filter(role_id=role.parent_id, active=True).order_by("pk"))


def recipients(targets: list[str], *, record: CrmRecord, actor: Member | None) -> list[Member]:
    found: dict[int, Member] = {}
    owner = getattr(record, "owner", None)
    for target in targets:
        people: list[Member] = []
        if target == "owner" and owner is not None:
            people = [owner]
        elif target == "manager":
            people = managers_of(owner)
        elif target == "actor" and actor is not None:
            people = [actor]
        elif target.startswith("member:"):
            people = list(Member.objects.select_related("user").filter(pk=int(target[7:]), active=True))
        elif target.startswith("group:"):
            group = Group.objects.filter(pk=int(target[6:])).first()
            people = list(group.members.select_related("user").filter(active=True)) if group else []
        for person in people:
            found.setdefault(person.pk, person)
    return list(found.values())


def send(
    *,
    recipients: list[Member],
    spec: ModuleSpec,
    record: CrmRecord,
    actor: Member | None,
    message: str,
    dedupe: str,
    system: bool = False,
) -> list[int]:
    """Notify each recipient who may see the record; the ids of those notified. A system workflow's
    shipped text is written in each recipient's language."""
    from django.utils.translation import override

    from crm_apps.automation.models import shipped_text

    sent: list[int] = []
    for member in recipients:
        if not visibility.visible_records(
            actor=member, spec=spec, queryset=spec.records().filter(pk=record.pk)
        ).exists():
            continue
        with override(member.language):
            body = shipped_text(message, system=system)
        notification = notification_send(
            recipient=member,
            kind=WORKFLOW,
            module=spec.key,
            record_id=record.pk,
            actor=actor,
            params={"record": str(record), "body": body[:500]},
            url=record_url(spec, record),
            dedupe_key=f"{dedupe}:{member.pk}",
        )
        if notification is not None:
            sent.append(member.pk)
    return sent
