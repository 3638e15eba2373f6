"""The embedded PostgreSQL used when no DATABASE_URL is configured (a bare laptop).

pgserver bundles PostgreSQL binaries and starts a server on a Unix socket under the data
directory. Every process (web, worker, manage.py) holds a handle; the server stops when the
last one exits.
"""

from __future__ import annotations

from pathlib import Path


def embedded_database_config(data_dir: Path, database: str) -> dict:
    import warnings

    # platformdirs warns when XDG_RUNTIME_DIR is unset (servers, CI); its /tmp fallback is fine.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", module="platformdirs")
    import pgserver

    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    # `database` is our own constant, never user input.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608
    if "(0 rows)" in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    # The socket lives in the data directory: Django takes it as the host.
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": database,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(data_dir),
        "PORT": "",
    }
