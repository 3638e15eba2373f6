"""Webhooks of the API (issue 16, item 4): admins subscribe a URL to events; each event is
delivered to each subscription as a signed JSON payload by a Celery task, retried with
back-off, logged try by try, and a subscription whose deliveries keep failing is disabled (its
admins are told by mail).

The transport is `helpdesk.webhooks` (the same client and signature as the blueprints' custom
functions, BP-11): only public addresses (every resolved address checked, the connection
pinned to the checked one, no redirects followed) unless `WEBHOOK_ALLOW_PRIVATE_TARGETS`.
Events reach this package through the registries of the apps below (ticket history, the
blueprint engine's state visits, ended chats), registered in `ApiConfig.ready`: no app below
imports the API."""
