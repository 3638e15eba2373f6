"""URLs of the help center: `public_patterns` under /<portal>/help/ (namespace "help", for
customers, not members); `desk_patterns` join the desk under /<portal>/desk/ (namespace "desk");
`setup_patterns` live under /<portal>/setup/helpcenter/ (namespace "helpcenter")."""

public_patterns: list = []
desk_patterns: list = []
setup_patterns: list = []
