"""Assignment rules, workflow rules and round robin: the TKT-09 pipeline's configurable steps."""
