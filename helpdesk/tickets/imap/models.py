"""Models of imap mailboxes."""
