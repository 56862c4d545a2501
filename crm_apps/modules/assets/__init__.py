"""Assets: the units of a product a customer owns (serial number, warranty), which tickets refer to."""
