"""The tickets' API actions: POST /api/v1/tickets/<id>/replies {"body", "public"}, GET the conversation,
POST /api/v1/tickets/<id>/close {"solution"}, /to-faq, /assign-next."""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access.middleware import request_member
from crm_apps.engine import metadata, registry, selectors
from crm_apps.engine.api.representation import api_fields, record_to_api
from crm_apps.engine.fieldaccess import field_rules
from crm_apps.modules.tickets import services
from crm_apps.modules.tickets.models import Ticket, TicketReply


class TicketReplySerializer(serializers.Serializer[Any]):
    """One entry of a ticket's conversation (documentation of the answers)."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=TicketReply.Kind.choices)
    public = serializers.BooleanField()
    body = serializers.CharField()
    author = serializers.IntegerField(allow_null=True)
    from_address = serializers.CharField()
    email = serializers.IntegerField(allow_null=True, help_text="the id of the email (crm_apps.mail message)")
    created_at = serializers.DateTimeField()


def reply_to_api(reply: TicketReply) -> dict[str, Any]:
    return {
        "id": reply.pk,
        "kind": reply.kind,
        "public": reply.public,
        "body": reply.body,
        "author": reply.author_id,
        "from_address": reply.from_address,
        "email": reply.email_id,
        "created_at": reply.created_at.isoformat(),
    }


def _ticket(request: Request, record_id: str) -> Ticket:
    ticket = selectors.access_record(spec=registry.get("tickets"), actor=request_member(request), record_id=record_id)
    if ticket is None:
        raise NotFound(_("Not found."))
    return cast(Ticket, ticket)


def _data(request: Request) -> dict[str, Any]:
    return request.data if isinstance(request.data, dict) else {}


class TicketRepliesView(APIView):
    @extend_schema(
        responses={200: inline_serializer(name="TicketReplies", fields={"results": TicketReplySerializer(many=True)})}
    )
    def get(self, request: Request, record_id: str) -> Response:
        """The ticket's conversation, oldest first: internal notes, public replies and the customer's emails."""
        ticket = _ticket(request, record_id)
        replies = TicketReply.objects.filter(ticket=ticket).order_by("created_at", "id")
        return Response({"results": [reply_to_api(r) for r in replies]})

    @extend_schema(
        request=inline_serializer(
            name="TicketReplyCreate",
            fields={
                "body": serializers.CharField(),
                "public": serializers.BooleanField(help_text="true: emailed to the ticket's contact; false: internal"),
            },
        ),
        responses={201: TicketReplySerializer, 400: OpenApiResponse(description="a field error; nothing written")},
    )
    def post(self, request: Request, record_id: str) -> Response:
        """Add an internal note, or a public reply emailed to the ticket's contact."""
        ticket = _ticket(request, record_id)
        data = _data(request)
        public = data.get("public", False)
        if not isinstance(public, bool):
            raise ValidationError({"public": [_("Enter true or false.")]})
        reply = services.ticket_reply(
            actor=request_member(request), ticket=ticket, body=data.get("body"), public=public
        )
        return Response(reply_to_api(reply), status=status.HTTP_201_CREATED)


def _as_api(request: Request, spec: Any, record: Any) -> dict[str, Any]:
    """The record as the engine's API shows it to this member (fields their profiles hide left out)."""
    rules = field_rules(actor=request_member(request), spec=spec)
    return record_to_api(spec, record, rules.custom(metadata.custom_fields(spec.key)), rules.visible(api_fields(spec)))


def _record(request: Request, ticket_id: Any) -> dict[str, Any]:
    spec = registry.get("tickets")
    ticket = selectors.access_record(spec=spec, actor=request_member(request), record_id=ticket_id)
    if ticket is None:
        raise NotFound(_("Not found."))
    return _as_api(request, spec, ticket)


class TicketCloseView(APIView):
    @extend_schema(
        request=inline_serializer(
            name="TicketClose",
            fields={"solution": serializers.CharField(), "version": serializers.IntegerField(required=False)},
        ),
        responses={
            200: OpenApiResponse(description="the closed ticket"),
            400: OpenApiResponse(description="no solution"),
        },
    )
    def post(self, request: Request, record_id: str) -> Response:
        """Close the ticket with its solution (required)."""
        ticket = _ticket(request, record_id)
        data = _data(request)
        version = data.get("version")
        services.ticket_close(
            actor=request_member(request),
            ticket=ticket,
            solution=data.get("solution"),
            expected_version=version if isinstance(version, int) else None,
        )
        return Response(_record(request, ticket.pk))


class TicketActionView(APIView):
    @extend_schema(
        request=inline_serializer(
            name="TicketMerge",
            fields={"duplicates": serializers.ListField(child=serializers.UUIDField(), required=False)},
        ),
        responses={200: OpenApiResponse(description="the FAQ entry (201) or the ticket")},
    )
    def post(self, request: Request, record_id: str, action: str) -> Response:
        """/to-faq: a draft FAQ entry from the ticket's solution (201 with the entry); /assign-next: the next
        member of the ticket's team in turn; /merge {"duplicates": [ids]}: the duplicates' conversations move
        to this ticket and they go to the recycle bin (200 with the ticket)."""
        ticket = _ticket(request, record_id)
        member = request_member(request)
        if action == "merge":
            duplicates = _data(request).get("duplicates")
            if not isinstance(duplicates, list) or not duplicates:
                raise ValidationError({"duplicates": [_("Choose the duplicate tickets to merge into this one.")]})
            services.tickets_merge(actor=member, primary=ticket, duplicates=[str(d) for d in duplicates])
            return Response(_record(request, ticket.pk))
        if action == "to-faq":
            faq_spec = registry.get("faq")
            faq = services.ticket_to_faq(actor=member, ticket=ticket)
            return Response(_as_api(request, faq_spec, faq), status=201)
        if action == "assign-next":
            services.ticket_assign_next(actor=member, ticket=ticket)
            return Response(_record(request, ticket.pk))
        raise NotFound(_("Not found."))
