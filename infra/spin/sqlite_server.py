"""A SQLite database served on loopback, for Tailor's Spin tests: what
Spin's SQLite interface reaches in the tests, both from the store tested
natively and from the served WebAssembly component (through the test-side
provider component, which forwards each statement here).

Usage: sqlite_server.py PORT [DATABASE_FILE]

  POST /execute  {"statement": "...", "parameters": [VALUE, ...]}
                 -> {"ok": {"columns": [...], "rows": [[VALUE, ...], ...]}}
                  | {"err": "reason"}
  POST /faults   {"keys": ["..."], "writes": bool}: every later statement
                 (every later write, with "writes") with one of these text
                 parameters fails, until the faults are replaced (an empty
                 list clears them)
  POST /reset    {}: the database starts again empty, without faults

VALUE is {"integer": n}, {"real": x}, {"text": s}, {"blob": base64} or
"null": the variants of Spin's `value`. Statements run one at a time on one
connection in autocommit mode, as Spin's host runs them. Prints "ready
<port>" once it serves, and stops when the process that started it exits.
"""

import base64
import json
import os
import sqlite3
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def decode(value):
    if value == "null":
        return None
    (kind, v), = value.items()
    if kind == "blob":
        return base64.b64decode(v)
    if kind in ("integer", "real", "text"):
        return v
    raise ValueError(f"unknown value kind {kind!r}")


def encode(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return {"integer": int(value)}
    if isinstance(value, int):
        return {"integer": value}
    if isinstance(value, float):
        return {"real": value}
    if isinstance(value, str):
        return {"text": value}
    return {"blob": base64.b64encode(bytes(value)).decode()}


class Database:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        if self.path != ":memory:" and os.path.exists(self.path):
            os.remove(self.path)
        self.connection = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False
        )
        self.faults = set()
        self.writes_only = False

    def execute(self, statement, parameters):
        values = [decode(p) for p in parameters]
        with self.lock:
            hit = [v for v in values if isinstance(v, str) and v in self.faults]
            reads = statement.lstrip().upper().startswith("SELECT")
            if hit and not (self.writes_only and reads):
                return {"err": f"injected fault on {hit[0]!r}"}
            try:
                cursor = self.connection.execute(statement, values)
                rows = [[encode(v) for v in row] for row in cursor.fetchall()]
                columns = [d[0] for d in cursor.description or []]
            except sqlite3.Error as e:
                return {"err": str(e)}
        return {"ok": {"columns": columns, "rows": rows}}


def handler(database):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # An answer goes out as headers and then a body: with Nagle's
        # algorithm the body waits for the client's delayed acknowledgement
        # of the headers, tens of milliseconds for every statement.
        disable_nagle_algorithm = True

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path == "/execute":
                answer = database.execute(body["statement"], body.get("parameters", []))
            elif self.path == "/reset":
                with database.lock:
                    database.connection.close()
                    database.reset()
                answer = {"ok": []}
            elif self.path == "/faults":
                with database.lock:
                    database.faults = set(body.get("keys", []))
                    database.writes_only = bool(body.get("writes", False))
                answer = {"ok": sorted(database.faults)}
            else:
                self.send_error(404)
                return
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_):
            pass

    return Handler


def main():
    port = int(sys.argv[1])
    path = sys.argv[2] if len(sys.argv) > 2 else ":memory:"
    parent = os.getppid()
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer(("127.0.0.1", port), handler(Database(path)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"ready {port}", flush=True)
    while os.getppid() == parent:
        time.sleep(0.5)
    server.shutdown()


if __name__ == "__main__":
    main()
