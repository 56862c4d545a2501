from __future__ import annotations

from decimal import Decimal
from typing import Any

from crm_apps.engine.registry import register
from crm_apps.engine.spec import Block, ChildSpec, ModuleSpec
from crm_apps.engine.tests.childtest.models import SampleOrder, SampleOrderLine


def order_totals(order: Any, lines: list[Any]) -> None:
    """Subtotal and line count from the saved lines (the engine saves them with the order)."""
    order.subtotal = sum((line.amount for line in lines), Decimal("0.00"))
    order.line_count = len(lines)


SPEC = register(
    ModuleSpec(
        key="childtest_orders",
        model=SampleOrder,
        label="Test order",
        label_plural="Test orders",
        number_prefix="TORD",
        title_fields=("name",),
        blocks=(Block("main", "Order", ("name", "organization", "subtotal", "line_count")),),
        readonly_fields=("subtotal", "line_count"),
        list_columns=("name", "subtotal", "owner"),
        search_fields=("name",),
        example={"name": "Spring restock"},
        children=(
            ChildSpec(
                key="lines",
                model=SampleOrderLine,
                fk="order",
                fields=("description", "organization", "quantity", "unit_price"),
                computed_fields=("amount",),
                label="Lines",
                max_rows=50,
                totals_hook=order_totals,
                totals_fields=("subtotal", "line_count"),
                row_amount=("quantity", "unit_price"),
            ),
        ),
        example_children={
            "lines": [
                {"description": "Widgets", "quantity": "3", "unit_price": "2.50"},
                {"description": "Gadgets", "quantity": "1", "unit_price": "10.00"},
            ]
        },
    )
)
