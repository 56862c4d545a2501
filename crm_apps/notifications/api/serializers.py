from __future__ import annotations

from typing import Any

from rest_framework import serializers

from crm_apps.notifications import kinds
from crm_apps.notifications.models import Notification
from crm_apps.notifications.selectors import notification_title


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    title = serializers.SerializerMethodField()
    body = serializers.SerializerMethodField()
    actor = serializers.SerializerMethodField()
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "module", "record_id", "url", "actor", "created_at", "read_at", "read"]

    def get_title(self, obj: Notification) -> str:
        return notification_title(obj)

    def get_body(self, obj: Notification) -> str:
        return str(obj.params.get("body", ""))

    def get_actor(self, obj: Notification) -> dict[str, Any] | None:
        if obj.actor_id is None:
            return None
        return {"id": obj.actor_id, "name": str(obj.params.get("actor", ""))}

    def get_read(self, obj: Notification) -> bool:
        return obj.read_at is not None


class PreferencesSerializer(serializers.Serializer[Any]):
    channels = serializers.DictField(child=serializers.ChoiceField(choices=kinds.CHANNELS), required=False)
    digest = serializers.BooleanField(required=False)
