"""A moto server (the AWS wire protocol for Kinesis and DynamoDB) on
loopback, for Tailor's AWS tests.

Usage: moto_server.py PORT

Prints "ready <port>" once it accepts requests, and stops by itself when
the process that started it exits, so a test run never leaves it behind.
"""

import os
import sys
import time
import urllib.request

from moto.server import ThreadedMotoServer


def main():
    port = int(sys.argv[1])
    parent = os.getppid()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            break
        except Exception:
            time.sleep(0.05)
    print(f"ready {port}", flush=True)
    try:
        while os.getppid() == parent:
            time.sleep(0.5)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
