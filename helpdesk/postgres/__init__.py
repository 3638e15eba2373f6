"""Django's PostgreSQL backend, with one feature told the truth about tenant tables.

In the database a tenant table's primary key is `(org_id, id)` (helpdesk/tenancy/keys.py),
while Django's model knows `id` alone. Django groups an aggregate query by the model's primary
key only, relying on PostgreSQL to infer the other columns from it; with the composite key,
`GROUP BY id` does not determine the row and PostgreSQL refuses the query. For models marked
`composite_primary_key`, Django groups by every selected column instead.
"""
