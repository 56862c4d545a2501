"""`POST /api/v1/leads/<id>/convert`."""

from __future__ import annotations

from typing import cast

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access.middleware import request_member
from crm_apps.engine import selectors
from crm_apps.modules.leads.models import Lead
from crm_apps.modules.leads.module import SPEC
from crm_apps.modules.leads.services import lead_convert
from saas.openapi import json_object_view

CONVERT_KEYS = {"create_deal", "deal", "organization", "contact", "owner"}


@json_object_view()
class LeadConvertView(APIView):
    def post(self, request: Request, record_id: str) -> Response:
        member = request_member(request)
        lead = cast(Lead | None, selectors.access_record(spec=SPEC, actor=member, record_id=record_id))
        if lead is None:
            raise NotFound(_("Not found."))
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            raise ValidationError({"non_field_errors": [_("Send a JSON object.")]})
        unknown = set(data) - CONVERT_KEYS
        if unknown:
            raise ValidationError({k: [_("Unknown field.")] for k in unknown})
        if not isinstance(data.get("create_deal", False), bool):
            raise ValidationError({"create_deal": [_("Enter true or false.")]})
        result = lead_convert(
            actor=member,
            lead=lead,
            create_deal=data.get("create_deal", False),
            deal=data.get("deal"),
            organization_id=data.get("organization"),
            contact_id=data.get("contact"),
            owner_id=data.get("owner"),
        )
        return Response(
            {
                "organization": str(result.organization.pk),
                "contact": str(result.contact.pk),
                "deal": str(result.deal.pk) if result.deal else None,
            }
        )
