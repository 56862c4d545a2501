"""The quotes module's API actions (PDF, convert, send)."""

from crm_apps.inventory.urls import document_api_urlpatterns

urlpatterns = document_api_urlpatterns("quotes")

from django.urls import re_path  # noqa: E402

from crm_apps.inventory import api  # noqa: E402
from crm_apps.inventory.urls import UUID  # noqa: E402

urlpatterns += [
    # POST /api/v1/deals/<id>/convert {"to": "quote"}: a quote prefilled from the deal.
    re_path(
        rf"^deals/(?P<record_id>{UUID})/convert$",
        api.DocumentConvertView.as_view(),
        {"module": "deals"},
        name="api-deals-convert",
    ),
]
