"""The REST API of every registered module, generated from its ModuleSpec. Views stay thin:
they parse, call a selector or service, and serialise."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from billing.api import TenantDailyQuotaThrottle
from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.engine import metadata, registry, selectors, services
from crm_apps.engine.api.representation import (
    READ_ONLY,
    api_fields,
    children_to_api,
    nest_row_errors,
    record_to_api,
)
from crm_apps.engine.api.schema import record_serializer
from crm_apps.engine.fieldaccess import field_rules
from crm_apps.engine.spec import ModuleSpec
from saas import cache_versions
from saas.throttle import window_count_reading

RESERVED_PARAMS = {"search", "ordering", "cursor", "limit", "format", "view"}


class TokenRateThrottle(BaseThrottle):
    """Per API token (or per signed-in member) request budget in fixed one-minute windows (rate from
    the "api" throttle setting); over it: 429 with Retry-After. One Redis round trip per request, which also
    reads the tenant's cache version stamps (`saas.throttle.window_count_reading`)."""

    scope = "api"
    THROTTLE_RATES: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES

    def __init__(self) -> None:
        self.wait_seconds = 0

    def _limit(self) -> tuple[int, int] | None:
        rate = self.THROTTLE_RATES.get(self.scope)
        if not rate:
            return None
        count, period = rate.split("/")
        seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]
        return int(count), seconds

    def allow_request(self, request: Request, view: Any) -> bool:
        limit = self._limit()
        if limit is None:
            return True
        token = getattr(request, "auth", None)
        ident = f"token-{token.pk}" if token is not None and hasattr(token, "pk") else None
        if ident is None and request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        ident = ident or f"ip-{self.get_ident(request)}"
        allowed, period = limit
        # The same round trip reads the tenant's cache version stamps the request's access checks need next.
        stamps = cache_versions.stamps_wanted()
        count, remaining, values = window_count_reading(
            f"throttle:{self.scope}:{ident}", window=period, read=stamps or ()
        )
        if stamps:
            cache_versions.stamps_seen(values)
        if count > allowed:
            self.wait_seconds = remaining
            return False
        return True

    def wait(self) -> float | None:
        return self.wait_seconds or None


class ModuleAPIView(APIView):
    throttle_classes = [TokenRateThrottle, TenantDailyQuotaThrottle]

    module_key: str | None = None  # set on the per-module classes the OpenAPI schema documents

    def spec(self) -> ModuleSpec:
        try:
            spec = registry.get(self.kwargs.get("module") or self.module_key or "")
        except registry.UnknownModule as exc:
            raise NotFound(_("Unknown module.")) from exc
        member = getattr(self.request._request, "member", None) if self.request is not None else None
        if member is not None and not visibility.can_view_module(actor=member, spec=spec):
            raise PermissionDenied(_("Your profiles do not allow using this module."))
        return spec

    def get_serializer_class(self) -> Any:
        return record_serializer(self.spec())

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        return self.get_serializer_class()(*args, **kwargs)

    def split_payload(self, data: Any) -> tuple[dict[str, Any], Any, Any]:
        if not isinstance(data, dict):
            raise ValidationError({"non_field_errors": [_("Send a JSON object.")]})
        payload = dict(data)
        custom = payload.pop("custom", None)
        version = payload.pop("version", None)
        errors = {key: [_("This field is read-only.")] for key in payload if key in READ_ONLY}
        if errors:
            raise ValidationError(errors)
        return payload, custom, version

    def split_children(self, spec: ModuleSpec, data: dict[str, Any]) -> dict[str, Any] | None:
        """Take the child tables (`"lines": [...]`) out of a payload; None when it names none."""
        children = {child.key: data.pop(child.key) for child in spec.children if child.key in data}
        return children or None

    def write(self, spec: ModuleSpec, children: Any, call: Any) -> Any:
        """Run a service write; row errors come back nested per row (`{"lines": [{}, {"quantity": [..]}]}`)."""
        try:
            return call()
        except ValidationError as exc:
            if not spec.children or not hasattr(exc, "error_dict"):
                raise
            raise DRFValidationError(nest_row_errors(spec, exc.message_dict, children)) from exc

    def to_api(self, spec: ModuleSpec, records: list[Any], with_children: bool = False) -> list[dict[str, Any]]:
        """Records as JSON without the fields the member's profiles hide; a detail adds its child tables."""
        rules = field_rules(actor=request_member(self.request), spec=spec)
        custom_fields = rules.custom(metadata.custom_fields(spec.key))
        fields = rules.visible(api_fields(spec))
        results = [record_to_api(spec, r, custom_fields, fields) for r in records]
        if with_children and spec.children:
            for data, record in zip(results, records, strict=True):
                data.update(children_to_api(spec, record, rules.hidden))
        return results

    def record_or_404(self, spec: ModuleSpec, record_id: Any) -> Any:
        record = selectors.access_record(spec=spec, actor=request_member(self.request), record_id=record_id)
        if record is None:
            raise NotFound(_("Not found."))
        return record


class RecordListView(ModuleAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("search", str),
            OpenApiParameter("ordering", str),
            OpenApiParameter("cursor", str),
            OpenApiParameter("limit", int),
        ]
    )
    def get(self, request: Request, module: str) -> Response:
        spec = self.spec()
        params = request.query_params
        filters: dict[str, str] = {k: str(params.get(k, "")) for k in params if k not in RESERVED_PARAMS}
        try:
            limit = int(params.get("limit", selectors.PAGE_SIZE))
        except ValueError:
            raise ValidationError({"limit": [_("Enter a whole number.")]}) from None
        page = selectors.record_list(
            spec=spec,
            actor=request_member(request),
            filters=filters,
            search=params.get("search", ""),
            ordering=params.get("ordering"),
            cursor=params.get("cursor"),
            limit=limit,
            default_view=params.get("view") != "all",
            all_columns=True,
        )
        base = request.build_absolute_uri(reverse("api-records", args=[spec.key]))
        keep = {k: v for k, v in params.items() if k != "cursor"}

        def link(cursor: str | None) -> str | None:
            if cursor is None:
                return None
            from urllib.parse import urlencode

            return f"{base}?{urlencode({**keep, 'cursor': cursor})}"

        return Response(
            {
                "results": self.to_api(spec, page.records),
                "next": link(page.next_cursor),
                "previous": link(page.previous_cursor),
            }
        )

    def post(self, request: Request, module: str) -> Response:
        spec = self.spec()
        data, custom, _version = self.split_payload(request.data)
        children = self.split_children(spec, data)
        record = self.write(
            spec,
            children,
            lambda: services.record_create(
                spec=spec, actor=request_member(request), data=data, custom=custom, children=children
            ),
        )
        return Response(self.to_api(spec, [record], with_children=True)[0], status=status.HTTP_201_CREATED)


class BatchCreateView(ModuleAPIView):
    """`POST /api/v1/<module>/batch` with `{"records": [{...}, ...]}` (at most 100): all are created, in
    order, or none (400 naming each failing record by its index, and a row as `records.0.lines.1.quantity`).
    Child tables are accepted as in a single create; the answer, like lists, does not embed them."""

    def post(self, request: Request, module: str) -> Response:
        spec = self.spec()
        items = request.data.get("records") if isinstance(request.data, dict) else None
        if not isinstance(items, list) or not items:
            raise ValidationError({"records": [_("Send a list of records.")]})
        if len(items) > services.BATCH_LIMIT:
            raise ValidationError(
                {"records": [_("Send at most %(max)d records at a time.") % {"max": services.BATCH_LIMIT}]}
            )
        payloads = []
        errors: dict[str, list[str]] = {}
        for index, item in enumerate(items):
            try:
                data, custom, _version = self.split_payload(item)
            except ValidationError as exc:
                errors.update({f"records.{index}.{name}": msgs for name, msgs in exc.message_dict.items()})
                continue
            payloads.append((data, custom, self.split_children(spec, data)))
        if errors:
            raise ValidationError(errors)
        records = services.records_create_batch(spec=spec, actor=request_member(request), items=payloads)
        return Response({"results": self.to_api(spec, records)}, status=status.HTTP_201_CREATED)


class RecordDetailView(ModuleAPIView):
    def get(self, request: Request, module: str, record_id: str) -> Response:
        spec = self.spec()
        record = self.record_or_404(spec, record_id)
        return Response(self.to_api(spec, [record], with_children=True)[0])

    def patch(self, request: Request, module: str, record_id: str) -> Response:
        spec = self.spec()
        record = self.record_or_404(spec, record_id)
        data, custom, version = self.split_payload(request.data)
        if_match = request.headers.get("If-Match", "").strip('"W/ ')
        expected = version if version is not None else (if_match or None)
        if expected is not None and (
            isinstance(expected, bool) or not str(expected).isdigit() or len(str(expected)) > 9
        ):
            raise ValidationError({"version": [_("Enter a whole number.")]})
        expected_version = int(expected) if expected is not None else None
        children = self.split_children(spec, data)
        self.write(
            spec,
            children,
            lambda: services.record_update(
                spec=spec,
                actor=request_member(request),
                record=record,
                data=data,
                custom=custom,
                expected_version=expected_version,
                children=children,
            ),
        )
        record = self.record_or_404(spec, record_id)
        return Response(self.to_api(spec, [record], with_children=True)[0])

    def delete(self, request: Request, module: str, record_id: str) -> Response:
        spec = self.spec()
        record = self.record_or_404(spec, record_id)
        services.record_delete(spec=spec, actor=request_member(request), record=record)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RelatedListView(ModuleAPIView):
    def get(self, request: Request, module: str, record_id: str, related: str) -> Response:
        spec = self.spec()
        record = self.record_or_404(spec, record_id)
        other, qs = selectors.related_records(
            spec=spec, actor=request_member(request), record=record, related_key=related, all_columns=True
        )
        return Response({"results": self.to_api(other, list(qs[:100]))})


class MergeView(ModuleAPIView):
    def post(self, request: Request, module: str) -> Response:
        spec = self.spec()
        data = request.data if isinstance(request.data, dict) else {}
        others = data.get("merge")
        if not isinstance(others, list):
            raise ValidationError({"merge": [_("Send the ids of the records to merge into the primary.")]})
        choices = data.get("choices") or {}
        if not isinstance(choices, dict):
            raise ValidationError({"choices": [_("Send an object of field -> record id.")]})
        primary = services.records_merge(
            spec=spec,
            actor=request_member(request),
            primary_id=data.get("primary"),
            other_ids=others,
            choices=choices,
        )
        record = self.record_or_404(spec, primary.pk)
        return Response(self.to_api(spec, [record])[0])
