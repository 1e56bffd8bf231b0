"""Tailor's Spin component served by `wasmtime serve` on loopback, for the
tests: what Spin's HTTP trigger does with a component, on a plain wasm
runtime.

Usage: serve.py WASMTIME COMPONENT PORT [wasmtime serve options...]

Starts `wasmtime serve --addr 127.0.0.1:PORT [options] COMPONENT`, prints
"ready <port>" once it accepts connections, and stops it when the process
that started this one exits, so a test run never leaves a server behind.
Its output goes to this process's standard error.
"""

import os
import signal
import socket
import subprocess
import sys
import time


def main():
    wasmtime, component, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    options = sys.argv[4:]
    parent = os.getppid()
    child = subprocess.Popen(
        [wasmtime, "serve", "--addr", f"127.0.0.1:{port}", *options, component],
        stdout=sys.stderr,
        stderr=sys.stderr,
        start_new_session=True,
    )

    def stop(*_):
        try:
            os.killpg(child.pid, signal.SIGTERM)
            child.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    deadline = time.time() + 120
    while True:
        if child.poll() is not None:
            sys.exit(f"serve.py: wasmtime exited with {child.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline:
                stop()
            time.sleep(0.1)
    print(f"ready {port}", flush=True)
    while os.getppid() == parent and child.poll() is None:
        time.sleep(0.5)
    stop()


if __name__ == "__main__":
    main()
