"""URLs of this app: `desk_patterns` join the desk under /<portal>/desk/ (namespace "desk");
`setup_patterns` live under /<portal>/setup/collab/ (namespace "collab")."""

desk_patterns: list = []
setup_patterns: list = []
