"""Mail templates (BP-11, BP-15): an organization's subjects and bodies with placeholders,
sent by blueprint after-actions and, later, SLA escalations. See README "Mail templates"."""
