"""The email API: mailboxes (with status and "sync now"), emails (a record's messages; send), templates
(with render). Thin: parse, call a service or selector, serialise."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access.middleware import request_member
from crm_apps.mail import mailboxes, selectors, services
from crm_apps.mail.api.serializers import (
    EmailSendSerializer,
    EmailSerializer,
    MailboxSerializer,
    MailboxStatusSerializer,
    RenderRequestSerializer,
    RenderResultSerializer,
    TemplateSerializer,
)
from crm_apps.mail.models import Message


def _invalid(exc: ValidationError) -> Response:
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    return Response(detail, status=status.HTTP_400_BAD_REQUEST)


def _passwords(data: dict[str, Any]) -> dict[str, str | None]:
    return {"imap_password": data.pop("imap_password", None), "smtp_password": data.pop("smtp_password", None)}


class MailboxListView(APIView):
    @extend_schema(responses=MailboxSerializer(many=True))
    def get(self, request: Request) -> Response:
        found = mailboxes.mailboxes_managed(actor=request_member(request)).order_by("name", "id")
        return Response(MailboxSerializer(found, many=True).data)

    @extend_schema(request=MailboxSerializer, responses={201: MailboxSerializer})
    def post(self, request: Request) -> Response:
        serializer = MailboxSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        test = data.pop("test", True)
        try:
            mailbox = mailboxes.mailbox_create(
                actor=request_member(request), data=data, passwords=_passwords(data), test=test
            )
        except ValidationError as exc:
            return _invalid(exc)
        except DjangoPermissionDenied:
            raise PermissionDenied(_("Only administrators add shared mailboxes.")) from None
        return Response(MailboxSerializer(mailbox).data, status=status.HTTP_201_CREATED)


class MailboxDetailView(APIView):
    def _get(self, request: Request, mailbox_id: Any) -> Any:
        mailbox = mailboxes.access_mailbox(actor=request_member(request), mailbox_id=mailbox_id)
        if mailbox is None:
            raise Http404
        return mailbox

    @extend_schema(responses=MailboxSerializer)
    def get(self, request: Request, mailbox_id: Any) -> Response:
        return Response(MailboxSerializer(self._get(request, mailbox_id)).data)

    @extend_schema(request=MailboxSerializer, responses=MailboxSerializer)
    def patch(self, request: Request, mailbox_id: Any) -> Response:
        mailbox = self._get(request, mailbox_id)
        serializer = MailboxSerializer(mailbox, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        test = data.pop("test", True)
        try:
            mailbox = mailboxes.mailbox_update(
                actor=request_member(request), mailbox=mailbox, data=data, passwords=_passwords(data), test=test
            )
        except ValidationError as exc:
            return _invalid(exc)
        except DjangoPermissionDenied:
            raise PermissionDenied from None
        return Response(MailboxSerializer(mailbox).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, mailbox_id: Any) -> Response:
        mailboxes.mailbox_delete(actor=request_member(request), mailbox=self._get(request, mailbox_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MailboxStatusView(MailboxDetailView):
    @extend_schema(responses=MailboxStatusSerializer)
    def get(self, request: Request, mailbox_id: Any) -> Response:
        return Response(MailboxStatusSerializer(self._get(request, mailbox_id)).data)


class MailboxSyncView(MailboxDetailView):
    @extend_schema(request=None, responses={202: MailboxStatusSerializer})
    def post(self, request: Request, mailbox_id: Any) -> Response:
        mailbox = self._get(request, mailbox_id)
        mailboxes.mailbox_sync_request(actor=request_member(request), mailbox=mailbox)
        mailbox.refresh_from_db()
        return Response(MailboxStatusSerializer(mailbox).data, status=status.HTTP_202_ACCEPTED)


class EmailListView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("record", str, required=True, description="<module>:<record id>")],
        responses=EmailSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        module, _sep, record_id = request.query_params.get("record", "").partition(":")
        if not module or not record_id:
            return Response({"record": [_("Give the record as <module>:<id>.")]}, status=status.HTTP_400_BAD_REQUEST)
        shown = selectors.record_messages(actor=request_member(request), module=module, record_id=record_id)
        if shown is None:
            raise Http404
        return Response(EmailSerializer(shown, many=True).data)

    @extend_schema(request=EmailSendSerializer, responses={201: EmailSerializer})
    def post(self, request: Request) -> Response:
        serializer = EmailSendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        actor = request_member(request)
        try:
            message = services.email_send(
                actor=actor,
                to=data["to"],
                cc=data["cc"],
                bcc=data["bcc"],
                subject=data["subject"],
                body_html=data["body_html"],
                template_id=data["template"],
                related_to=data["related_to"],
                attachment_ids=data["attachments"],
                send_at=data["send_at"],
                reply_to_id=data["reply_to"],
            )
        except ValidationError as exc:
            return _invalid(exc)
        shown = selectors.access_message(actor=actor, message_id=message.pk)
        return Response(EmailSerializer(shown).data, status=status.HTTP_201_CREATED)


class EmailDetailView(APIView):
    @extend_schema(responses=EmailSerializer)
    def get(self, request: Request, message_id: int) -> Response:
        shown = selectors.access_message(actor=request_member(request), message_id=message_id)
        if shown is None:
            raise Http404
        return Response(EmailSerializer(shown).data)


class EmailRetryView(APIView):
    @extend_schema(request=None, responses=EmailSerializer)
    def post(self, request: Request, message_id: int) -> Response:
        actor = request_member(request)
        try:
            services.email_retry(actor=actor, message_id=message_id)
        except Message.DoesNotExist:
            raise Http404 from None
        except ValidationError as exc:
            return _invalid(exc)
        except DjangoPermissionDenied:
            raise PermissionDenied from None
        return Response(EmailSerializer(selectors.access_message(actor=actor, message_id=message_id)).data)


class TemplateListView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("module", str)],
        responses=TemplateSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        found = selectors.templates_for(actor=request_member(request), module=request.query_params.get("module"))
        return Response(TemplateSerializer(found, many=True).data)

    @extend_schema(request=TemplateSerializer, responses={201: TemplateSerializer})
    def post(self, request: Request) -> Response:
        serializer = TemplateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            template = services.template_create(actor=request_member(request), data=dict(serializer.validated_data))
        except ValidationError as exc:
            return _invalid(exc)
        return Response(TemplateSerializer(template).data, status=status.HTTP_201_CREATED)


class TemplateDetailView(APIView):
    def _get(self, request: Request, template_id: int) -> Any:
        template = selectors.access_template(actor=request_member(request), template_id=template_id)
        if template is None:
            raise Http404
        return template

    @extend_schema(responses=TemplateSerializer)
    def get(self, request: Request, template_id: int) -> Response:
        return Response(TemplateSerializer(self._get(request, template_id)).data)

    @extend_schema(request=TemplateSerializer, responses=TemplateSerializer)
    def patch(self, request: Request, template_id: int) -> Response:
        template = self._get(request, template_id)
        serializer = TemplateSerializer(template, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            template = services.template_update(
                actor=request_member(request), template=template, data=dict(serializer.validated_data)
            )
        except ValidationError as exc:
            return _invalid(exc)
        except DjangoPermissionDenied:
            raise PermissionDenied from None
        return Response(TemplateSerializer(template).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, template_id: int) -> Response:
        try:
            services.template_delete(actor=request_member(request), template=self._get(request, template_id))
        except DjangoPermissionDenied:
            raise PermissionDenied from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class TemplateRenderView(TemplateDetailView):
    @extend_schema(request=RenderRequestSerializer, responses=RenderResultSerializer)
    def post(self, request: Request, template_id: int) -> Response:
        template = self._get(request, template_id)
        serializer = RenderRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        actor = request_member(request)
        spec = record = None
        if serializer.validated_data["record"]:
            try:
                ((spec, record),) = services.related_records(actor=actor, refs=[serializer.validated_data["record"]])
            except ValidationError:
                return Response({"record": [_("Choose an existing record.")]}, status=status.HTTP_400_BAD_REQUEST)
        subject, body, text = services.template_render(actor=actor, template=template, spec=spec, record=record)
        return Response({"subject": subject, "body_html": body, "body_text": text})
