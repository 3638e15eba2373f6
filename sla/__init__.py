"""SLAs (BP-15, TKT-06, TKT-09): ticket SLA policies, state SLAs, their clocks and escalations.
See README "SLAs"."""
