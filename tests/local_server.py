"""An HTTP server on 127.0.0.1 for the download tests: in-memory files, Range requests, and the faults
a real server shows (a cut connection, an ignored Range, a dripping or stalled answer).

Every loop is bounded in count and time and ends by itself; never the internet.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

MAX_DRIP_BYTES = 12  # a dripping answer sends at most this many bytes, one per DRIP_INTERVAL_S
DRIP_INTERVAL_S = 1.0
STALL_S = 8.0  # a stalled answer waits at most this long before the handler returns


@dataclass
class LocalServer:
    """What the server serves, the faults to show, and the requests it saw."""

    files: dict[str, bytes] = field(default_factory=dict)
    cut_after: dict[str, int] = field(default_factory=dict)  # path -> bytes sent before the first cut
    ignore_range: set[str] = field(default_factory=set)  # paths answered with 200 despite a Range
    drip: set[str] = field(default_factory=set)  # paths sent one byte per DRIP_INTERVAL_S
    stall_after: dict[str, int] = field(default_factory=dict)  # path -> bytes sent before falling silent
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)
    stop: threading.Event = field(default_factory=threading.Event)
    slow_done: threading.Event = field(default_factory=threading.Event)  # a drip or stall handler returned
    base: str = ""

    def url(self, path: str = "") -> str:
        """Absolute URL of `path` on the server."""
        return self.base + path

    def paths(self) -> list[str]:
        """Requested paths, in order."""
        return [path for path, _ in self.requests]


def make_handler(state: LocalServer) -> type[http.server.BaseHTTPRequestHandler]:
    """Serve `state.files` (200, 206 for a Range, 416 past the end, 404), with the faults `state` asks for."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            byte_range = self.headers.get("Range")
            state.requests.append((self.path, byte_range))
            data = state.files.get(self.path)
            if data is None:
                self.send_error(404)
                return
            start = 0
            if byte_range and self.path not in state.ignore_range:
                start = int(byte_range.removeprefix("bytes=").rstrip("-"))
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
            body = data[start:]
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.close_connection = True
            try:
                self.send_body(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up: that is what a deadline does
            finally:
                if self.path in state.drip or self.path in state.stall_after:
                    state.slow_done.set()

        def send_body(self, body: bytes) -> None:
            if self.path in state.drip:
                for index in range(min(len(body), MAX_DRIP_BYTES)):
                    if state.stop.wait(DRIP_INTERVAL_S):
                        break
                    self.wfile.write(body[index:index + 1])
            elif self.path in state.stall_after:
                self.wfile.write(body[:state.stall_after[self.path]])
                state.stop.wait(STALL_S)
            else:
                cut = state.cut_after.pop(self.path, None)
                self.wfile.write(body if cut is None else body[:cut])

        def log_message(self, *args: object) -> None:
            """Keep the test output quiet."""

    return Handler


@contextmanager
def serving() -> Iterator[LocalServer]:
    """A ThreadingHTTPServer on 127.0.0.1 for the block; every handler has ended when it returns."""
    state = LocalServer()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    httpd.daemon_threads = True
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
        assert not thread.is_alive()
