"""The customer-facing help center (TKT-08) and satisfaction ratings (TKT-04, RPT-01)."""
