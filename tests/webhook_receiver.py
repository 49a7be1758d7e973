"""A webhook receiver on 127.0.0.1: records every request it gets and answers with the statuses
it is told to (the last one repeats)."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    statuses: list[int]
    received: list[Received] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        receiver: Receiver = self.server.receiver
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        receiver.received.append(Received(self.path, dict(self.headers.items()), body))
        index = min(len(receiver.received), len(receiver.statuses)) - 1
        status = receiver.statuses[index]
        reply = f"status {status} for request {len(receiver.received)}".encode()
        self.send_response(status)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


def start(statuses=(200,)):
    """(receiver, stop): a running server and the function that stops it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.receiver = Receiver(
        url=f"http://127.0.0.1:{server.server_address[1]}/hooks/dailies", statuses=list(statuses)
    )
    # shutdown() waits for serve_forever to notice it: poll every 10 ms, not every 0.5 s.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()

    def stop():
        server.shutdown()
        server.server_close()

    return server.receiver, stop
