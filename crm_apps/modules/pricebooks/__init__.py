"""Price books: list prices of products and services in one currency (vtiger's PriceBooks)."""
