"""Approvals, solutions and department sharing (TKT-04)."""
