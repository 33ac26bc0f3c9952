"""A stand-in for a ZApp's web application (Jupyter, Spark's UI).

Like Jupyter started with ``--NotebookApp.base_url=$REVERSE_PROXY_PATH_8888``,
it serves each proxied port only under the path its environment gives it,
and answers 404 elsewhere: so a request served through Traefik proves that
the path Traefik routes and the path the container got at creation agree.

For every ``REVERSE_PROXY_PATH_<port>`` in its environment it listens on a
free port of 127.0.0.1 (standing in for the published host port) and
prints ``PORT <port> <host port>``, then ``READY``. Answers are
``<SERVICE_NAME> <port> <request path>``. It runs until SIGTERM.
"""

import http.server
import os
import signal
import socketserver
import sys
import threading
from typing import Any, List

PREFIX = "REVERSE_PROXY_PATH_"


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def _handler(service: str, port: int, base: str) -> Any:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == base or path.startswith(base + "/"):
                status, body = 200, "{} {} {}\n".format(service, port, path)
            else:
                status, body = 404, "not under {}\n".format(base)
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def main() -> int:
    service = os.environ.get("SERVICE_NAME", "app")
    servers = []  # type: List[_Server]
    for name in sorted(os.environ):
        if not name.startswith(PREFIX):
            continue
        port = int(name[len(PREFIX):])
        server = _Server(("127.0.0.1", 0), _handler(service, port, os.environ[name]))
        servers.append(server)
        print("PORT {} {}".format(port, server.server_address[1]))
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print("READY", flush=True)
    # The handler only raises: one that took a lock (Event.set) could
    # deadlock with the main thread holding that lock when the signal came.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        while True:
            signal.pause()
    except _Terminated:
        pass
    for server in servers:
        server.server_close()
    return 0


class _Terminated(Exception):
    pass


def _terminate(signum: int, frame: Any) -> None:
    raise _Terminated()


if __name__ == "__main__":
    sys.exit(main())
