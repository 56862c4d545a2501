"""Writes of products beyond their form: tax classes, bundle items and images (each a change of the
product: rights, version, timeline and audit through `linked.linked_rows_write`)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm_apps.access.models import Member
from crm_apps.engine import registry, selectors
from crm_apps.finance import files
from crm_apps.finance.models import Tax
from crm_apps.modules.products.linked import linked_rows_write, record_for_links
from crm_apps.modules.products.models import Product, ProductBundleItem, ProductImage, ProductTax

MAX_IMAGES = 10


def _spec() -> Any:
    return registry.get("products")


def tax_rows_clean(rows: Any) -> list[tuple[Tax, Decimal]]:
    """Validate `[{"tax": id, "percent": "20.000" or absent}]`: existing taxes, each once, percent 0-100
    (absent: the tax's own). Errors name the row: `taxes.1.percent`. Products and services share it."""
    if not isinstance(rows, list):
        raise ValidationError({"taxes": [_("Send a list of rows.")]})
    if len(rows) > 20:
        raise ValidationError({"taxes": [_("Send at most %(count)d rows.") % {"count": 20}]})
    ids: list[int] = []
    errors: dict[str, list[str]] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            errors[f"taxes.{index}"] = [_("Send an object of field values.")]
            continue
        for field in set(row) - {"tax", "percent", "id", "name"}:
            errors[f"taxes.{index}.{field}"] = [_("Unknown field.")]
        try:
            ids.append(int(str(row.get("tax"))))
        except ValueError:
            errors[f"taxes.{index}.tax"] = [_("Choose an existing tax.")]
            ids.append(0)
    known = {t.pk: t for t in Tax.objects.filter(pk__in=ids)}
    cleaned: list[tuple[Tax, Decimal]] = []
    for index, (tax_id, row) in enumerate(zip(ids, rows, strict=False)):
        if not isinstance(row, dict) or f"taxes.{index}.tax" in errors:
            continue
        tax = known.get(tax_id)
        if tax is None:
            errors[f"taxes.{index}.tax"] = [_("Choose an existing tax.")]
            continue
        if tax_id in ids[:index]:
            errors[f"taxes.{index}.tax"] = [_("This tax is already in the list.")]
            continue
        raw = row.get("percent")
        if raw in (None, ""):
            percent = tax.percent
        else:
            try:
                percent = Decimal(str(raw).strip().replace(",", "."))
                if not percent.is_finite() or not 0 <= percent <= 100 or percent != percent.quantize(Decimal("0.001")):
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                errors[f"taxes.{index}.percent"] = [_("Enter a number between 0 and %(max)s.") % {"max": 100}]
                continue
        cleaned.append((tax, percent.quantize(Decimal("0.001"))))
    if errors:
        raise ValidationError(errors)
    return cleaned


def tax_rows_read(rows: Any) -> list[dict[str, Any]]:
    return [
        {"tax": r.tax_id, "name": r.tax.display_name, "percent": str(r.percent)}
        for r in rows.select_related("tax").order_by("position", "id")
    ]


def product_taxes_set(*, actor: Member, product_id: Any, taxes: Any) -> Product:
    """The product's tax classes: which taxes apply to it and at which percent (the whole new list)."""
    cleaned = tax_rows_clean(taxes)

    def write(product: Product) -> None:
        ProductTax.objects.filter(product=product).delete()
        ProductTax.objects.bulk_create(
            ProductTax(product=product, tax=tax, percent=percent, position=index)
            for index, (tax, percent) in enumerate(cleaned)
        )

    product: Product = linked_rows_write(
        spec=_spec(),
        actor=actor,
        record_id=product_id,
        key="taxes",
        read=lambda p: tax_rows_read(ProductTax.objects.filter(product=p)),
        write=write,
        guarded_by=("unit_price",),
    )
    return product


def bundle_rows_read(product: Product) -> list[dict[str, Any]]:
    items = ProductBundleItem.objects.filter(bundle=product).select_related("product").order_by("position", "id")
    return [{"product": str(i.product_id), "name": i.product.name, "quantity": str(i.quantity)} for i in items]


def product_bundle_set(*, actor: Member, product_id: Any, items: Any) -> Product:
    """The products inside this bundle with their quantities (the whole new list): products the actor can
    see, each once, never the bundle itself, also not through another bundle."""
    if not isinstance(items, list):
        raise ValidationError({"bundle_items": [_("Send a list of rows.")]})
    if len(items) > 100:
        raise ValidationError({"bundle_items": [_("Send at most %(count)d rows.") % {"count": 100}]})
    spec = _spec()

    def write(bundle: Product) -> None:
        errors: dict[str, list[str]] = {}
        rows: list[ProductBundleItem] = []
        seen: set[Any] = set()
        for index, item in enumerate(items):
            at = f"bundle_items.{index}"
            if not isinstance(item, dict):
                errors[at] = [_("Send an object of field values.")]
                continue
            for field in set(item) - {"product", "quantity", "name", "id"}:
                errors[f"{at}.{field}"] = [_("Unknown field.")]
            component = selectors.access_record(spec=spec, actor=actor, record_id=item.get("product"))
            if component is None:
                errors[f"{at}.product"] = [_("Choose an existing record.")]
                continue
            if component.pk == bundle.pk:
                errors[f"{at}.product"] = [_("A bundle cannot contain itself.")]
                continue
            if component.pk in seen:
                errors[f"{at}.product"] = [_("This product is already in the bundle.")]
                continue
            seen.add(component.pk)
            try:
                quantity = Decimal(str(item.get("quantity", "1")).strip().replace(",", "."))
                if not quantity.is_finite() or quantity <= 0 or quantity >= Decimal(10) ** 11:
                    raise InvalidOperation
                if quantity != quantity.quantize(Decimal("0.001")):
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                errors[f"{at}.quantity"] = [_("Enter a quantity above 0 with at most 3 decimals.")]
                continue
            rows.append(ProductBundleItem(bundle=bundle, product=component, quantity=quantity, position=index))
        if not errors and _reaches(start={r.product_id for r in rows}, target=bundle.pk):
            errors["bundle_items"] = [_("A bundle cannot contain itself through another bundle.")]
        if errors:
            raise ValidationError(errors)
        ProductBundleItem.objects.filter(bundle=bundle).delete()
        ProductBundleItem.objects.bulk_create(rows)

    product: Product = linked_rows_write(
        spec=spec, actor=actor, record_id=product_id, key="bundle_items", read=bundle_rows_read, write=write
    )
    return product


def _reaches(*, start: set[Any], target: Any) -> bool:
    """Whether walking down the bundles from `start` reaches `target` (a cycle if it were added)."""
    frontier, visited = set(start), set()
    while frontier:
        if target in frontier:
            return True
        visited |= frontier
        frontier = (
            set(ProductBundleItem.objects.filter(bundle_id__in=frontier).values_list("product_id", flat=True)) - visited
        )
    return False


def images_read(product: Product) -> list[dict[str, Any]]:
    return [
        {"id": i.pk, "file_name": i.file_name, "content_type": i.content_type, "size": i.size}
        for i in ProductImage.objects.filter(product=product).order_by("position", "id")
    ]


def product_image_add(*, actor: Member, product_id: Any, upload: IO[bytes], file_name: str) -> ProductImage:
    """Add a picture (PNG, JPEG, GIF, WebP; at most 5 MB and 10 per product) to a product."""
    from crm_apps.modules.documents.files import safe_name

    spec = _spec()
    with transaction.atomic():
        record_for_links(spec=spec, actor=actor, record_id=product_id)  # rights before storing anything
        if ProductImage.objects.filter(product_id=product_id).count() >= MAX_IMAGES:
            raise ValidationError({"file": [_("A product has at most %(count)d pictures.") % {"count": MAX_IMAGES}]})
    name, size, content_type = files.image_store(upload, prefix="products")
    created: list[ProductImage] = []
    try:

        def write(product: Product) -> None:
            created.append(
                ProductImage.objects.create(
                    product=product,
                    position=ProductImage.objects.filter(product=product).count(),
                    file_name=safe_name(file_name),
                    storage_name=name,
                    content_type=content_type,
                    size=size,
                    uploaded_by=actor,
                )
            )

        linked_rows_write(spec=spec, actor=actor, record_id=product_id, key="images", read=images_read, write=write)
    except Exception:
        files.image_discard(name)
        raise
    return created[0]


def product_image_delete(*, actor: Member, product_id: Any, image_id: Any) -> None:
    """Remove a picture; its file is removed once the change commits."""
    removed: list[str] = []

    def write(product: Product) -> None:
        image = ProductImage.objects.filter(product=product, pk=_int(image_id)).first()
        if image is None:
            raise ValidationError({"image": [_("This picture does not belong to this product.")]})
        removed.append(image.storage_name)
        image.delete()
        transaction.on_commit(lambda: files.image_discard(removed[0]))

    with transaction.atomic():
        linked_rows_write(spec=_spec(), actor=actor, record_id=product_id, key="images", read=images_read, write=write)


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
