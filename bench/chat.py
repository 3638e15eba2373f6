"""Live chat under load (issue 15, "Performance").

    python bench/chat.py [--conversations 500] [--duration 30] [--interval 5] [--tickets 10000]
                         [--workers 3] [--no-wrk] [--list-think-ms 250]

1. Makes (once) its own database `madoguchi_chat_bench` on the PostgreSQL of DATABASE_URL with
   bench/tickets.py's generator (`--tickets`, half of them in `bench-0`), and in `bench-0` the
   chat operators (one per 50 conversations, available, 50 chats each) of its public
   department; chats of earlier runs are deleted.
2. Starts the app as in production (bench/tickets.py: uvicorn `helpdesk.asgi:application`,
   `--workers` processes, 3 by default as the image runs, DEBUG off, RLS on), with Redis
   (`BENCH_REDIS_URL`, default db 13) and the proxy address trusted, so that each visitor has
   an address of its own (`X-Forwarded-For`) as behind a real proxy, and the per-address
   limits apply as they would.
3. Through the real endpoints (aiohttp): starts `--conversations` chats with the widget, has an
   operator accept each one, and opens for each the visitor's stream and the operator's
   stream (the console reads one stream per conversation), 8 at a time.
4. Phase 1, for `--duration` seconds: each conversation posts a message every `--interval`
   seconds (jittered ±20 %), alternately from the visitor (widget endpoint) and the operator
   (console reply), each with a marker in its body. Phase 2: the same, while wrk loads the
   ticket list of `bench-0` at concurrency 8 (a new connection per request), each connection
   pausing `--list-think-ms` (250) between requests, agents reading the list (about 30 loads
   a second; 0: wrk's saturating load).
5. Prints, per phase: delivery time from the moment the POST is sent to the message's arrival
   in the other side's stream (p50/p95/p99/max), from the message's `created_at` to its
   arrival (the real-time path alone), the POST's own time, messages sent, received, lost and
   duplicated (every stream is checked: each seq exactly once), streams' reconnects, the CPU
   of the server's workers and of this script, this script's event-loop lag, and the ticket
   list's p50/p95 alone and under the chat load; the load average; the Redis connections of
   the server's subscribers. Also the server's CPU per message (its workers' CPU over the
   messages posted: the post, its publish and its fan-out to two streams) and its workers'
   event-loop lag (bench/chat_server.py probes each worker's loop every 100 ms).
Targets: delivery p95 under 100 ms, nothing lost or duplicated, ticket list p95 under 150 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import tickets as base  # noqa: E402  (the path above first)

BENCH_DB = "madoguchi_chat_bench"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
PORT = int(os.environ.get("BENCH_PORT", "8766"))  # not bench/tickets.py's: both may run
PORTAL = "bench-0"
CHATS_PER_OPERATOR = 50
CSRF_SECRET = "c" * 32
OPEN_AT_ONCE = 8
GRACE_SECONDS = 5.0
DELIVERY_TARGET_MS = 100
LIST_TARGET_MS = 150


def configure() -> None:
    """This bench's own database and Redis, for this process and the server it starts."""
    base.BENCH_DB = BENCH_DB
    base.BENCH_URL = base.SERVER_URL.rsplit("/", 1)[0] + "/" + BENCH_DB
    base.PORT = PORT
    os.environ["REDIS_URL"] = REDIS_URL
    os.environ["CACHE_KEY_PREFIX"] = "chatbench"
    os.environ["TRUSTED_PROXIES"] = "127.0.0.1"


# --- Data ----------------------------------------------------------------------------------------
@dataclass
class Operator:
    user_id: int
    cookie: str  # the Cookie header: session and CSRF


def setup_chat(conversations: int) -> tuple[str, list[Operator]]:
    """The public department's embed key and its operators, with no chat left from before."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.cache import cache

    from chat.models import ChatDepartment, ChatOperator, Conversation, OperatorStatus
    from helpdesk.tenancy.models import Membership, Organization, User

    org = Organization.objects.get(portal=PORTAL)
    department = (
        ChatDepartment.objects.for_org(org).filter(visibility="public").order_by("pk").first()
    )
    Conversation.objects.for_org(org).delete()
    cache.clear()  # the per-address counters of an earlier run
    operators = []
    for index in range(-(-conversations // CHATS_PER_OPERATOR)):
        email = f"operator{index}@{PORTAL}.test"
        user = User.objects.filter(email=email).first() or User.objects.create_user(
            email=email, password="bench-password-1", full_name=f"Operator {index}", language="en"
        )
        Membership.objects.get_or_create(
            org=org,
            user=user,
            defaults={"status": Membership.Status.ACTIVE, "desk_role": "", "chat_role": "operator"},
        )
        ChatOperator.objects.get_or_create(org=org, department=department, user=user)
        OperatorStatus.objects.update_or_create(
            org=org,
            user=user,
            defaults={"presence": "available", "max_chats": CHATS_PER_OPERATOR},
        )
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        cookie = (
            f"{settings.SESSION_COOKIE_NAME}={session.session_key}; "
            f"{settings.CSRF_COOKIE_NAME}={CSRF_SECRET}"
        )
        operators.append(Operator(user.pk, cookie))
    return department.embed_key, operators


def paths(embed_key: str) -> dict[str, str]:
    from django.urls import reverse

    def chat(name: str, **kwargs) -> str:
        return reverse(f"chat:{name}", kwargs={"portal": PORTAL, **kwargs})

    ids = {"chat_conversation_id": 999999}
    return {
        "start": chat("widget_start", embed_key=embed_key),
        **{
            name: chat(name, **ids).replace("999999", "{id}")
            for name in (
                "visitor_messages",
                "visitor_stream",
                "conversation_accept",
                "conversation_reply",
                "conversation_stream",
            )
        },
    }


# --- The load ------------------------------------------------------------------------------------
@dataclass
class Chat:
    index: int
    id: int = 0
    token: str = ""
    operator: Operator | None = None
    posted: int = 0  # messages posted, numbered across the phases

    @property
    def address(self) -> str:
        return f"10.{self.index // 65536 % 256}.{self.index // 256 % 256}.{self.index % 256}"


@dataclass
class Stream:
    chat: Chat
    side: str  # "visitor" or "operator": whose stream
    last: int = 1  # the last seq it has (the first message came with the start)
    seen: dict[int, int] = field(default_factory=dict)  # seq: times received
    reconnects: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Load:
    streams: list[Stream] = field(default_factory=list)
    sent: dict[tuple[int, int], tuple[str, float, int]] = field(default_factory=dict)
    arrived: dict[tuple[int, int, str], float] = field(default_factory=dict)
    # From the message's created_at (the server's clock, the same machine's) to its arrival:
    # the real-time path alone (commit, publish, fan-out, the stream, this script's reading).
    after_store_ms: dict[tuple[int, int, str], float] = field(default_factory=dict)
    post_ms: dict[int, list[float]] = field(default_factory=lambda: {1: [], 2: []})
    post_errors: dict[int, int] = field(default_factory=lambda: {1: 0, 2: 0})
    lag_ms: dict[int, list[float]] = field(default_factory=lambda: {1: [], 2: []})
    phase: int = 1
    stopping: bool = False


def operator_headers(operator: Operator) -> dict[str, str]:
    return {"Cookie": operator.cookie, "X-CSRFToken": CSRF_SECRET, "X-Requested-With": "fetch"}


async def read_stream(session, stream: Stream, url: str, headers: dict, gate, load: Load) -> None:
    """Read one stream as EventSource does: reconnect with Last-Event-ID when it ends."""
    import aiohttp

    while not load.stopping:
        held = not stream.ready.is_set()
        if held:
            await gate.acquire()
        try:
            request_headers = {**headers, "Last-Event-ID": str(stream.last)}
            async with session.get(url, headers=request_headers) as response:
                if response.status != 200:
                    raise RuntimeError(f"stream {url}: {response.status}")
                pending = b""
                async for chunk in response.content.iter_any():
                    now = time.perf_counter()
                    *blocks, pending = (pending + chunk).split(b"\n\n")
                    for block in blocks:
                        if block.startswith(b"retry:"):
                            stream.ready.set()  # subscribed: whatever is posted now arrives
                            if held:
                                gate.release()
                                held = False
                        elif b"\ndata: " in block or block.startswith(b"data: "):
                            receive(stream, block[block.index(b"data: ") + 6 :], now, load)
        except (aiohttp.ClientError, TimeoutError, RuntimeError) as exc:
            if not load.stopping:
                print(f"  stream error ({stream.side} {stream.chat.index}): {exc!r}", flush=True)
        finally:
            if held:
                gate.release()
        if load.stopping:
            return
        stream.reconnects += 1
        await asyncio.sleep(3.0)  # EventSource's `retry`


def receive(stream: Stream, data: bytes, now: float, load: Load) -> None:
    import json

    event = json.loads(data)
    if event.get("type") != "message":
        return
    seq = event["seq"]
    stream.seen[seq] = stream.seen.get(seq, 0) + 1
    stream.last = max(stream.last, seq)
    body = event["body"]
    if body.startswith("bench "):
        _, chat, number = body.split()
        key = (int(chat), int(number), stream.side)
        if key not in load.arrived:
            load.arrived[key] = now
            stored = dt.datetime.fromisoformat(event["created_at"]).timestamp()
            load.after_store_ms[key] = (time.time() - stored) * 1000


async def talk(posts, chat: Chat, urls: dict, interval: float, until: float, load: Load) -> None:
    """Post a message every `interval` s (±20 %), the visitor and the operator in turn."""
    import aiohttp

    next_at = time.perf_counter() + random.uniform(0, interval)  # noqa: S311
    while True:
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        if time.perf_counter() >= until:
            return
        chat.posted += 1
        number = chat.posted
        side = "visitor" if number % 2 else "operator"
        body = f"bench {chat.index} {number}"
        phase = load.phase
        sent = time.perf_counter()
        load.sent[(chat.index, number)] = (side, sent, phase)
        if side == "visitor":
            url = urls["visitor_messages"].format(id=chat.id)
            data, headers = {"token": chat.token, "body": body}, {"X-Forwarded-For": chat.address}
        else:
            url = urls["conversation_reply"].format(id=chat.id)
            data, headers = {"body": body}, operator_headers(chat.operator)
        try:
            async with posts.post(url, data=data, headers=headers) as response:
                await response.read()
                ok = response.status == 201
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        load.post_ms[phase].append((time.perf_counter() - sent) * 1000)
        if not ok:
            load.post_errors[phase] += 1
            del load.sent[(chat.index, number)]
        next_at += interval * random.uniform(0.8, 1.2)  # noqa: S311


async def lag_probe(load: Load) -> None:
    """How late this script's own event loop wakes up (its share of the measured delays)."""
    while not load.stopping:
        before = time.perf_counter()
        await asyncio.sleep(0.1)
        load.lag_ms[load.phase].append((time.perf_counter() - before - 0.1) * 1000)


async def start_chats(posts, urls: dict, chats: list[Chat], operators: list[Operator]) -> None:
    gate = asyncio.Semaphore(OPEN_AT_ONCE)

    async def start(chat: Chat) -> None:
        async with gate:
            async with posts.post(
                urls["start"],
                data={"name": f"Visitor {chat.index}", "message": f"hello {chat.index}"},
                headers={"X-Forwarded-For": chat.address},
            ) as response:
                text = await response.text()
                assert response.status == 201, (response.status, text[:300])
                answer = await response.json()
            chat.id, chat.token = answer["id"], answer["token"]
            chat.operator = operators[chat.index // CHATS_PER_OPERATOR]
            async with posts.post(
                urls["conversation_accept"].format(id=chat.id),
                headers=operator_headers(chat.operator),
                allow_redirects=False,
            ) as response:
                text = await response.text()
                assert response.status == 302, (response.status, text[:300])

    await asyncio.gather(*(start(chat) for chat in chats))


# Eight agents, each reading the list for a quarter of a second before loading it again (about
# 30 loads a second), as bench/sla.py loads it; `--list-think-ms 0` is wrk's saturating load.
LIST_THINK_MS = 250


def list_under_wrk(cookie: tuple[str, str], seconds: int, think_ms: int) -> dict:
    """wrk on the ticket list at concurrency 8 (bench/tickets.py's harness)."""
    return base.load_page(f"/{PORTAL}/desk/", cookie, seconds, 8, think_ms)


async def run(args, urls: dict, operators: list[Operator], cookie, server) -> tuple[Load, dict]:
    import aiohttp

    base_url = f"http://127.0.0.1:{base.PORT}"
    load = Load()
    chats = [Chat(index) for index in range(args.conversations)]
    figures: dict = {"load": {}}

    def session(connections: int, timeout: aiohttp.ClientTimeout) -> aiohttp.ClientSession:
        # aiohttp's client (its HTTP parser in C): httpx cost this script about 0.8 of a core,
        # most of it reading the 1,000 streams, a load the server's machine shared.
        return aiohttp.ClientSession(
            base_url=base_url,
            connector=aiohttp.TCPConnector(limit=connections),
            timeout=timeout,
            cookie_jar=aiohttp.DummyCookieJar(),  # each request sends its own cookie, if any
        )

    async with (
        session(0, aiohttp.ClientTimeout(total=None, connect=30)) as streams_client,  # 0: no limit
        session(100, aiohttp.ClientTimeout(total=30)) as posts,
    ):
        started = time.perf_counter()
        await start_chats(posts, urls, chats, operators)
        print(f"started and accepted {len(chats)} chats in {time.perf_counter() - started:.1f} s")
        gate = asyncio.Semaphore(OPEN_AT_ONCE)
        readers = []
        started = time.perf_counter()
        for chat in chats:
            visitor = Stream(chat, "visitor")
            operator = Stream(chat, "operator")
            load.streams += [visitor, operator]
            visitor_url = urls["visitor_stream"].format(id=chat.id) + f"?token={chat.token}"
            readers.append(read_stream(streams_client, visitor, visitor_url, {}, gate, load))
            operator_url = urls["conversation_stream"].format(id=chat.id)
            headers = {"Cookie": chat.operator.cookie}
            readers.append(read_stream(streams_client, operator, operator_url, headers, gate, load))
        tasks = [asyncio.create_task(reader) for reader in readers]
        await asyncio.gather(*(stream.ready.wait() for stream in load.streams))
        print(f"opened {len(load.streams)} streams in {time.perf_counter() - started:.1f} s")
        probe = asyncio.create_task(lag_probe(load))
        for phase, with_wrk in ((1, False), (2, not args.no_wrk)):
            load.phase = phase
            figures["load"][phase] = [os.getloadavg()[0]]
            cpu_before, wall_before = cpu_seconds(server), time.perf_counter()
            window_start = time.time()
            until = time.perf_counter() + args.duration
            talkers = [
                asyncio.create_task(talk(posts, chat, urls, args.interval, until, load))
                for chat in chats
            ]
            if with_wrk:
                figures["list_loaded"] = await asyncio.to_thread(
                    list_under_wrk, cookie, args.duration, args.list_think_ms
                )
            await asyncio.gather(*talkers)
            figures["load"][phase].append(os.getloadavg()[0])
            cpu_after, wall = cpu_seconds(server), time.perf_counter() - wall_before
            figures.setdefault("cpu", {})[phase] = tuple(
                (after - before) / wall for before, after in zip(cpu_before, cpu_after, strict=True)
            )
            figures.setdefault("cpu_seconds", {})[phase] = cpu_after[1] - cpu_before[1]
            figures.setdefault("windows", {})[phase] = (window_start, time.time())
            print(f"phase {phase} done", flush=True)
        await asyncio.sleep(GRACE_SECONDS)  # the last messages arrive
        figures["subscribers"] = subscriber_connections(server)
        load.stopping = True
        probe.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, probe, return_exceptions=True)
    return load, figures


# --- Figures -------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(args, load: Load, figures: dict) -> bool:
    other = {"visitor": "operator", "operator": "visitor"}
    duplicated = sum(n - 1 for s in load.streams for n in s.seen.values() if n > 1)
    own_side_missing = 0
    ok = duplicated == 0
    print(
        f"\n{args.conversations} conversations ({2 * args.conversations} streams), a message "
        f"every {args.interval:g} s each (±20 %), {args.duration} s per phase; uvicorn "
        f"{args.workers} workers, RLS on; the server's Redis subscriber connections: "
        f"{figures['subscribers']}"
    )
    loaded = (
        "chat only again"
        if args.no_wrk
        else f"chat + wrk on the ticket list (c=8, {args.list_think_ms} ms pauses)"
    )
    for phase, label in ((1, "chat only"), (2, loaded)):
        sent = [(k, v) for k, v in load.sent.items() if v[2] == phase]
        delays = []
        after_store = []
        lost = 0
        for (chat, number), (side, at, _phase) in sent:
            arrived = load.arrived.get((chat, number, other[side]))
            if arrived is None:
                lost += 1
            else:
                delays.append((arrived - at) * 1000)
                after_store.append(load.after_store_ms[(chat, number, other[side])])
            if (chat, number, side) not in load.arrived:
                own_side_missing += 1
        ok &= lost == 0 and percentile(delays, 0.95) < DELIVERY_TARGET_MS
        low, high = figures["load"].get(phase, [0.0, 0.0])
        print(f"\nphase {phase}: {label} (load average {low:.1f} → {high:.1f})")
        print(
            f"  messages sent {len(sent)} (POST errors {load.post_errors[phase]}), received by "
            f"the other side {len(delays)}, lost {lost}"
        )
        print(
            f"  delivery, POST sent → other side's stream: p50 {percentile(delays, 0.5):.1f} ms, "
            f"p95 {percentile(delays, 0.95):.1f} ms, p99 {percentile(delays, 0.99):.1f} ms, "
            f"max {max(delays, default=float('nan')):.1f} ms  (target p95 < {DELIVERY_TARGET_MS})"
        )
        print(
            f"  from the message's storing to its arrival: p50 {percentile(after_store, 0.5):.1f} "
            f"ms, p95 {percentile(after_store, 0.95):.1f} ms, max "
            f"{max(after_store, default=float('nan')):.1f} ms"
        )
        script_cores, server_cores = figures["cpu"][phase]
        per_message = figures["cpu_seconds"][phase] * 1000 / max(1, len(sent))
        print(
            f"  CPU: the server's workers {server_cores:.2f} cores ({per_message:.1f} ms a "
            f"message), this script {script_cores:.2f} cores (of 2)"
        )
        lags = figures["server_lag"].get(phase, [])
        print(
            f"  the workers' event-loop lag: p50 {percentile(lags, 0.5):.1f} ms, p95 "
            f"{percentile(lags, 0.95):.1f} ms, p99 {percentile(lags, 0.99):.1f} ms, max "
            f"{max(lags, default=float('nan')):.1f} ms ({len(lags)} samples)"
        )
        posts = load.post_ms[phase]
        print(
            f"  the POST itself: p50 {percentile(posts, 0.5):.1f} ms, "
            f"p95 {percentile(posts, 0.95):.1f} ms; this script's loop lag p95 "
            f"{percentile(load.lag_ms[phase], 0.95):.1f} ms, max "
            f"{max(load.lag_ms[phase], default=0):.1f} ms"
        )
    reconnects = sum(s.reconnects for s in load.streams)
    print(
        f"\nduplicated (any stream, by seq): {duplicated}; messages missing from the sender's "
        f"own stream: {own_side_missing}; stream reconnects: {reconnects}"
    )
    for key, label in (("list_alone", "alone"), ("list_loaded", "under the chat load")):
        if key in figures:
            r = figures[key]
            ok &= r["p95"] < LIST_TARGET_MS and r["errors"] == 0
            print(
                f"ticket list ({PORTAL}, wrk c=8, {args.list_think_ms} ms pauses) {label}: "
                f"p50 {r['p50']:.1f} ms, "
                f"p95 {r['p95']:.1f} ms, {r['rps']:.1f} req/s, errors {r['errors']}  "
                f"(target p95 < {LIST_TARGET_MS})"
            )
    print("\nresult:", "ok" if ok else "MISSED")
    return ok


def start_server(lag_dir: str, workers: int) -> subprocess.Popen:
    """bench/tickets.py's server (RLS on), serving bench/chat_server.py's app: helpdesk.asgi's
    with each worker's event loop probed."""
    env = {
        **os.environ,
        "DATABASE_URL": base.BENCH_URL,
        "DATABASE_USER": "madoguchi_app",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CONN_MAX_AGE": "600",
        "CHAT_BENCH_LAG_DIR": lag_dir,
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.chat_server:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(PORT),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=2)  # noqa: S310
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")


def server_lag(lag_dir: str, windows: dict[int, tuple[float, float]]) -> dict[int, list[float]]:
    """The workers' event-loop lag samples (ms) of each phase's window (unix times)."""
    found: dict[int, list[float]] = {phase: [] for phase in windows}
    for name in os.listdir(lag_dir):
        for line in Path(lag_dir, name).read_text().splitlines():
            at, lag = (float(x) for x in line.split())
            for phase, (start, end) in windows.items():
                if start <= at <= end:
                    found[phase].append(lag)
    return found


def worker_pids(server: subprocess.Popen) -> list[str]:
    return subprocess.run(
        ["pgrep", "-P", str(server.pid)], capture_output=True, text=True, check=False
    ).stdout.split()


def cpu_seconds(server: subprocess.Popen) -> tuple[float, float]:
    """CPU time used so far by this script and by the server's workers."""
    import resource

    mine = resource.getrusage(resource.RUSAGE_SELF)
    tick = os.sysconf("SC_CLK_TCK")
    theirs = 0.0
    for pid in worker_pids(server):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            theirs += (int(fields[11]) + int(fields[12])) / tick
    return mine.ru_utime + mine.ru_stime, theirs


def subscriber_connections(server: subprocess.Popen) -> str:
    """The server's subscriber connections to Redis (named with the worker's pid), and the
    channels each is subscribed to."""
    import redis

    workers = worker_pids(server)
    prefixes = tuple(f"madoguchi-chat-{pid}-" for pid in workers)
    found = [
        int(c.get("sub", 0))
        for c in redis.Redis.from_url(REDIS_URL).client_list()
        if prefixes and c.get("name", "").startswith(prefixes)
    ]
    return f"{len(found)} (channels: {' + '.join(str(n) for n in found)})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--duration", type=int, default=30, help="seconds per phase")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between messages")
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--no-wrk", action="store_true", help="phase 2 without the ticket list")
    parser.add_argument(
        "--list-think-ms",
        type=int,
        default=LIST_THINK_MS,
        help="each wrk connection's pause between two loads of the list (0: saturating)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=3,
        help="uvicorn worker processes (WEB_CONCURRENCY; 3, the image's default)",
    )
    args = parser.parse_args()
    configure()
    base.ensure_database()
    base.setup_django()
    base.generate(args.tickets)  # migrates, and makes the tickets once
    from django.core.management import call_command

    call_command("collectstatic", "--noinput", verbosity=0)  # DEBUG off: the list's CSS
    embed_key, operators = setup_chat(args.conversations)
    urls = paths(embed_key)
    cookie = base.session_cookie()
    lag_dir = tempfile.mkdtemp(prefix="chatbench-lag-")
    server = start_server(lag_dir, args.workers)
    try:
        figures_alone = (
            {} if args.no_wrk else {"list_alone": list_under_wrk(cookie, 10, args.list_think_ms)}
        )
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:
            runner = asyncio.run
        holder: dict = {}

        async def go() -> None:
            holder["result"] = await run(args, urls, operators, cookie, server)

        runner(go())
        load, figures = holder["result"]
        figures.update(figures_alone)
        figures["server_lag"] = server_lag(lag_dir, figures["windows"])
    finally:
        os.killpg(server.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=20)
        shutil.rmtree(lag_dir, ignore_errors=True)
    sys.exit(0 if report(args, load, figures) else 1)


if __name__ == "__main__":
    main()
