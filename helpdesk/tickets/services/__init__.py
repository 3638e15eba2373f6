"""Ticket services: every change goes through here and writes the history."""
