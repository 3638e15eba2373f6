"""URLs of this app: `desk_patterns` join the desk under /<portal>/desk/ (namespace "desk");
`setup_patterns` live under /<portal>/setup/activities/ (namespace "activities")."""

desk_patterns: list = []
setup_patterns: list = []
