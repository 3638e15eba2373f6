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

    _forget_dead_handles(data_dir)
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


def _forget_dead_handles(data_dir: Path) -> None:
    """pgserver stops the server when its last handle exits, counting handles by process id
    in a file. A process that was killed never removes its id, and the server would then run
    forever; forget the ids of processes that no longer exist (under pgserver's own lock)."""
    import json

    import psutil
    from pgserver.postgres_server import PostgresServer

    handles = data_dir / ".handle_pids.json"
    with PostgresServer._lock:
        if not handles.exists():
            return
        pids = json.loads(handles.read_text() or "[]")
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))
