"""Reports that read more than one app (RPT-01): the blueprint report (BP-26) reads the
blueprint runtime and the SLA app's state clocks, so it sits in a layer above both."""
