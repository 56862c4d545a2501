"""Campaign membership screens (add a lead or contact, change its status, remove it)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from crm_apps.access.middleware import request_member
from crm_apps.engine import selectors
from crm_apps.engine.display import record_url
from crm_apps.modules.campaigns.models import CampaignMember
from crm_apps.modules.campaigns.module import SPEC
from crm_apps.modules.campaigns.services import (
    campaign_member_add,
    campaign_member_remove,
    campaign_member_set_status,
)


def _campaign(request: HttpRequest, record_id: uuid.UUID) -> Any:
    campaign = selectors.access_record(spec=SPEC, actor=request_member(request), record_id=record_id)
    if campaign is None:
        raise Http404
    return campaign


@require_POST
@login_required
def member_add(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    campaign = _campaign(request, record_id)
    module = request.POST.get("module", "")
    try:
        campaign_member_add(
            actor=request_member(request),
            campaign=campaign,
            module=module,
            record_id=request.POST.get("record", ""),
            status=request.POST.get("status", ""),
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect(record_url(SPEC, campaign) + "#campaign-members")


@require_POST
@login_required
def member_update(request: HttpRequest, record_id: uuid.UUID, membership_id: int) -> HttpResponse:
    campaign = _campaign(request, record_id)
    membership = CampaignMember.objects.filter(pk=membership_id, campaign=campaign).first()
    if membership is None:
        raise Http404
    try:
        if request.POST.get("remove"):
            campaign_member_remove(actor=request_member(request), membership=membership)
        else:
            campaign_member_set_status(
                actor=request_member(request), membership=membership, status=request.POST.get("status", "")
            )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect(record_url(SPEC, campaign) + "#campaign-members")
