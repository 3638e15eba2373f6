"""A real IMAP server for the mailbox tests: Debian's dovecot (`dovecot-imapd`, installed by
bin/test), started once per test session as an unprivileged process on a free localhost port,
with a passwd-file user database and Maildirs in a temporary folder.

Unprivileged: when the tests run as root, dovecot runs as the `dovecot` system user (through
`runuser`), in a folder that user owns under /tmp (pytest's own tmp folder is closed to other
users); otherwise it runs as the current user in pytest's tmp folder. Either way it binds only
127.0.0.1 and a free high port, and dovecot itself drops nothing: every process is that user.

Each test gets its own IMAP user (`imap_account`), so tests share the server and nothing else.
"""

from __future__ import annotations

import imaplib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

import pytest

from helpdesk.tickets.imap import crypto
from helpdesk.tickets.imap.models import Mailbox, Security

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USERS = 500  # IMAP accounts made for the session, one per test that asks


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dovecot exited ({proc.returncode}): {_read(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                if s.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"dovecot did not answer on port {port}: {_read(log)}")


def _read(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:] if path.exists() else ""


@dataclass
class Dovecot:
    host: str
    port: int
    root: Path
    _ids: Iterator[int]

    def add_user(self) -> tuple[str, str]:
        """A fresh IMAP account (its Maildir is made on first login). The accounts are
        written before the server starts: dovecot notices a changed passwd-file by its
        modification time, which two tests a few milliseconds apart would not change."""
        n = next(self._ids)
        assert n <= USERS, "raise USERS in tests/tickets/imap/conftest.py"
        return f"agent{n}@example.test", "secret"

    def connect(self, username: str, password: str) -> imaplib.IMAP4:
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        conn.login(username, password)
        return conn


@pytest.fixture(scope="session")
def dovecot(tmp_path_factory) -> Iterator[Dovecot]:
    if not os.path.exists(DOVECOT):
        pytest.fail("These tests need dovecot: apt-get install dovecot-imapd (bin/test does).")
    as_root = os.geteuid() == 0
    if as_root:
        user = pwd.getpwnam("dovecot")
        root = Path(tempfile.mkdtemp(prefix="madoguchi-dovecot-"))
    else:
        user = pwd.getpwuid(os.geteuid())
        root = tmp_path_factory.mktemp("dovecot")
    for sub in ("mail", "run", "state"):
        (root / sub).mkdir()
    users = root / "users"
    users.write_text(
        "".join(f"agent{n}@example.test:{{PLAIN}}secret:::::\n" for n in range(1, USERS + 1))
    )
    port = _free_port()
    log = root / "dovecot.log"
    conf = root / "dovecot.conf"
    conf.write_text(
        f"""
base_dir = {root}/run
state_dir = {root}/state
instance_name = madoguchi-test-{port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
log_path = {log}
mail_location = maildir:{root}/mail/%u
default_internal_user = {user.pw_name}
default_internal_group = {user.pw_name}
default_login_user = {user.pw_name}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users}
}}
userdb {{
  driver = static
  args = uid={user.pw_uid} gid={user.pw_gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
    )
    command = [DOVECOT, "-F", "-c", str(conf)]
    if as_root:
        subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(root)], check=True)
        command = ["runuser", "-u", user.pw_name, "--", *command]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=(root / "stderr").open("w"))
    try:
        _wait_for_port(port, proc, log)
        yield Dovecot("127.0.0.1", port, root, itertools.count(1))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if as_root:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def _imap_settings(settings):
    settings.IMAP_ALLOW_PRIVATE_HOSTS = True  # the test server is on 127.0.0.1
    settings.IMAP_TIMEOUT_SECONDS = 10


@pytest.fixture
def imap_account(dovecot) -> tuple[str, str]:
    return dovecot.add_user()


def make_message(
    subject: str = "Printer on fire",
    *,
    sender: str = "Carol Customer <carol@customer.test>",
    to: str = "support@acme.test",
    body: str = "It is on fire again.\n",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@customer.test>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def append(conn: imaplib.IMAP4, raw: bytes, folder: str = "INBOX") -> None:
    typ, data = conn.append(folder, None, None, raw)
    assert typ == "OK", data


def mailbox_for(
    tenant, dovecot: Dovecot, account: tuple[str, str], *, department=None, **fields
) -> Mailbox:
    """A mailbox row pointing at the test server (saved directly: the setup form and its
    service have their own tests)."""
    username, password = account
    fields.setdefault("import_existing", True)
    return Mailbox.objects.create(
        org=tenant.org,
        department=department or tenant.department,
        host=dovecot.host,
        port=dovecot.port,
        security=Security.NONE,
        username=username,
        password_encrypted=crypto.encrypt(password),
        **fields,
    )
