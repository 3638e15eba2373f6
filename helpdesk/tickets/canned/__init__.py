"""Canned responses and signatures (issue 8, item 2): personal and department replies with
placeholders, searched from the reply box, and the signatures added to replies."""
