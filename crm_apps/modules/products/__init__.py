"""Products: the catalogue of goods a company sells and buys, with taxes, stock, images and bundles."""
