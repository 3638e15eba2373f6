"""Models of approvals, solutions and sharing."""
