"""TKT-07: the IMAP side of the mailboxes against the tests' own dovecot: log in, select, list
new UIDs, fetch without marking read; and each failure named (password, TLS, network,
folder, private address). Also the password encryption at rest."""

from __future__ import annotations

import pytest

from helpdesk.tickets.imap import client, crypto
from helpdesk.tickets.imap.models import PollError, Security

from .conftest import append, make_message


def _account(dovecot, account, **overrides) -> client.Account:
    username, password = account
    values = dict(
        host=dovecot.host,
        port=dovecot.port,
        security=Security.NONE,
        username=username,
        password=password,
    )
    values.update(overrides)
    return client.Account(**values)


def _connect(account: client.Account, allow_private: bool = True):
    return client.connect(account, timeout=5, allow_private=allow_private)


def test_tkt07_lists_new_uids_and_fetches_without_marking_read(dovecot, imap_account):
    feeder = dovecot.connect(*imap_account)
    raws = [make_message(f"Message {n}") for n in range(3)]
    for raw in raws:
        append(feeder, raw)

    with _connect(_account(dovecot, imap_account)) as conn:
        uidvalidity, count = client.select(conn, "INBOX", readonly=True)
        assert count == 3 and uidvalidity > 0
        assert client.uids_after(conn, 0) == [1, 2, 3]
        assert client.uids_after(conn, 2) == [3]
        assert client.uids_after(conn, 3) == []  # "4:*" still names UID 3: filtered out
        assert client.fetch(conn, 2) == raws[1].replace(b"\n", b"\r\n")
        assert client.highest_uid(conn) == 3

    feeder.select("INBOX")
    _typ, data = feeder.uid("SEARCH", None, "UNSEEN")
    assert data[0].split() == [b"1", b"2", b"3"], "fetching must not mark messages read"


def test_tkt07_mark_seen(dovecot, imap_account):
    feeder = dovecot.connect(*imap_account)
    append(feeder, make_message())
    with _connect(_account(dovecot, imap_account)) as conn:
        client.select(conn, "INBOX", readonly=False)
        client.mark_seen(conn, 1)
    feeder.select("INBOX")
    assert feeder.uid("SEARCH", None, "SEEN")[1][0].split() == [b"1"]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"password": "wrong"}, PollError.AUTH),
        ({"security": Security.SSL}, PollError.TLS),  # TLS to a plain-text port
        ({"security": Security.STARTTLS}, PollError.TLS),  # the server offers no STARTTLS
        ({"port": 1}, PollError.UNREACHABLE),
        ({"host": "no-such-host.invalid"}, PollError.UNREACHABLE),
    ],
)
def test_tkt07_failures_are_named(dovecot, imap_account, overrides, code):
    with (
        pytest.raises(client.ImapFailure) as caught,
        _connect(_account(dovecot, imap_account, **overrides)),
    ):
        pass
    assert caught.value.code == code


def test_tkt07_missing_folder_is_named(dovecot, imap_account):
    with (
        pytest.raises(client.ImapFailure) as caught,
        _connect(_account(dovecot, imap_account)) as conn,
    ):
        client.select(conn, "Nope", readonly=True)
    assert caught.value.code == PollError.FOLDER


def test_tkt07_private_addresses_are_refused_unless_allowed(dovecot, imap_account):
    with (
        pytest.raises(client.ImapFailure) as caught,
        _connect(_account(dovecot, imap_account), allow_private=False),
    ):
        pass
    assert caught.value.code == PollError.BLOCKED
    with pytest.raises(client.ImapFailure) as caught:
        client.ensure_public_host("10.1.2.3", 993)
    assert caught.value.code == PollError.BLOCKED


def test_tkt07_password_is_encrypted_and_keys_rotate(settings):
    settings.MAIL_PASSWORD_KEY = []
    token = crypto.encrypt("s3cret")
    assert "s3cret" not in token
    assert crypto.decrypt(token) == "s3cret"

    # A new key first, the old one (here: the SECRET_KEY-derived default) still listed.
    settings.MAIL_PASSWORD_KEY = ["new key", settings.SECRET_KEY]
    assert crypto.decrypt(token) == "s3cret"
    rotated = crypto.rotate(token)
    settings.MAIL_PASSWORD_KEY = ["new key"]
    assert crypto.decrypt(rotated) == "s3cret"
    with pytest.raises(crypto.PasswordUnreadable):
        crypto.decrypt(token)


def test_tkt07_japanese_folder_names_are_spelled_as_imap_wants(dovecot, imap_account):
    # RFC 3501's modified UTF-7, as Outlook and Thunderbird write it.
    assert client.encode_folder("受信トレイ") == "&U9dP4TDIMOwwpA-"
    assert client.encode_folder("Q&A") == "Q&-A"
    assert client.encode_folder("INBOX") == "INBOX"

    feeder = dovecot.connect(*imap_account)
    assert feeder.create("&U9dP4TDIMOwwpA-")[0] == "OK"
    append(feeder, make_message("日本語のフォルダー"), "&U9dP4TDIMOwwpA-")
    with _connect(_account(dovecot, imap_account)) as conn:
        _uidvalidity, count = client.select(conn, "受信トレイ", readonly=True)
        assert count == 1
        assert client.uids_after(conn, 0) == [1]
