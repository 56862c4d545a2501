"""Extension pages of the partner portal (bare domain), beside marketplace.partners.urls_portal."""

from django.urls import path

from marketplace.catalog import portal_views

app_name = "partner_extensions"

urlpatterns = [
    path("<slug:slug>/extensions/", portal_views.extensions, name="extensions"),
    path("<slug:slug>/extensions/<slug:listing_slug>/", portal_views.listing, name="listing"),
    path("<slug:slug>/sales/", portal_views.sales, name="sales"),
    path("<slug:slug>/payouts/", portal_views.payouts, name="payouts"),
]
