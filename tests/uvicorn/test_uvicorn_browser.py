"""A FastAPI WebSocket app on uvicorn with FramerWSProtocol, talking to headless Chromium.

The page the app serves connects back to it, sends a text and a binary
message, and answers each echo; the app records what the browser sent, so
the test sees both directions and the browser's own handshake (it offers
permessage-deflate, which the server declines).  Chromium comes from
Debian's ``chromium`` package; without it the test is skipped.

Chromium runs in a session of its own, and the test ends it by killing that
process group: killing the browser process alone left its renderer and
utility processes writing into the profile for a moment, and on a loaded
machine (two suites at once) removing the profile then failed with
"Directory not empty: 'Default'".  The profile is the test's ``tmp_path``,
which pytest removes later.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from fastapi import FastAPI, WebSocket
from fastapi.responses import HTMLResponse
from uvicorn_serve import TIMEOUT, served

from framer.uvicorn import FramerWSProtocol

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium)"
)

PAGE = """<!doctype html>
<html><body><pre id="log">loading</pre><script>
const log = (line) => { document.getElementById("log").textContent += "\\n" + line; };
const ws = new WebSocket(`ws://${location.host}/ws`, ["echo.v1"]);
ws.binaryType = "arraybuffer";
ws.onopen = () => {
  log("open " + ws.protocol + " ext=" + ws.extensions);
  ws.send("chrome");
  ws.send(new Uint8Array([1, 2, 3, 250]).buffer);
};
ws.onmessage = (event) => {
  if (typeof event.data === "string") {
    ws.send("echoed text: " + event.data);
  } else {
    ws.send("echoed bytes: " + Array.from(new Uint8Array(event.data)).join(","));
  }
};
ws.onclose = (event) => { log("closed " + event.code + " " + event.reason); };
</script></body></html>
"""


def _app(heard: list[str], done: asyncio.Event) -> FastAPI:
    app = FastAPI()

    @app.get("/")
    async def page() -> HTMLResponse:
        return HTMLResponse(PAGE)

    @app.websocket("/ws")
    async def echo(websocket: WebSocket) -> None:
        heard.append("offered " + websocket.headers.get("sec-websocket-extensions", ""))
        await websocket.accept(subprotocol="echo.v1")
        await websocket.send_text((await websocket.receive_text()).upper())
        await websocket.send_bytes((await websocket.receive_bytes())[::-1])
        heard.append(await websocket.receive_text())
        heard.append(await websocket.receive_text())
        await websocket.close(code=1000, reason="bye")
        done.set()

    return app


def test_fastapi_app_talks_to_headless_chromium(tmp_path: Path) -> None:
    assert CHROMIUM is not None
    heard: list[str] = []

    async def main() -> None:
        done = asyncio.Event()
        async with served(_app(heard, done), ws=FramerWSProtocol, http="httptools") as (_, url):
            browser = await asyncio.create_subprocess_exec(
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--remote-debugging-port=0",  # keeps the headless browser running
                url.replace("ws:", "http:") + "/",
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # its process group: every Chromium process, ended at once
            )
            try:
                await asyncio.wait_for(done.wait(), 6 * TIMEOUT)
            finally:
                with contextlib.suppress(ProcessLookupError):  # every Chromium process already gone
                    os.killpg(browser.pid, signal.SIGKILL)
                await browser.wait()

    asyncio.run(main())
    assert heard[0].startswith("offered permessage-deflate")
    assert heard[1:] == ["echoed text: CHROME", "echoed bytes: 250,3,2,1"]
