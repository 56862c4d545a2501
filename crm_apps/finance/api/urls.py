"""/api/v1/ routes of the finance settings (included by saas/urls_tenant.py before the engine's routes)."""

from django.urls import path

from crm_apps.finance.api import views

urlpatterns = [
    path("taxes/", views.TaxListView.as_view(), name="api-taxes"),
    path("taxes/<int:tax_id>", views.TaxDetailView.as_view(), name="api-tax"),
    path("charges/", views.ChargeListView.as_view(), name="api-charges"),
    path("charges/<int:charge_id>", views.ChargeDetailView.as_view(), name="api-charge"),
    path("company/", views.CompanyView.as_view(), name="api-company"),
    path("company/logo", views.CompanyLogoView.as_view(), name="api-company-logo"),
    path("currencies/", views.CurrencyListView.as_view(), name="api-currencies"),
    path("currencies/<str:code>", views.CurrencyDetailView.as_view(), name="api-currency"),
]
