from __future__ import annotations

from rest_framework import serializers

from crm_apps.dav.models import AppPassword


class AppPasswordSerializer(serializers.ModelSerializer):
    class Meta:
        model = AppPassword
        fields = ["id", "name", "prefix", "created_at", "last_used_at"]


class AppPasswordCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class AppPasswordCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    password = serializers.CharField(help_text="Shown once: use it with your email in a CalDAV/CardDAV client.")
    username = serializers.EmailField()
    server = serializers.URLField()
