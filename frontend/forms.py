"""Small helpers shared by HTML views."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.translation import gettext as _


def form_add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service-layer ValidationError on the form: per field where the field exists. A plan
    limit (billing) comes with a link to the billing page."""
    upgrade_url = getattr(exc, "upgrade_url", None)
    if upgrade_url:
        text = getattr(exc, "text", " ".join(exc.messages))
        form.add_error(None, format_html('{} <a href="{}">{}</a>', text, upgrade_url, _("Open the billing page")))
        return
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, exc.messages)
