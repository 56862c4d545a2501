"""Service contracts: units of support (hours, days or incidents) used up by the tickets linked to them."""
