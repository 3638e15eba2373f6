"""What the SLA app does: `clocks` (start, stop, pause, resume and re-plan the clocks of
tickets, and their due rows) and `config` (the settings pages' writes)."""
