"""@mentions: member suggestions for the comment box, mentions stored by member id (and by email, as
before), rendered as links with the viewer's own highlighted, and emails that link to the comment."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import tenant_context

from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.mentions import comment_html, comment_text
from crm_apps.engine.models import Comment
from crm_apps.engine.services import comment_add, record_create

pytestmark = pytest.mark.django_db
SEARCH = "/mentions/members.json"


def named(member_obj, name):
    user = member_obj.user
    user.name = name
    user.save(update_fields=["name"])
    return member_obj


def deal(tenant, actor):
    spec = registry.get("deals")
    with tenant_context(tenant):
        return record_create(spec=spec, actor=actor, data=dict(spec.example))


def test_suggestions_match_names_and_emails_of_active_colleagues_in_this_tenant(
    client_for, tenant_a, tenant_b, admin_of, member
):
    alice = named(member(tenant_a, email="alice.liddell@example.com"), "Alice Liddell")
    albert = named(member(tenant_a, email="bert@example.com"), "Albert Hall")
    named(member(tenant_a, email="alan@example.com", active=False), "Alan Gone")
    named(member(tenant_b, email="alfred@example.com"), "Alfred Elsewhere")
    named(member(tenant_a, email="zed@example.com"), "Zed Alvarez")
    client = client_for(tenant_a, admin_of(tenant_a))

    by_name = client.get(SEARCH, {"q": "al"}).json()
    by_email = client.get(SEARCH, {"q": "bert@"}).json()
    empty = client.get(SEARCH, {"q": ""}).json()

    assert [r["name"] for r in by_name["results"]] == ["Albert Hall", "Alice Liddell", "Zed Alvarez"]
    assert by_name["results"][1] == {"id": alice.pk, "name": "Alice Liddell", "email": "alice.liddell@example.com"}
    assert by_email["results"] == [{"id": albert.pk, "name": "Albert Hall", "email": "bert@example.com"}]
    assert empty == {"results": []}


def test_suggestions_need_a_member_of_this_tenant(client_for, tenant_a, tenant_b, admin_of):
    anonymous = client_for(tenant_a).get(SEARCH, {"q": "a"})
    stranger = client_for(tenant_a, admin_of(tenant_b)).get(SEARCH, {"q": "a"})

    assert anonymous.status_code == 302
    assert stranger.status_code == 302


def test_a_mention_by_id_is_stored_and_emails_a_link_to_the_comment(
    client_for, tenant_a, admin_of, member, mailoutbox, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    alice = named(member(tenant_a, email="alice@example.com"), "Alice Liddell")
    record = deal(tenant_a, admin)

    with django_capture_on_commit_callbacks(execute=True):
        client_for(tenant_a, admin).post(
            f"/m/deals/{record.pk}/comment/", {"body": f"@[Alice Liddell](member:{alice.pk}) please call"}
        )

    with tenant_context(tenant_a):
        comment = Comment.objects.get()
        assert list(comment.mentions.all()) == [alice]
    assert [m.to for m in mailoutbox] == [["alice@example.com"]]
    assert f"://alpha.localhost:8000/m/deals/{record.pk}/#comment-{comment.pk}\n" in mailoutbox[0].body
    assert "@Alice Liddell please call" in mailoutbox[0].body
    assert "member:" not in mailoutbox[0].body


def test_ids_of_inactive_members_or_other_tenants_mention_nobody(tenant_a, tenant_b, admin_of, member):
    admin = admin_of(tenant_a)
    gone = member(tenant_a, active=False)
    outsider = member(tenant_b)
    record = deal(tenant_a, admin)

    with tenant_context(tenant_a):
        missing_id = (Member.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000
        comment = comment_add(
            spec=registry.get("deals"),
            actor=admin,
            record=record,
            body=f"@[Gone](member:{gone.pk}) @[Other](member:{missing_id}) @[Self](member:{admin.pk})",
        )
        assert list(comment.mentions.all()) == []
    assert outsider.pk != gone.pk


def test_mentions_render_as_links_and_the_viewers_own_is_emphasised(client_for, tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    alice = named(member(tenant_a, email="alice@example.com"), "Alice Liddell")
    bob = named(member(tenant_a, email="bob@example.com"), "Bob Stone")
    record = deal(tenant_a, admin)
    with tenant_context(tenant_a):
        comment = comment_add(
            spec=registry.get("deals"),
            actor=admin,
            record=record,
            body=f"@[Alice Liddell](member:{alice.pk}) and @bob@example.com: <b>now</b>",
        )

    as_alice = client_for(tenant_a, alice).get(f"/m/deals/{record.pk}/").content.decode()
    as_admin = client_for(tenant_a, admin).get(f"/m/deals/{record.pk}/").content.decode()

    alice_link = f'href="mailto:alice@example.com" data-member="{alice.pk}">@Alice Liddell'
    assert f'<li class="comment" id="comment-{comment.pk}">' in as_admin
    assert f'<a class="mention mention--me" {alice_link}<span class="visually-hidden"> (you)</span></a>' in as_alice
    assert f'<a class="mention" {alice_link}</a>' in as_admin
    assert f'<a class="mention" href="mailto:bob@example.com" data-member="{bob.pk}">@Bob Stone</a>' in as_admin
    assert ": &lt;b&gt;now&lt;/b&gt;" in as_admin
    assert 'data-mentions-url="/mentions/members.json"' in as_admin


def test_a_token_for_someone_not_mentioned_stays_plain_text():
    user = get_user_model()(email="x@example.com", name="X")
    viewer = Member(pk=7, user=user)

    html = comment_html(body="@[Mallory](member:99)\nhi <i>", mentions=[], viewer=viewer)

    assert html == "@Mallory<br>hi &lt;i&gt;"
    assert comment_text("@[Mallory](member:99) hi") == "@Mallory hi"


def test_the_home_page_previews_mentions_as_text_and_links_to_the_comment(client_for, tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    alice = named(member(tenant_a, email="alice@example.com"), "Alice Liddell")
    record = deal(tenant_a, admin)
    with tenant_context(tenant_a):
        comment = comment_add(
            spec=registry.get("deals"), actor=admin, record=record, body=f"@[Alice Liddell](member:{alice.pk}) hi"
        )

    from crm_apps.notifications.models import Notification

    web = client_for(tenant_a, alice)
    home = web.get("/").content.decode()

    assert "@Alice Liddell hi" in home  # the notifications widget previews the mention as text
    with tenant_context(tenant_a):
        notification = Notification.objects.get(recipient=alice, kind="mention")
    opened = web.post(f"/notifications/{notification.pk}/read/", {"open": "1"})
    assert opened.status_code == 302
    assert opened["Location"] == f"/m/deals/{record.pk}/#comment-{comment.pk}"
