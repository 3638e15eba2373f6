"""What the CRM does (CRM-01..03, CRM-15, CRM-16): `access` (who may do what), `records`
(accounts, contacts, deals, products) and `integration` (keys, the link to a desk, its states,
desk invitations, the CRM's settings)."""
