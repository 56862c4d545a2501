"""Logo uploads: real images only, size-limited, stored re-encoded under partners/, served as PNG."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from marketplace.partners.models import Partner


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


def post_logo(client, partner: Partner, upload: SimpleUploadedFile):
    return client.post(
        f"/partner-portal/{partner.slug}/profile/",
        {"name": "With Logo", "description": "Logos", "countries": ["DE"], "services": ["support"], "logo": upload},
    )


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_real_image_is_stored_reencoded_and_served(make_partner, portal_client, media_root, public_client, fmt):
    partner = make_partner(name="Before")
    response = post_logo(portal_client(partner.owner_user), partner, SimpleUploadedFile("evil.php", image_bytes(fmt)))
    assert response.status_code == 302
    partner.refresh_from_db()
    assert partner.name == "With Logo"
    assert partner.logo.name.startswith(f"partners/{partner.pk}/logo-")
    assert partner.logo.name.endswith(".png")
    assert "evil" not in partner.logo.name
    assert (media_root / "public" / partner.logo.name).is_file()  # the public schema's storage prefix
    served = public_client.get(f"/partners/{partner.slug}/logo.png")
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    data = b"".join(served.streaming_content)
    assert Image.open(io.BytesIO(data)).format == "PNG"


def test_non_image_is_refused_and_nothing_changes(make_partner, portal_client, media_root):
    partner = make_partner(name="Before")
    html = SimpleUploadedFile("logo.png", b"<html><script>alert(1)</script></html>", content_type="image/png")
    response = post_logo(portal_client(partner.owner_user), partner, html)
    assert response.status_code == 200
    assert response.context["form"].errors["logo"] == ["Upload a PNG, JPEG, GIF or WebP image."]
    partner.refresh_from_db()
    assert partner.name == "Before"  # the rest of the form was not half-saved
    assert not partner.logo


def test_svg_is_refused(make_partner, portal_client, media_root):
    partner = make_partner()
    svg = SimpleUploadedFile("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')
    response = post_logo(portal_client(partner.owner_user), partner, svg)
    assert response.status_code == 200
    assert "logo" in response.context["form"].errors


def test_too_big_is_refused(make_partner, portal_client, media_root):
    partner = make_partner(name="Before")
    big = image_bytes("PNG") + b"\0" * (1024 * 1024)
    response = post_logo(portal_client(partner.owner_user), partner, SimpleUploadedFile("big.png", big))
    assert response.status_code == 200
    assert "too big" in response.context["form"].errors["logo"][0]
    partner.refresh_from_db()
    assert partner.name == "Before" and not partner.logo


def test_too_many_pixels_is_refused(make_partner, portal_client, media_root):
    partner = make_partner()
    out = io.BytesIO()
    Image.new("1", (5000, 5000)).save(out, format="PNG")  # tiny file, huge image
    response = post_logo(portal_client(partner.owner_user), partner, SimpleUploadedFile("bomb.png", out.getvalue()))
    assert response.status_code == 200
    assert "too many pixels" in response.context["form"].errors["logo"][0]


def test_big_image_is_scaled_down(make_partner, portal_client, media_root):
    partner = make_partner()
    post_logo(portal_client(partner.owner_user), partner, SimpleUploadedFile("l.jpg", image_bytes("JPEG", (1600, 800))))
    partner.refresh_from_db()
    with partner.logo.open("rb") as handle:
        assert Image.open(handle).size == (512, 256)


def test_developer_cannot_upload_logo(make_partner, team_member, portal_client, media_root):
    partner = make_partner()
    dev = team_member(partner, "developer")
    response = post_logo(portal_client(dev), partner, SimpleUploadedFile("l.png", image_bytes()))
    assert response.status_code == 403
    partner.refresh_from_db()
    assert not partner.logo


def test_logo_of_hidden_partner_is_not_served(make_partner, public_client, portal_client, media_root):
    partner = make_partner()
    post_logo(portal_client(partner.owner_user), partner, SimpleUploadedFile("l.png", image_bytes()))
    Partner.objects.filter(pk=partner.pk).update(is_active=False)
    assert public_client.get(f"/partners/{partner.slug}/logo.png").status_code == 404
