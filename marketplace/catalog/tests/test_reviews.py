"""The extension page shows installs, the average rating and the reviews; a workspace reviews once,
through an administrator, with a valid rating."""

from __future__ import annotations

import pytest

from marketplace.catalog.models import Listing, Review


def page_of(client, listing) -> str:
    response = client.get(f"/settings/marketplace/{listing.slug}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_shows_installs_average_rating_and_reviews(tenant_a, tenant_b, admin_of, client_for, publish):
    listing = publish("saas-sales-kit")
    a = client_for(tenant_a, admin_of(tenant_a))
    b = client_for(tenant_b, admin_of(tenant_b))
    assert "0 installs" in page_of(a, listing) and "No reviews yet." in page_of(a, listing)
    for client in (a, b):
        client.post(f"/settings/marketplace/{listing.slug}/install/")
    a.post(f"/settings/marketplace/{listing.slug}/review/", {"rating": "5", "body": "Saved us a week"})
    b.post(f"/settings/marketplace/{listing.slug}/review/", {"rating": "4", "body": "Good pipeline"})
    html = page_of(a, listing)
    assert "2 installs" in html
    assert "4.5/5 from 2 reviews" in html
    assert "Saved us a week" in html and "Good pipeline" in html
    assert 'id="rating"' not in html  # reviewed: no second form
    catalog = a.get("/settings/marketplace/").content.decode()
    assert "2 installs" in catalog and "4.5/5 from 2 reviews" in catalog


def test_a_workspace_reviews_once_whichever_admin_posts(tenant_a, admin_of, member, client_for, publish):
    listing = publish("saas-sales-kit")
    first = client_for(tenant_a, admin_of(tenant_a))
    first.post(f"/settings/marketplace/{listing.slug}/install/")
    first.post(f"/settings/marketplace/{listing.slug}/review/", {"rating": "2", "body": "Meh"})
    second = client_for(tenant_a, member(tenant_a, is_admin=True))
    response = second.post(f"/settings/marketplace/{listing.slug}/review/", {"rating": "5"}, follow=True)
    assert "Your workspace has reviewed this extension already." in response.content.decode()
    assert list(Review.objects.values_list("rating", "body")) == [(2, "Meh")]
    listing = Listing.objects.get(pk=listing.pk)
    assert (listing.rating_count, listing.rating_sum) == (1, 2)


def test_members_who_are_not_admins_cannot_review(tenant_a, admin_of, member, client_for, publish):
    listing = publish("saas-sales-kit")
    client_for(tenant_a, admin_of(tenant_a)).post(f"/settings/marketplace/{listing.slug}/install/")
    response = client_for(tenant_a, member(tenant_a)).post(
        f"/settings/marketplace/{listing.slug}/review/", {"rating": "5"}
    )
    assert response.status_code == 403
    assert not Review.objects.exists()
    assert Listing.objects.get(pk=listing.pk).rating_count == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rating": "0"}, "Choose 1 to 5 stars."),
        ({"rating": "6"}, "Choose 1 to 5 stars."),
        ({"rating": "abc"}, "Choose 1 to 5 stars."),
        ({}, "Choose 1 to 5 stars."),
        ({"rating": "3", "body": "x" * 2001}, "Ensure this value has at most 2000 characters."),
    ],
)
def test_bad_reviews_are_refused_with_a_message(tenant_a, admin_of, client_for, publish, data, message):
    listing = publish("saas-sales-kit")
    client = client_for(tenant_a, admin_of(tenant_a))
    client.post(f"/settings/marketplace/{listing.slug}/install/")
    response = client.post(f"/settings/marketplace/{listing.slug}/review/", data, follow=True)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Review.objects.exists()
    assert Listing.objects.get(pk=listing.pk).rating_count == 0
