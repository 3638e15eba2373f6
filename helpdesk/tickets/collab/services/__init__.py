"""Services of approvals, solutions and sharing (TKT-04): one module each, plus the mail."""
