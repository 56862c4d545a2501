"""Services: the catalogue of work a company sells (hours, days, incidents), with their taxes."""
