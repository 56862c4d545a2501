from django.urls import path

from crm_apps.finance import views

app_name = "finance"

urlpatterns = [
    path("", views.index, name="index"),
    path("taxes/", views.taxes, name="taxes"),
    path("charges/", views.charges, name="charges"),
    path("company/", views.company, name="company"),
    path("company/logo", views.company_logo, name="company_logo"),
    path("currencies/", views.currencies, name="currencies"),
]
