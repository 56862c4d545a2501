"""Finance settings of a workspace: currencies (on `engine.Currency`), taxes, charges and company details.

The documents (quotes, orders, invoices) and the catalogue read them through `selectors` (README.md)."""
