"""Remove a blueprint from all its tickets (BP-18): a job row with its progress, run by Celery.
Each removal goes through the engine's `blueprint_remove`, which writes the ticket's history."""
