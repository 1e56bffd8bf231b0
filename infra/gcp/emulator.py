"""One of Google's own emulators (Pub/Sub or Firestore) on loopback, for
Tailor's GCP tests.

Usage: emulator.py pubsub|firestore PORT

Starts the emulator the Google Cloud SDK ships, directly (not through the
`gcloud` wrapper, which would leave the Java process behind when killed),
prints "ready <port>" once it answers, and stops it when the process that
started this one exits, so a test run never leaves an emulator behind.

The SDK is found at TAILOR_GCLOUD_SDK, else beside `gcloud` on PATH. A
missing SDK or emulator is a clear error naming what to install, never a
skipped test.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request


def sdk_root():
    configured = os.environ.get("TAILOR_GCLOUD_SDK")
    if configured:
        return configured
    gcloud = shutil.which("gcloud")
    if not gcloud:
        sys.exit(
            "emulator.py: no Google Cloud SDK: install the google-cloud-cli package "
            "(with its Pub/Sub and Firestore emulators) or set TAILOR_GCLOUD_SDK"
        )
    return os.path.dirname(os.path.dirname(os.path.realpath(gcloud)))


def command(kind, port, sdk):
    platform = os.path.join(sdk, "platform")
    if kind == "pubsub":
        binary = os.path.join(platform, "pubsub-emulator", "bin", "cloud-pubsub-emulator")
        need = binary
        argv = [binary, "--host=127.0.0.1", f"--port={port}"]
    elif kind == "firestore":
        jar = os.path.join(platform, "cloud-firestore-emulator", "cloud-firestore-emulator.jar")
        need = jar
        argv = [
            "java",
            "-cp",
            jar,
            "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
            "start",
            "--host=127.0.0.1",
            f"--port={port}",
        ]
    else:
        sys.exit(f"emulator.py: unknown emulator {kind!r} (pubsub or firestore)")
    if not os.path.exists(need):
        sys.exit(
            f"emulator.py: the {kind} emulator is not installed at {need}: "
            "install the SDK's emulator component"
        )
    return argv


def main():
    kind, port = sys.argv[1], int(sys.argv[2])
    parent = os.getppid()
    argv = command(kind, port, sdk_root())
    child = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def stop(*_):
        try:
            os.killpg(child.pid, signal.SIGTERM)
            child.wait(timeout=5)
        except Exception:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except Exception:
                pass

    signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
    try:
        for _ in range(600):
            if child.poll() is not None:
                sys.exit(f"emulator.py: the {kind} emulator exited with {child.returncode}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except urllib.error.HTTPError:
                break
            except Exception:
                time.sleep(0.1)
        else:
            sys.exit(f"emulator.py: the {kind} emulator did not answer within 60 s")
        print(f"ready {port}", flush=True)
        while os.getppid() == parent and child.poll() is None:
            time.sleep(0.5)
    finally:
        stop()


if __name__ == "__main__":
    main()
