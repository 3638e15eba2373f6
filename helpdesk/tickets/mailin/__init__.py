"""Incoming email (TKT-07): parsing, threading, loop prevention, the held-message queue, the
command and the inbound endpoint."""
