from django import forms
from django.utils.translation import gettext_lazy as _


class AppPasswordForm(forms.Form):
    """On the profile page beside the profile's own form: a prefix keeps the ids and names apart."""

    prefix = "app_password"
    name = forms.CharField(label=_("Device or program"), max_length=100)
