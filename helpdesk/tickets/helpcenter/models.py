"""Models of help center."""
