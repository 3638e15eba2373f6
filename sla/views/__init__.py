"""Pages of the SLA app: Setup → SLA policies and a state's SLA (`setup`), the SLA panel of
the ticket page (`ticket`) and the SLA report (`report`)."""
