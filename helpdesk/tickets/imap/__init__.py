"""IMAP mailboxes per department (TKT-07), polled by Celery beat."""
