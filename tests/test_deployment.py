"""Deployment checks: the compose file, Django's deployment checklist and the entry scripts.

Plain subprocess tests: none of them needs the test database.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ["bin/start", "bin/test", ".ci/run"]


def _run(args: list[str], env: dict[str, str] | None = None, timeout: int = 300):
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_deployment_compose_file_is_valid():
    """docker-compose.yml validates without any environment variable set."""
    docker_compose = shutil.which("docker-compose")
    if docker_compose is None:
        pytest.skip("docker-compose is not installed (bin/test installs it when run as root)")
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL")}
    result = _run([docker_compose, "-f", "docker-compose.yml", "config", "-q"], env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_deployment_compose_file_has_the_production_services():
    """The deployment runs postgres, redis, the ASGI web server, a worker and one beat."""
    text = (ROOT / "docker-compose.yml").read_text()
    for service in ("postgres:", "redis:", "web:", "worker:", "beat:", "migrate:"):
        assert f"\n  {service}" in text, service
    assert "helpdesk.asgi:application" in text
    assert "service_healthy" in text


def test_deployment_checklist_passes_with_production_settings():
    """`manage.py check --deploy` reports no warning with production-like settings."""
    env = dict(os.environ)  # keeps DATABASE_URL when set; else the embedded default is used
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' conftest
    secret = "p" + secrets.token_urlsafe(45)[:59]
    assert len(secret) == 60
    env.update(
        SECRET_KEY=secret,
        SECURE="1",
        DEBUG="0",
        ALLOWED_HOSTS="desk.example.com",
        DJANGO_SETTINGS_MODULE="helpdesk.settings",
    )
    result = _run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SCRIPTS)
def test_deployment_script_is_executable_and_parses(script):
    """Each deployment entry script is executable bash without syntax errors."""
    path = ROOT / script
    assert path.is_file(), script
    assert os.access(path, os.X_OK), f"{script} is not executable"
    assert path.read_text().startswith("#!/usr/bin/env bash"), script
    result = _run(["bash", "-n", str(path)], timeout=30)
    assert result.returncode == 0, result.stderr


def test_deployment_shared_venv_bootstrap_parses():
    """bin/_venv.sh, sourced by bin/start and bin/test, is valid bash."""
    result = _run(["bash", "-n", str(ROOT / "bin" / "_venv.sh")], timeout=30)
    assert result.returncode == 0, result.stderr


def test_deployment_start_script_documents_no_server_mode():
    """`bin/start --help` answers without setting anything up and names --no-server."""
    result = _run(["bash", str(ROOT / "bin" / "start"), "--help"], timeout=30)
    assert result.returncode == 0, result.stderr
    assert "--no-server" in result.stdout
