"""Four tiny local "mirrors" for the quick-start demo: HTTP on 127.0.1.1-4,
port 8080 (or the port given as the first argument), each answering 200 with
its own name. The demo's health checks probe these, so nothing leaves the
machine. Runs until interrupted."""

import http.server
import sys
import threading

ADDRESSES = [f"127.0.1.{i}" for i in range(1, 5)]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"mirrorpool demo mirror {self.server.server_address[0]}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass  # the daemon's log tells the story; keep the terminal quiet


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    servers = [http.server.ThreadingHTTPServer((a, port), Handler) for a in ADDRESSES]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print(f"demo mirrors on {', '.join(ADDRESSES)} port {port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
