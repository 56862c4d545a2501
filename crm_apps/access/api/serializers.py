from __future__ import annotations

from rest_framework import serializers

from crm_apps.access.formats import DATE_CHOICES, NUMBER_CHOICES, TIME_CHOICES
from crm_apps.access.models import ApiToken, Member


class TokenObtainSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    # The second factor, for accounts that use one (or in workspaces that require it): a 6-digit
    # authenticator code or a recovery code.
    otp = serializers.CharField(max_length=32, required=False, allow_blank=True, trim_whitespace=True)


class TokenCreatedSerializer(serializers.Serializer):
    token = serializers.CharField()
    id = serializers.IntegerField()


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at"]


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.name")
    tenant = serializers.SerializerMethodField()

    class Meta:
        model = Member
        fields = [
            "id",
            "email",
            "name",
            "is_admin",
            "active",
            "language",
            "timezone",
            "date_format",
            "time_format",
            "number_format",
            "joined_at",
            "tenant",
        ]

    def get_tenant(self, member: Member) -> dict[str, str]:
        tenant = self.context["request"]._request.tenant
        return {"slug": tenant.schema_name, "name": tenant.name}


class MemberFormatsSerializer(serializers.Serializer):
    """PATCH /api/v1/me: the member's date, time and number formats ("" = the language's formats)."""

    date_format = serializers.ChoiceField(choices=DATE_CHOICES, required=False, allow_blank=True)
    time_format = serializers.ChoiceField(choices=TIME_CHOICES, required=False, allow_blank=True)
    number_format = serializers.ChoiceField(choices=NUMBER_CHOICES, required=False, allow_blank=True)
