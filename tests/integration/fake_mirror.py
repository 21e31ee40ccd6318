#!/usr/bin/python3
"""A fake download mirror for the integration tests: an HTTP or HTTPS server
on a loopback address (127.0.1.x, ::1) whose behaviour a test switches while
mirrorpoold probes it. Standard library only; runs in threads of the test.

    mirror = FakeMirror("127.0.1.2", 8080)   # port 0 = pick a free one
    mirror.start()
    mirror.status(503)            # every path answers 503
    mirror.ok()                   # back to 200 with the default body
    mirror.serve("/tails/latest.json", b'{"v": "6.2"}')
    mirror.close_listener()       # connections are refused from now on
    mirror.reopen()               # same address and port again
    mirror.stop()

Not a general web server: one behaviour at a time, plus per-path content.
"""

import http.server
import socket
import ssl
import sys
import threading
import time

# A hanging request is released by stop() at the latest; this bounds it even
# if a test forgets to stop the mirror.
HANG_LIMIT_S = 60.0


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mirror, address, port):
        self.address_family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.mirror = mirror
        super().__init__((address, port), _Handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the request's own thread, so a slow
        # or failing client never blocks the accept loop.
        if self.mirror.tls is not None:
            try:
                request = self.mirror.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        # A prober that gave up (timeout) closes its end while we still write:
        # that is the point of a slow mirror, not an error worth a traceback.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        mirror = self.server.mirror
        status, body, hang, delay_ms = mirror._reply_for(self.path, self.headers.get("Host", ""))
        if hang:
            mirror._released.wait(HANG_LIMIT_S)
            self.close_connection = True
            return
        if delay_ms:
            mirror._released.wait(delay_ms / 1000.0)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    do_HEAD = do_GET

    def log_message(self, fmt, *args):
        # Quiet: the test reads mirror.requests instead of stderr.
        pass


class FakeMirror:
    """One mirror address. Every switch takes effect for the next request."""

    def __init__(self, address="127.0.0.1", port=0, body=b"ok", certfile=None, keyfile=None):
        self.address = address
        self.port = port
        self.default_body = body
        self.tls = None
        if certfile:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(certfile, keyfile)
        self.requests = []  # (path, Host header) of every request seen
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server = None
        self._thread = None
        self._paths = {}
        self.ok()

    # -- lifecycle ---------------------------------------------------------

    def start(self):
        self._released.clear()
        self._server = _Server(self, self.address, self.port)
        # Port 0 asked for a free port: keep it, so reopen() comes back there.
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def close_listener(self):
        """Stop accepting: new connections are refused (the port is closed)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None

    def reopen(self):
        self.close_listener()
        self.start()

    def stop(self):
        self._released.set()  # ends hanging and slow requests
        self.close_listener()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        scheme = "https" if self.tls else "http"
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{scheme}://{host}:{self.port}"

    # -- behaviour switches --------------------------------------------------

    def ok(self):
        self._set(status=200, body=self.default_body, hang=False, delay_ms=0)

    def status(self, code):
        self._set(status=code, body=f"status {code}\n".encode(), hang=False, delay_ms=0)

    def wrong_body(self, text=b"Apache2 Default Page"):
        self._set(status=200, body=_bytes(text), hang=False, delay_ms=0)

    def hang(self):
        """Accept, read the request, never answer (until stop())."""
        self._set(hang=True)

    def slow(self, ms):
        """Answer as before, but only after `ms` milliseconds."""
        self._set(hang=False, delay_ms=ms)

    def serve(self, path, content, status=200):
        """Serve `content` at `path` (exact match) whatever the behaviour,
        unless the mirror hangs; e.g. the freshness file."""
        with self._lock:
            self._paths[path] = (status, _bytes(content))

    def unserve(self, path):
        with self._lock:
            self._paths.pop(path, None)

    def wait_for_requests(self, count, timeout_s=10.0):
        """Wait until `count` requests have arrived in total; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= count:
                    return True
            time.sleep(0.02)
        return False

    # -- internals -----------------------------------------------------------

    def _set(self, **changes):
        with self._lock:
            current = getattr(self, "_behaviour", {})
            self._behaviour = {**current, **changes}

    def _reply_for(self, path, host):
        with self._lock:
            self.requests.append((path, host))
            b = dict(self._behaviour)
            if not b["hang"] and path in self._paths:
                status, body = self._paths[path]
                return status, body, False, b["delay_ms"]
            return b["status"], b["body"], b["hang"], b["delay_ms"]


def _bytes(text):
    return text.encode() if isinstance(text, str) else text


if __name__ == "__main__":
    # Manual use: fake_mirror.py ADDRESS PORT [CERT KEY]; serves until Ctrl-C.
    args = sys.argv[1:]
    if len(args) not in (2, 4):
        sys.exit("usage: fake_mirror.py ADDRESS PORT [CERTFILE KEYFILE]")
    m = FakeMirror(args[0], int(args[1]), certfile=args[2] if len(args) == 4 else None,
                   keyfile=args[3] if len(args) == 4 else None).start()
    print(f"serving {m.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        m.stop()
