"""Models of incoming email."""
