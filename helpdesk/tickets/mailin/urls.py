"""URLs of incoming email: `public_patterns` under /<portal>/mail/ (namespace "mailin_public":
the relay's inbound endpoint, authenticated by the organization's secret, not a session);
`desk_patterns` join the desk under /<portal>/desk/ (namespace "desk"); `setup_patterns` live
under /<portal>/setup/mailin/ (namespace "mailin")."""

public_patterns: list = []
desk_patterns: list = []
setup_patterns: list = []
