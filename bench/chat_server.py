"""The app bench/chat.py serves: helpdesk.asgi's, with a probe of each worker's event loop.

Every 100 ms the probe sleeps and notes how late the loop woke it (the time a stream's send or
a chat post's next step waits for the loop), appending `<unix time> <lag ms>` lines to
`$CHAT_BENCH_LAG_DIR/<pid>.txt` once a second; the load script reads them per phase.
`CHAT_BENCH_SWITCH_INTERVAL` (seconds) sets the interpreter's thread switch interval, to try
how long the posts' threads wait for the lock the event loop's thread holds.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

from helpdesk.asgi import application as helpdesk_application

PERIOD = 0.1
if os.environ.get("CHAT_BENCH_SWITCH_INTERVAL"):
    sys.setswitchinterval(float(os.environ["CHAT_BENCH_SWITCH_INTERVAL"]))
_probes: set[asyncio.AbstractEventLoop] = set()


async def _probe(path: str) -> None:
    lines: list[str] = []
    flushed = time.monotonic()
    while True:
        before = time.perf_counter()
        await asyncio.sleep(PERIOD)
        lag = (time.perf_counter() - before - PERIOD) * 1000
        lines.append(f"{time.time():.3f} {lag:.2f}\n")
        if time.monotonic() - flushed >= 1.0:
            with open(path, "a") as handle:
                handle.writelines(lines)
            lines.clear()
            flushed = time.monotonic()


async def application(scope, receive, send):
    loop = asyncio.get_running_loop()
    folder = os.environ.get("CHAT_BENCH_LAG_DIR")
    if folder and loop not in _probes:
        _probes.add(loop)
        loop.create_task(_probe(os.path.join(folder, f"{os.getpid()}.txt")))
    return await helpdesk_application(scope, receive, send)
