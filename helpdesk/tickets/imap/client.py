"""The IMAP side of the mailboxes, on the standard library's imaplib: connect, log in, select a
folder, list new UIDs, fetch one message, mark it read. No Django models here.

Every failure comes out as `ImapFailure` with a code from `PollError` (what the admin is told)
and the server's or the socket's own words (kept as the detail)."""

from __future__ import annotations

import base64
import imaplib
import ipaddress
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .models import PollError, Security

_UIDVALIDITY_RE = re.compile(rb"UIDVALIDITY\s+(\d+)", re.I)


class ImapFailure(Exception):
    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail[:500]


@dataclass(frozen=True)
class Account:
    host: str
    port: int
    security: str
    username: str
    password: str


def _text(value: object) -> str:
    if isinstance(value, list | tuple):
        return " ".join(_text(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def ensure_public_host(host: str, port: int) -> None:
    """Refuse a server whose address is loopback, private, link-local or reserved: the poller
    runs inside our network and must not become a way to probe it. Checked on every
    connection, as DNS answers change."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ImapFailure(PollError.UNREACHABLE, str(exc)) from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global or address.is_multicast:
            raise ImapFailure(PollError.BLOCKED, str(address))


@contextmanager
def connect(account: Account, *, timeout: float, allow_private: bool) -> Iterator[imaplib.IMAP4]:
    """A logged-in connection, logged out at the end."""
    if not allow_private:
        ensure_public_host(account.host, account.port)
    context = ssl.create_default_context()
    try:
        if account.security == Security.SSL:
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                account.host, account.port, ssl_context=context, timeout=timeout
            )
        else:
            conn = imaplib.IMAP4(account.host, account.port, timeout=timeout)
            if account.security == Security.STARTTLS:
                try:
                    conn.starttls(ssl_context=context)
                except imaplib.IMAP4.error as exc:  # no STARTTLS offered, or refused
                    _close(conn)
                    raise ImapFailure(PollError.TLS, _text(exc.args)) from exc
    except ssl.SSLError as exc:  # before OSError: it is one
        raise ImapFailure(PollError.TLS, str(exc)) from exc
    except (OSError, imaplib.IMAP4.abort) as exc:
        raise ImapFailure(PollError.UNREACHABLE, str(exc) or type(exc).__name__) from exc
    except imaplib.IMAP4.error as exc:
        raise ImapFailure(PollError.PROTOCOL, _text(exc.args)) from exc
    try:
        try:
            conn.login(account.username, account.password)
        except imaplib.IMAP4.abort as exc:
            raise ImapFailure(PollError.UNREACHABLE, _text(exc.args)) from exc
        except imaplib.IMAP4.error as exc:
            raise ImapFailure(PollError.AUTH, _text(exc.args)) from exc
        except UnicodeEncodeError as exc:  # imaplib sends the login as ASCII
            raise ImapFailure(PollError.AUTH, str(exc)) from exc
        yield conn
    except ssl.SSLError as exc:
        raise ImapFailure(PollError.TLS, str(exc)) from exc
    except (OSError, imaplib.IMAP4.abort) as exc:
        raise ImapFailure(PollError.UNREACHABLE, str(exc) or type(exc).__name__) from exc
    except imaplib.IMAP4.error as exc:
        raise ImapFailure(PollError.PROTOCOL, _text(exc.args)) from exc
    finally:
        _close(conn, logout=True)


def _close(conn: imaplib.IMAP4, *, logout: bool = False) -> None:
    try:
        if logout and conn.state in ("AUTH", "SELECTED"):
            conn.logout()
        else:
            conn.shutdown()
    except (OSError, imaplib.IMAP4.error):
        pass


def encode_folder(folder: str) -> str:
    """A folder name as IMAP spells it (RFC 3501 5.1.3, "modified UTF-7"): ASCII stays, "&"
    becomes "&-", and runs of other characters (a Japanese "受信トレイ") become "&...-" with
    their UTF-16 in base64 ("," for "/")."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            data = base64.b64encode("".join(run).encode("utf-16-be")).decode("ascii")
            out.append("&" + data.rstrip("=").replace("/", ",") + "-")
            run.clear()

    for char in folder:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            run.append(char)
    flush()
    return "".join(out)


def _quote(folder: str) -> str:
    name = encode_folder(folder)
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def select(conn: imaplib.IMAP4, folder: str, *, readonly: bool) -> tuple[int, int]:
    """Open `folder`; (UIDVALIDITY, number of messages)."""
    typ, data = conn.select(_quote(folder), readonly=readonly)
    if typ != "OK":
        raise ImapFailure(PollError.FOLDER, f"{folder}: {_text(data)}")
    _typ, values = conn.response("UIDVALIDITY")
    uidvalidity = values[0] if values and values[0] else None
    if uidvalidity is None:
        # Some servers put it only in the OK line of SELECT.
        match = _UIDVALIDITY_RE.search(b" ".join(v for v in data if isinstance(v, bytes)))
        uidvalidity = match.group(1) if match else None
    if uidvalidity is None:
        raise ImapFailure(PollError.PROTOCOL, "SELECT gave no UIDVALIDITY")
    return int(uidvalidity), int(data[0] or 0)


def uids_after(conn: imaplib.IMAP4, last_uid: int) -> list[int]:
    """UIDs above `last_uid`, ascending. (`n:*` always includes the highest UID, even below n,
    so the answer is filtered.)"""
    typ, data = conn.uid("SEARCH", f"UID {last_uid + 1}:*")
    if typ != "OK":
        raise ImapFailure(PollError.PROTOCOL, f"UID SEARCH: {_text(data)}")
    uids = {int(n) for n in b" ".join(d for d in data if d).split()}
    return sorted(uid for uid in uids if uid > last_uid)


def highest_uid(conn: imaplib.IMAP4) -> int:
    typ, data = conn.uid("SEARCH", "ALL")
    if typ != "OK":
        raise ImapFailure(PollError.PROTOCOL, f"UID SEARCH: {_text(data)}")
    return max((int(n) for n in b" ".join(d for d in data if d).split()), default=0)


def fetch(conn: imaplib.IMAP4, uid: int) -> bytes | None:
    """The raw message of `uid` (BODY.PEEK: reading it does not mark it read), or None when it
    was expunged meanwhile."""
    typ, data = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
    if typ != "OK":
        raise ImapFailure(PollError.PROTOCOL, f"UID FETCH {uid}: {_text(data)}")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def mark_seen(conn: imaplib.IMAP4, uid: int) -> None:
    conn.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Seen)")
