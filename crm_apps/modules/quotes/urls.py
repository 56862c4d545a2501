from crm_apps.inventory.urls import document_urlpatterns

app_name = "quotes"

urlpatterns = document_urlpatterns("quotes")

from django.urls import path  # noqa: E402

from crm_apps.inventory import views  # noqa: E402

urlpatterns += [
    # "Create quote" on a deal's page (the deal-quotes panel).
    path("m/deals/<uuid:record_id>/quote/", views.convert_view, {"module": "deals", "to": "quote"}, name="from_deal"),
]
