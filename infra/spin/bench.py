"""Times Tailor's Spin component under `wasmtime serve` on loopback.

Usage: bench.py TOOLS_DIR SPIN_DIR STREAM.jsonl [DECISIONS]

TOOLS_DIR is what tools.sh prints, SPIN_DIR what build.sh prints, STREAM a
generated stream (`tailor gen`) ending shortly before now, so its features
are fresh. Starts the SQLite server, the ingest and the score components,
posts the stream through ingest, then asks score for DECISIONS decisions
(default 2,000) over the stream's people and both placements, one at a
time on one keep-alive connection, then the same with two connections at
once. Prints, as Markdown:

- the components' sizes, and how long `wasmtime serve` takes to compile
  score's and listen (what a cold start pays once per process);
- the first request's latency;
- per-request latency (p50, p90, p99, max) and decisions per second, as
  the client sees them: a fresh instance per request, the model loaded,
  the store read over HTTP, the decision logged;
- the decision step alone (the record's `latency_us.total`) and the
  store reads before it (`load`), as the component measured them.
"""

import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KEY = "bench-key-all"
SCOPES = "events:write,consent:write,profiles:read,decide,decisions:read"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, process, limit=300):
    start = time.time()
    while time.time() - start < limit:
        if process.poll() is not None:
            sys.exit(f"bench.py: the server on {port} exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return time.time() - start
        except OSError:
            time.sleep(0.05)
    sys.exit(f"bench.py: nothing listens on {port}")


def serve(tools, component, database, function):
    port = free_port()
    keys = f"all {hashlib.sha256(KEY.encode()).hexdigest()} {SCOPES}"
    variables = {
        "FUNCTION": function,
        "API_KEYS": keys,
        "TOKEN_KEY": "bench-tokenization-key",
        "CLOCK": "arrival" if function == "ingest" else "wall",
        "MODEL_DIR": "/models/conversion-v1",
    }
    command = [
        os.path.join(tools, "wasmtime"), "serve", "--addr", f"127.0.0.1:{port}",
        "-S", "cli", "--env", f"TAILOR_TEST_SQLITE={database}",
        "--dir", os.path.join(ROOT, "shared/models/conversion-v1") + "::/models/conversion-v1",
    ]
    for name, value in variables.items():
        command += ["--env", f"SPIN_VARIABLE_{name}={value}"]
    command.append(component)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return port, process, wait_listening(port, process)


def request(connection, method, path, body=None, content_type="application/json"):
    headers = {"Authorization": f"Bearer {KEY}"}
    if body is not None:
        headers["Content-Type"] = content_type
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, json.loads(response.read() or b"null")


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def decide_all(port, requests, out):
    connection = http.client.HTTPConnection("127.0.0.1", port)
    for body in requests:
        start = time.perf_counter()
        status, answer = request(connection, "POST", "/v1/decide", json.dumps(body))
        out.append((time.perf_counter() - start, answer.get("decision_id")))
        if status != 200:
            sys.exit(f"bench.py: decide answered {status}: {answer}")


def ms(seconds):
    return f"{seconds * 1000:.2f} ms"


def main():
    tools, spin, stream = sys.argv[1], sys.argv[2], sys.argv[3]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
    stream_component = os.path.join(spin, "tailor-stream.test.wasm")
    component = os.path.join(spin, "tailor-score.test.wasm")
    size = os.path.getsize(os.path.join(spin, "tailor-score.wasm"))
    stream_size = os.path.getsize(os.path.join(spin, "tailor-stream.wasm"))

    db_port = free_port()
    sqlite = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "infra/spin/sqlite_server.py"), str(db_port)],
        stdout=subprocess.PIPE,
    )
    sqlite.stdout.readline()
    database = f"127.0.0.1:{db_port}"
    servers = [sqlite]
    try:
        ingest_port, ingest, _ = serve(tools, stream_component, database, "ingest")
        servers.append(ingest)
        score_port, score, compile_s = serve(tools, component, database, "score")
        servers.append(score)

        lines = [l for l in open(stream, "rb").read().split(b"\n") if l.strip()]
        connection = http.client.HTTPConnection("127.0.0.1", ingest_port)
        people = set()
        for i in range(0, len(lines), 500):
            status, answer = request(
                connection, "POST", "/v1/events", b"\n".join(lines[i:i + 500]), "application/x-ndjson"
            )
            if status not in (202, 422):
                sys.exit(f"bench.py: ingest answered {status}: {answer}")
        for line in lines:
            try:
                subject = json.loads(line).get("subject")
            except ValueError:
                continue  # the generator breaks some lines on purpose
            if isinstance(subject, dict) and isinstance(subject.get("user_id"), str):
                people.add(subject["user_id"])
        people = sorted(people)
        requests = [
            {
                "profile": f"user:{people[i % len(people)]}",
                "purpose": purpose,
                "placement": placement,
                "region": "eu",
                "consent": ["analytics", "marketing", "personalization"],
                "adult": True,
            }
            for i in range(count)
            for purpose, placement in [[("marketing", "offer"), ("personalization", "onboarding")][i % 2]]
        ]

        first = []
        decide_all(score_port, requests[:1], first)
        serial = []
        start = time.perf_counter()
        decide_all(score_port, requests, serial)
        serial_s = time.perf_counter() - start
        parallel = [[], []]
        start = time.perf_counter()
        threads = [
            threading.Thread(target=decide_all, args=(score_port, requests[k::2], parallel[k]))
            for k in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        parallel_s = time.perf_counter() - start

        steps, loads, scored = [], [], 0
        connection = http.client.HTTPConnection("127.0.0.1", score_port)
        for _, decision in serial[:: max(1, count // 200)]:
            status, record = request(connection, "GET", f"/v1/decisions/{decision}")
            if status != 200:
                sys.exit(f"bench.py: decision lookup answered {status}")
            steps.append(record["latency_us"]["total"] / 1e6)
            loads.append(record["latency_us"]["load"] / 1e6)
            scored += "score" in record

        print(f"component `tailor-score.wasm`: {size / 1e6:.1f} MB "
              f"(`tailor-stream.wasm`: {stream_size / 1e6:.1f} MB); "
              f"`wasmtime serve` compiles score's and listens in {compile_s:.1f} s")
        print(f"first decision: {ms(first[0][0])}")
        print()
        print("| run | decisions | per second | p50 | p90 | p99 | max |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for name, times, seconds in [
            ("one connection", [t for t, _ in serial], serial_s),
            ("two connections", [t for t, _ in parallel[0] + parallel[1]], parallel_s),
        ]:
            times.sort()
            print(f"| {name} | {len(times)} | {len(times) / seconds:.0f} | {ms(percentile(times, 0.5))} "
                  f"| {ms(percentile(times, 0.9))} | {ms(percentile(times, 0.99))} | {ms(times[-1])} |")
        print()
        print(f"Inside the component, over {len(steps)} decisions ({scored} scored by the model):")
        print()
        print("| part | p50 | p90 | p99 | max |")
        print("| --- | --- | --- | --- | --- |")
        for name, values in [("decision step (`latency_us.total`)", steps), ("store reads (`load`)", loads)]:
            values.sort()
            print(f"| {name} | {ms(percentile(values, 0.5))} | {ms(percentile(values, 0.9))} "
                  f"| {ms(percentile(values, 0.99))} | {ms(values[-1])} |")
    finally:
        for process in servers:
            process.terminate()


if __name__ == "__main__":
    main()
