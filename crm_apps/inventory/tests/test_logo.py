"""The company logo in PDFs: small ones as uploaded, big ones scaled down whole, bombs refused."""

from __future__ import annotations

import io
import os

from PIL import Image

from crm_apps.inventory.catalogue import LOGO_INLINE_BYTES, LOGO_MAX_SIDE, _logo_for_pdf


def _png(width: int, height: int, *, noise: bool = False) -> bytes:
    image = (
        Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
        if noise
        else Image.new("RGB", (width, height), (200, 30, 30))
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_a_small_logo_is_embedded_as_uploaded():
    data = _png(200, 80)
    assert _logo_for_pdf(data, "image/png") == (data, "image/png")


def test_a_big_logo_is_scaled_down_whole_instead_of_cut():
    data = _png(2400, 1000, noise=True)  # about 7 MB of incompressible pixels
    assert len(data) > 2_000_000

    scaled, kind = _logo_for_pdf(data, "image/png")

    with Image.open(io.BytesIO(scaled)) as image:
        image.load()  # a truncated file would fail here
        assert (kind, image.size) == ("image/png", (LOGO_MAX_SIDE, 500))
    assert len(scaled) < len(data)


def test_an_undecodable_or_huge_picture_gives_no_logo():
    assert _logo_for_pdf(b"\x89PNG" + b"x" * (LOGO_INLINE_BYTES + 10), "image/png") == (b"", "")
