"""Views of the help center: the customers' pages, the setup page and the report."""
