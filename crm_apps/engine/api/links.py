"""What a person can do to a record through its links, over the API: comments, timeline, follow, tags,
and the recycle bin (list, restore). The same services as the screens, so the same rights, audit and
timeline; a record the caller may not see is a 404 whatever the action."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from crm_apps.access.middleware import request_member
from crm_apps.access.models import Member
from crm_apps.engine import link_selectors, selectors, services
from crm_apps.engine.api.schema import record_serializer, schema_name
from crm_apps.engine.api.views import ModuleAPIView
from crm_apps.engine.models import Comment
from crm_apps.engine.spec import ModuleSpec

PAGE_PARAMETERS = [
    OpenApiParameter("cursor", str, description="The `next` link of the previous page carries it."),
    OpenApiParameter("limit", int, description="Items per page, 1-100 (default 25)."),
]


class PersonSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="member id")
    name = serializers.CharField()


class CommentSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    body = serializers.CharField()
    author = PersonSerializer()
    mentions = PersonSerializer(many=True, help_text="Members mentioned as @email (they were notified).")
    created_at = serializers.DateTimeField()


class CommentInputSerializer(serializers.Serializer[Any]):
    body = serializers.CharField(
        max_length=10_000, help_text="Plain text; `@someone@example.com` notifies that member by email."
    )


class CommentPageSerializer(serializers.Serializer[Any]):
    results = CommentSerializer(many=True)
    next = serializers.URLField(allow_null=True)


class TimelineEntrySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(
        choices=["created", "updated", "deleted", "restored", "commented", "related", "merged", "converted"]
    )
    actor = PersonSerializer(allow_null=True)
    app = serializers.CharField(
        allow_null=True, help_text="The OAuth app that made the change with the actor's rights, or null."
    )
    created_at = serializers.DateTimeField()
    changes = serializers.DictField(
        child=serializers.ListField(), help_text="field -> [old, new]; fields hidden from you are left out."
    )
    related = serializers.DictField(
        allow_null=True, help_text="For `related`: the record added (module, id, number, label), or null if hidden."
    )
    comment = serializers.IntegerField(allow_null=True, help_text="For `commented`: the comment id.")
    merged = serializers.ListField(child=serializers.CharField(), allow_null=True, help_text="For `merged`: numbers.")


class TimelinePageSerializer(serializers.Serializer[Any]):
    results = TimelineEntrySerializer(many=True)
    next = serializers.URLField(allow_null=True)


class FollowSerializer(serializers.Serializer[Any]):
    following = serializers.BooleanField()


class TagsSerializer(serializers.Serializer[Any]):
    tags = serializers.ListField(child=serializers.CharField(max_length=50), max_length=20)
    version = serializers.IntegerField(help_text="The record's version (send it back to refuse a stale change).")


class TagsChangeSerializer(serializers.Serializer[Any]):
    add = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    remove = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    version = serializers.IntegerField(required=False)


def _person(member: Member | None) -> dict[str, Any] | None:
    if member is None:
        return None
    return {"id": member.pk, "name": member.user.name or member.user.email}


def comment_to_api(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.pk,
        "body": comment.body,
        "author": _person(comment.author),
        "mentions": [_person(m) for m in comment.mentions.all()],
        "created_at": comment.created_at.isoformat(),
    }


def timeline_to_api(item: link_selectors.TimelineItem) -> dict[str, Any]:
    entry = item.entry
    data = entry.data or {}
    related = None
    if entry.kind == "related" and item.related_visible:
        related = {k: data.get(k) for k in ("module", "id", "number", "label")}
    return {
        "id": entry.pk,
        "kind": entry.kind,
        "actor": _person(entry.actor),
        "app": entry.app or None,
        "created_at": entry.created_at.isoformat(),
        "changes": item.changes,
        "related": related,
        "comment": data.get("comment"),
        "merged": data.get("merged"),
    }


def _version(raw: Any) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not str(raw).isdigit() or len(str(raw)) > 9:
        raise ValidationError({"version": [_("Enter a whole number.")]})
    return int(raw)


def _tag_list(data: Any, name: str, *, required: bool) -> list[str] | None:
    value = data.get(name) if isinstance(data, dict) else None
    if value is None and not required:
        return None
    if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
        raise ValidationError({name: [_("Send a list of tags.")]})
    return value


class LinkAPIView(ModuleAPIView):
    def page_link(self, name: str, args: list[Any], cursor: str | None) -> str | None:
        if cursor is None:
            return None
        keep = {k: v for k, v in self.request.query_params.items() if k != "cursor"}
        base = self.request.build_absolute_uri(reverse(name, args=args))
        return f"{base}?{urlencode({**keep, 'cursor': cursor})}"

    def page_args(self) -> tuple[str | None, int]:
        params = self.request.query_params
        return params.get("cursor") or None, link_selectors.page_limit(params.get("limit"))


class RecordCommentsView(LinkAPIView):
    """`/api/v1/<module>/<id>/comments/`: read and add the comments of a record you can see."""

    @extend_schema(parameters=PAGE_PARAMETERS, responses=CommentPageSerializer, summary="Comments, newest first")
    def get(self, request: Request, module: str, record_id: str) -> Response:
        spec = self.spec()
        record = self.record_or_404(spec, record_id)
        cursor, limit = self.page_args()
        page = link_selectors.record_comments(
            spec=spec, actor=request_member(request), record=record, cursor=cursor, limit=limit
        )
        return Response(
            {
                "results": [comment_to_api(c) for c in page.items],
                "next": self.page_link("api-record-comments", [spec.key, record.pk], page.next_cursor),
            }
        )

    @extend_schema(
        request=CommentInputSerializer,
        responses={201: CommentSerializer},
        summary="Comment (with @email mentions)",
    )
    def post(self, request: Request, module: str, record_id: str) -> Response:
        spec = self.spec()
        record = self.record_or_404(spec, record_id)
        body = request.data.get("body") if isinstance(request.data, dict) else None
        if not isinstance(body, str):
            raise ValidationError({"body": [_("This field is required.")]})
        comment = services.comment_add(spec=spec, actor=request_member(request), record=record, body=body)
        comment = Comment.objects.select_related("author__user").prefetch_related("mentions__user").get(pk=comment.pk)
        return Response(comment_to_api(comment), status=status.HTTP_201_CREATED)


class RecordTimelineView(LinkAPIView):
    """`/api/v1/<module>/<id>/timeline/`: the record's activity, as its page shows it."""

    @extend_schema(parameters=PAGE_PARAMETERS, responses=TimelinePageSerializer, summary="Timeline, newest first")
    def get(self, request: Request, module: str, record_id: str) -> Response:
        spec = self.spec()
        record = self.record_or_404(spec, record_id)
        cursor, limit = self.page_args()
        page = link_selectors.record_timeline(
            spec=spec, actor=request_member(request), record=record, cursor=cursor, limit=limit
        )
        return Response(
            {
                "results": [timeline_to_api(item) for item in page.items],
                "next": self.page_link("api-record-timeline", [spec.key, record.pk], page.next_cursor),
            }
        )


class RecordFollowView(LinkAPIView):
    """`/api/v1/<module>/<id>/follow`: GET whether you follow the record, PUT to follow, DELETE to stop."""

    @extend_schema(responses=FollowSerializer, summary="Do I follow this record?")
    def get(self, request: Request, module: str, record_id: str) -> Response:
        spec = self.spec()
        record = self.record_or_404(spec, record_id)
        return Response({"following": selectors.is_following(spec=spec, actor=request_member(request), record=record)})

    @extend_schema(request=None, responses=FollowSerializer, summary="Follow (idempotent)")
    def put(self, request: Request, module: str, record_id: str) -> Response:
        return self._set(True)

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Not following")}, summary="Unfollow")
    def delete(self, request: Request, module: str, record_id: str) -> Response:
        self._set(False)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _set(self, following: bool) -> Response:
        spec = self.spec()
        record = self.record_or_404(spec, self.kwargs["record_id"])
        services.follow_set(spec=spec, actor=request_member(self.request), record=record, following=following)
        return Response({"following": following})


class RecordTagsView(LinkAPIView):
    """`/api/v1/<module>/<id>/tags`: GET the tags, PUT `{"tags": [...]}` to replace them, PATCH
    `{"add": [...], "remove": [...]}` to change some (safe when others tag at the same time). Needs the
    right to edit the record; `version` (or If-Match) refuses a stale change with 409."""

    def _out(self, record: Any) -> Response:
        return Response({"tags": list(record.tags or []), "version": record.version})

    @extend_schema(responses=TagsSerializer, summary="Tags of the record")
    def get(self, request: Request, module: str, record_id: str) -> Response:
        spec = self.spec()
        return self._out(self.record_or_404(spec, record_id))

    def _expected(self) -> int | None:
        data = self.request.data if isinstance(self.request.data, dict) else {}
        raw = data.get("version")
        if raw is None:
            raw = self.request.headers.get("If-Match", "").strip('"W/ ') or None
        return _version(raw)

    def _change(self, spec: ModuleSpec, record: Any, **change: Any) -> Response:
        services.record_tags_change(
            spec=spec, actor=request_member(self.request), record=record, expected_version=self._expected(), **change
        )
        return self._out(self.record_or_404(spec, record.pk))

    @extend_schema(
        request=inline_serializer(
            "TagsReplace",
            {
                "tags": serializers.ListField(child=serializers.CharField()),
                "version": serializers.IntegerField(required=False),
            },
        ),
        responses=TagsSerializer,
        summary="Replace the tags",
    )
    def put(self, request: Request, module: str, record_id: str) -> Response:
        spec = self.spec()
        record = self.record_or_404(spec, record_id)
        return self._change(spec, record, tags=_tag_list(request.data, "tags", required=True))

    @extend_schema(request=TagsChangeSerializer, responses=TagsSerializer, summary="Add and remove tags")
    def patch(self, request: Request, module: str, record_id: str) -> Response:
        spec = self.spec()
        record = self.record_or_404(spec, record_id)
        add = _tag_list(request.data, "add", required=False)
        remove = _tag_list(request.data, "remove", required=False)
        if not add and not remove:
            raise ValidationError({"add": [_("Send tags to add or remove.")]})
        return self._change(spec, record, add=add or (), remove=remove or ())


class TrashView(LinkAPIView):
    """`/api/v1/<module>/trash/`: records in the recycle bin you can see, most recently deleted first."""

    def get_serializer_class(self) -> Any:
        spec = self.spec()
        record = record_serializer(spec)
        item = type(
            f"{schema_name(spec)}Deleted",
            (record,),
            {"deleted_at": serializers.DateTimeField(read_only=True)},
        )
        item.Meta = type("Meta", (record.Meta,), {"fields": [*record.Meta.fields, "deleted_at"]})  # type: ignore[attr-defined]
        return type(
            f"{schema_name(spec)}TrashPage",
            (serializers.Serializer,),
            {"results": item(many=True), "next": serializers.URLField(allow_null=True)},
        )

    @extend_schema(parameters=PAGE_PARAMETERS, summary="Recycle bin")
    def get(self, request: Request, module: str) -> Response:
        spec = self.spec()
        cursor, limit = self.page_args()
        page = link_selectors.recycle_bin_page(spec=spec, actor=request_member(request), cursor=cursor, limit=limit)
        results = self.to_api(spec, page.items)
        for row, record in zip(results, page.items, strict=True):
            row["deleted_at"] = record.deleted_at.isoformat()
        return Response({"results": results, "next": self.page_link("api-trash", [spec.key], page.next_cursor)})


class RecordRestoreView(LinkAPIView):
    """`/api/v1/<module>/<id>/restore`: take a record out of the recycle bin (needs the right to delete it)."""

    @extend_schema(request=None, summary="Restore from the recycle bin")
    def post(self, request: Request, module: str, record_id: str) -> Response:
        spec = self.spec()
        try:
            record = services.record_restore(spec=spec, actor=request_member(request), record_id=record_id)
        except spec.model.DoesNotExist as exc:
            raise NotFound(_("Not found.")) from exc
        return Response(self.to_api(spec, [self.record_or_404(spec, record.pk)])[0])
