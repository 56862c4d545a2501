from django import forms
from django.utils.translation import gettext_lazy as _


class AppPasswordForm(forms.Form):
    name = forms.CharField(label=_("Device or program"), max_length=100)
