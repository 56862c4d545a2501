"""notification_send and its producers: preferences (off / in the app / email), de-duplication, who
gets what (mentions, assignments, changes on followed records), titles in the reader's language."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils.translation import override
from django_tenants.utils import schema_context

from crm_apps.access.services import sharing_default_set
from crm_apps.engine import registry, services
from crm_apps.notifications import kinds
from crm_apps.notifications.models import Notification
from crm_apps.notifications.selectors import notification_title, unread_count
from crm_apps.notifications.services import notification_send, preferences_set

pytestmark = pytest.mark.django_db

CONTACTS = registry.get("contacts")
DEALS = registry.get("deals")


@pytest.fixture
def team(tenant_a: Any, admin_of: Any, member: Any) -> Any:
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        mia = member(tenant_a, email="mia-notify@example.com")
        leo = member(tenant_a, email="leo-notify@example.com")
        record = services.record_create(spec=CONTACTS, actor=admin, data={"last_name": "Lovelace"})
        yield admin, mia, leo, record


def _send(recipient: Any, actor: Any, record: Any, **kw: Any) -> Any:
    return notification_send(
        recipient=recipient,
        kind=kw.pop("kind", kinds.MENTION),
        module="contacts",
        record_id=record.pk,
        actor=actor,
        params={"record": str(record)},
        url=f"/m/contacts/{record.pk}/",
        **kw,
    )


@pytest.mark.parametrize(
    ("channel", "stored", "emails"), [("off", 0, 0), ("inapp", 1, 0), ("email", 1, 1)], ids=["off", "inapp", "email"]
)
def test_the_members_channel_decides_what_is_sent(
    team, channel, stored, emails, mailoutbox, django_capture_on_commit_callbacks
):
    admin, mia, _leo, record = team
    preferences_set(member=mia, channels={kinds.MENTION: channel})

    with django_capture_on_commit_callbacks(execute=True):
        _send(mia, admin, record)

    assert Notification.objects.filter(recipient=mia).count() == stored
    assert len(mailoutbox) == emails
    if emails:
        assert mailoutbox[0].to == ["mia-notify@example.com"]
        assert mailoutbox[0].subject == f"{admin.user.name} mentioned you on {record}"
        assert f"/m/contacts/{record.pk}/" in mailoutbox[0].body
        assert "/notifications/preferences/" in mailoutbox[0].body


def test_without_a_choice_the_kinds_default_applies(team, mailoutbox, django_capture_on_commit_callbacks):
    admin, mia, _leo, record = team

    with django_capture_on_commit_callbacks(execute=True):
        _send(mia, admin, record, kind=kinds.MENTION)  # default: email
        _send(mia, admin, record, kind=kinds.RECORD_CHANGED)  # default: in the app

    assert Notification.objects.filter(recipient=mia).count() == 2
    assert len(mailoutbox) == 1


def test_nobody_is_notified_of_their_own_action_nor_while_inactive(team):
    admin, mia, _leo, record = team
    mia.active = False
    mia.save(update_fields=["active"])

    assert _send(admin, admin, record) is None
    assert _send(mia, admin, record) is None
    assert Notification.objects.count() == 0


def test_a_repeated_dedupe_key_sends_once(team, mailoutbox, django_capture_on_commit_callbacks):
    admin, mia, leo, record = team

    with django_capture_on_commit_callbacks(execute=True):
        first = _send(mia, admin, record, dedupe_key="reminder:1:15")
        again = _send(mia, admin, record, dedupe_key="reminder:1:15")
        other_member = _send(leo, admin, record, dedupe_key="reminder:1:15")

    assert first is not None and again is None and other_member is not None
    assert Notification.objects.filter(recipient=mia).count() == 1
    assert sorted(m.to[0] for m in mailoutbox) == ["leo-notify@example.com", "mia-notify@example.com"]


def test_unknown_kinds_and_channels_are_refused_and_nothing_is_saved(team):
    _admin, mia, _leo, record = team

    with pytest.raises(ValidationError) as error:
        preferences_set(member=mia, channels={kinds.MENTION: "off", "nonsense": "email", kinds.ASSIGNMENT: "loud"})

    assert set(error.value.message_dict) == {"nonsense", kinds.ASSIGNMENT}
    from crm_apps.notifications.models import NotificationPreference

    assert not NotificationPreference.objects.filter(member=mia).exists()
    with pytest.raises(ValueError):
        _send(mia, _admin, record, kind="nonsense")


def test_the_title_is_rendered_in_the_readers_language(team):
    admin, mia, _leo, record = team
    notification = _send(mia, admin, record, kind=kinds.ASSIGNMENT)

    with override("en"):
        english = notification_title(notification)
    with override("ru"):
        russian = notification_title(notification)

    assert english == f"{admin.user.name} assigned {record} to you"
    assert russian != english and admin.user.name in russian and str(record) in russian


def test_a_mention_notifies_only_the_mentioned_members_who_can_see_the_record(team, member, tenant_a):
    admin, mia, leo, record = team
    services.record_update(spec=CONTACTS, actor=admin, record=record, data={"owner": mia.pk})
    Notification.objects.all().delete()
    sharing_default_set(actor=admin, module="contacts", access="private", follow_parent=False)
    outsider = member(tenant_a, email="outsider-notify@example.com")

    services.comment_add(
        spec=CONTACTS,
        actor=admin,
        record=record,
        body="@mia-notify@example.com and @outsider-notify@example.com, look",
    )

    assert list(Notification.objects.values_list("recipient", "kind")) == [(mia.pk, kinds.MENTION)]
    assert unread_count(member=outsider) == 0 and unread_count(member=leo) == 0


def test_a_mention_creates_one_in_app_notification_with_the_comment(team):
    admin, mia, leo, record = team

    comment = services.comment_add(spec=CONTACTS, actor=admin, record=record, body="Call them, @mia-notify@example.com")

    notification = Notification.objects.get()
    assert (notification.recipient, notification.kind, notification.actor) == (mia, kinds.MENTION, admin)
    assert (notification.module, notification.record_id) == ("contacts", record.pk)
    assert notification.params["body"] == "Call them, @mia-notify@example.com"
    assert notification.dedupe_key == f"mention:{comment.pk}"
    assert notification.url == f"/m/contacts/{record.pk}/#comment-{comment.pk}"  # opens on the comment itself
    assert unread_count(member=leo) == 0


def test_giving_a_record_to_a_colleague_notifies_only_the_new_owner(team):
    admin, mia, leo, record = team

    services.record_update(spec=CONTACTS, actor=admin, record=record, data={"owner": mia.pk})
    services.record_update(spec=CONTACTS, actor=admin, record=record, data={"last_name": "Byron"})

    notification = Notification.objects.get()
    assert (notification.recipient, notification.kind, notification.actor) == (mia, kinds.ASSIGNMENT, admin)
    assert notification.params["record"] == "Lovelace"  # the name when it was sent
    assert unread_count(member=leo) == 0 and unread_count(member=admin) == 0


def test_creating_a_record_for_a_colleague_is_an_assignment_but_for_oneself_is_not(team):
    admin, mia, _leo, _record = team

    mine = services.record_create(spec=CONTACTS, actor=admin, data={"last_name": "Mine"})
    theirs = services.record_create(spec=CONTACTS, actor=admin, data={"last_name": "Theirs", "owner": mia.pk})

    assert list(Notification.objects.values_list("recipient", "kind", "record_id")) == [
        (mia.pk, kinds.ASSIGNMENT, theirs.pk)
    ]
    assert not Notification.objects.filter(record_id=mine.pk).exists()


def test_taking_a_record_for_oneself_notifies_nobody(team):
    admin, mia, _leo, record = team
    services.record_update(spec=CONTACTS, actor=admin, record=record, data={"owner": mia.pk})
    Notification.objects.all().delete()

    services.record_update(spec=CONTACTS, actor=mia, record=record, data={"owner": mia.pk})
    sharing_default_set(actor=admin, module="contacts", access="public_read_write")
    services.record_update(spec=CONTACTS, actor=mia, record=record, data={"owner": admin.pk})

    assert list(Notification.objects.values_list("recipient", "kind")) == [(admin.pk, kinds.ASSIGNMENT)]


def test_a_deal_stage_change_notifies_its_followers_but_not_the_actor_nor_others(team):
    from crm_apps.modules.deals.services import deal_set_stage, default_pipeline

    admin, mia, leo, _record = team
    sharing_default_set(actor=admin, module="deals", access="public_read_write")
    deal = services.record_create(
        spec=DEALS, actor=admin, data={"name": "Big one", "amount": "100", "close_date": "2026-12-31"}
    )
    services.follow_set(spec=DEALS, actor=mia, record=deal, following=True)
    services.follow_set(spec=DEALS, actor=admin, record=deal, following=True)
    stages = list(default_pipeline().stages.order_by("position"))

    deal_set_stage(actor=admin, deal=deal, stage_id=stages[1].pk)
    services.record_update(spec=DEALS, actor=admin, record=deal, data={"name": "Bigger one"})  # not watched

    notification = Notification.objects.get()
    assert (notification.recipient, notification.kind) == (mia, kinds.RECORD_CHANGED)
    assert notification.params["body"] == f"{stages[0].name} → {stages[1].name}"
    assert notification.params["field"] == "stage"
    assert unread_count(member=leo) == 0


def test_a_follower_who_can_no_longer_see_the_record_is_not_told(team, tenant_a):
    from crm_apps.modules.deals.services import deal_set_stage, default_pipeline

    admin, mia, _leo, _record = team
    sharing_default_set(actor=admin, module="deals", access="public_read")
    deal = services.record_create(
        spec=DEALS, actor=admin, data={"name": "Secret", "amount": "100", "close_date": "2026-12-31"}
    )
    services.follow_set(spec=DEALS, actor=mia, record=deal, following=True)
    sharing_default_set(actor=admin, module="deals", access="private")

    deal_set_stage(actor=admin, deal=deal, stage_id=default_pipeline().stages.order_by("position")[1].pk)

    assert not Notification.objects.filter(recipient=mia).exists()


def test_a_rolled_back_change_notifies_nobody(team):
    from django.db import transaction

    admin, mia, _leo, record = team

    with pytest.raises(RuntimeError), transaction.atomic():
        services.record_update(spec=CONTACTS, actor=admin, record=record, data={"owner": mia.pk})
        raise RuntimeError

    assert not Notification.objects.exists()


def test_a_batch_created_for_a_colleague_notifies_them_once_per_record(team):
    admin, mia, _leo, _record = team

    records = services.records_create_batch(
        spec=CONTACTS,
        actor=admin,
        items=[({"last_name": "One", "owner": mia.pk}, None), ({"last_name": "Two", "owner": mia.pk}, None)],
    )

    assert sorted(
        Notification.objects.filter(recipient=mia, kind=kinds.ASSIGNMENT).values_list("params__record", flat=True)
    ) == [
        "One",
        "Two",
    ]
    assert len(records) == 2


def test_a_follower_reads_the_field_in_their_language_and_the_sentence_in_the_active_one(team):
    from crm_apps.access.models import Member
    from crm_apps.modules.deals.services import deal_set_stage, default_pipeline

    admin, mia, _leo, _record = team
    Member.objects.filter(pk=mia.pk).update(language="ru")
    mia.refresh_from_db()
    sharing_default_set(actor=admin, module="deals", access="public_read")
    deal = services.record_create(spec=DEALS, actor=admin, data={"name": "Сделка", "close_date": "2026-12-31"})
    services.follow_set(spec=DEALS, actor=mia, record=deal, following=True)

    deal_set_stage(actor=admin, deal=deal, stage_id=default_pipeline().stages.order_by("position")[1].pk)

    notification = Notification.objects.get(recipient=mia)
    assert notification.params["field"] == "этап"
    with override("ru"):
        assert notification_title(notification) == f"{admin.user.name} изменил(а) поле «этап»: Сделка"
