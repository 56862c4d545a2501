"""Campaign sends: a template to a campaign's members through the SMTP sink, opt-outs skipped, RFC 8058
headers, one-click unsubscribe, bounces from a synced mailbox, progress, the plan's monthly limit."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.mail import campaigns
from crm_apps.mail.models import CampaignRecipient, Template
from crm_apps.mail.sync import mailbox_sync
from crm_apps.modules.campaigns.services import campaign_member_add


def _campaign(admin: Any) -> tuple[Any, dict[str, Any]]:
    campaign = record_create(spec=registry.get("campaigns"), actor=admin, data=dict(registry.get("campaigns").example))
    people = {
        "keen": record_create(
            spec=registry.get("contacts"),
            actor=admin,
            data={"last_name": "Keen", "first_name": "Kim", "email": "kim@c.test"},
        ),
        "out": record_create(
            spec=registry.get("contacts"),
            actor=admin,
            data={"last_name": "Out", "email": "out@c.test", "email_opt_out": True},
        ),
        "none": record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Nobody"}),
        "lead": record_create(
            spec=registry.get("leads"), actor=admin, data={"last_name": "Lee", "company": "L", "email": "lee@l.test"}
        ),
    }
    for key, record in people.items():
        campaign_member_add(
            actor=admin, campaign=campaign, module="leads" if key == "lead" else "contacts", record_id=record.pk
        )
    return campaign, people


def test_campaign_send_unsubscribe_and_bounce(
    tenant_a, admin_of, make_mailbox, sink, dovecot, client_for, django_capture_on_commit_callbacks, media_root
):
    admin = admin_of(tenant_a)
    mailbox = make_mailbox(tenant_a, admin, smtp_port=sink.port)
    with tenant_context(tenant_a):
        campaign, people = _campaign(admin)
        template = Template.objects.create(
            name="Promo", subject="News for {{ record.last_name }}", body_html="<p>Hi</p>", owner=admin
        )
    client = client_for(tenant_a, admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/mail/campaigns/{campaign.pk}/send", {"template": str(template.pk)})
    assert response.status_code == 302
    with tenant_context(tenant_a):
        recipients = {r.email or r.record_id: r for r in CampaignRecipient.objects.all()}
        assert {k: r.status for k, r in recipients.items()} == {
            "kim@c.test": "sent",
            "out@c.test": "skipped",
            people["none"].pk: "skipped",
            "lee@l.test": "sent",
        }
        progress = campaigns.send_progress(recipients["kim@c.test"].send)
        assert (progress["total"], progress["done"], progress["sent"], progress["skipped"]) == (4, 4, 2, 2)
    received = {m["To"]: m for m in sink.messages()}
    assert set(received) == {"kim@c.test", "lee@l.test"}
    kim = received["kim@c.test"]
    assert kim["Subject"] == "News for Keen" and kim["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = kim["List-Unsubscribe"].strip("<>")
    path = link.split(":", 2)[-1]
    path = path[path.index("/") :]
    # the campaign page shows the progress
    page = client.get(f"/m/campaigns/{campaign.pk}/").content.decode()
    assert "Promo" in page and 'value="4"' in page

    # one click from the mail client: a POST without cookies or CSRF token
    anonymous = client_for(tenant_a)
    anonymous.handler.enforce_csrf_checks = True
    assert anonymous.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    with tenant_context(tenant_a):
        assert CampaignRecipient.objects.get(email="kim@c.test").status == "unsubscribed"
        people["keen"].refresh_from_db()
        assert people["keen"].email_opt_out is True
        # written as the recipient's own choice, whatever the sender's rights are by now
        from crm_apps.engine.models import TimelineEntry

        assert TimelineEntry.objects.filter(record_id=people["keen"].pk, data__via="unsubscribe").exists()
    assert client_for(tenant_a).get("/mail/u/not-a-token/").status_code == 404

    # the lead's message bounces: the report arrives in the mailbox and is synced
    with tenant_context(tenant_a):
        lee_message = CampaignRecipient.objects.get(email="lee@l.test").message
        assert lee_message is not None
    dsn = (
        f"From: MAILER-DAEMON@l.test\r\nTo: {mailbox.email_address}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <dsn.{os.getpid()}@l.test>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type="delivery-status"; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; l.test\r\n\r\n"
        "Final-Recipient: rfc822; lee@l.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {lee_message.message_id}\r\nSubject: News\r\n"
        "--B--\r\n"
    ).encode()
    dovecot.append("alice", dsn, mailbox.imap_folder)
    with tenant_context(tenant_a):
        mailbox_sync(mailbox_id=str(mailbox.pk))
        assert CampaignRecipient.objects.get(email="lee@l.test").status == "bounced"


def test_the_plans_monthly_limit_is_a_clear_error_and_queues_nothing(tenant_a, admin_of, make_mailbox, sink, settings):
    settings.MAIL_CAMPAIGN_LIMITS = {"*": (1, 10)}
    admin = admin_of(tenant_a)
    make_mailbox(tenant_a, admin, smtp_port=sink.port)
    with tenant_context(tenant_a):
        campaign, _people = _campaign(admin)
        template = Template.objects.create(name="Promo", subject="s", body_html="b", owner=admin)
        with pytest.raises(ValidationError) as caught:
            campaigns.campaign_send_start(actor=admin, campaign_id=campaign.pk, template_id=template.pk)
        assert "at most 1 campaign emails a month" in str(caught.value)
        assert not CampaignRecipient.objects.exists()
    assert sink.received == []


def test_tracking_is_off_by_default_and_records_opens_and_clicks_when_chosen(
    tenant_a, tenant_b, admin_of, make_mailbox, sink, client_for, django_capture_on_commit_callbacks
):
    import re
    from html import unescape
    from urllib.parse import urlsplit

    admin = admin_of(tenant_a)
    make_mailbox(tenant_a, admin, smtp_port=sink.port)
    with tenant_context(tenant_a):
        campaign, _people = _campaign(admin)
        template = Template.objects.create(
            name="Promo",
            subject="News",
            body_html='<p>See <a href="https://shop.example/sale?a=1&amp;b=2">the sale</a></p>',
            owner=admin,
        )
    client = client_for(tenant_a, admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/mail/campaigns/{campaign.pk}/send", {"template": str(template.pk)})
        client.post(f"/mail/campaigns/{campaign.pk}/send", {"template": str(template.pk), "tracking": "on"})

    plain, tracked = [m for m in sink.messages() if m["To"] == "kim@c.test"]
    plain_html = next(p for p in plain.walk() if p.get_content_type() == "text/html").get_content()
    tracked_html = next(p for p in tracked.walk() if p.get_content_type() == "text/html").get_content()
    assert "https://shop.example/sale" in plain_html and "/mail/t/" not in plain_html
    click_match = re.search(r'href="([^"]+/mail/t/[^"]+)"', tracked_html)
    pixel_match = re.search(r'src="([^"]+/o\.gif)"', tracked_html)
    assert click_match and pixel_match
    click, pixel = unescape(click_match.group(1)), unescape(pixel_match.group(1))
    click_path = urlsplit(click).path + "?" + urlsplit(click).query
    pixel_path = urlsplit(pixel).path

    anonymous = client_for(tenant_a, None)
    client.get(pixel_path)  # the sender reading the sent copy in the CRM is not an open
    with tenant_context(tenant_a):
        assert CampaignRecipient.objects.get(send__tracking=True, email="kim@c.test").status == "sent"
    opened = anonymous.get(pixel_path)
    with tenant_context(tenant_a):
        after_open = CampaignRecipient.objects.get(send__tracking=True, email="kim@c.test").status
    elsewhere = client_for(tenant_b, None).get(click_path)  # another workspace does not know the token
    forged = anonymous.get(click_path.replace("c?u=", "c?u=x"))
    followed = anonymous.get(click_path)
    anonymous.get(pixel_path)  # a later open does not hide the click

    assert opened.status_code == 200 and opened["Content-Type"] == "image/gif"
    assert after_open == "opened"
    assert elsewhere.status_code == 404 and forged.status_code == 404
    assert followed.status_code == 302 and followed["Location"] == "https://shop.example/sale?a=1&b=2"
    with tenant_context(tenant_a):
        statuses = dict(CampaignRecipient.objects.filter(email="kim@c.test").values_list("send__tracking", "status"))
        assert statuses == {False: "sent", True: "clicked"}
