#!/usr/bin/env python3
"""Measures `qssl proxy` throughput through qssl-sim on a UART of a given baud rate, as a fraction of the line
rate (baud / 10 bytes per second each way), and prints the figures. A benchmark, not a test: run it by hand.

    scripts/proxy-throughput.py [--baud 115200] [--bytes 200000] [--build .build/debug]

One local client sends BYTES through the proxy to a TLS echo server and reads them back while sending, so both
directions of the line are busy at once; the echo is checked byte-exact. Figures: payload bytes per second each
way and that rate over the line rate.
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def first_line(proc: subprocess.Popen, timeout: float = 60) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise SystemExit(f"{proc.args[0]} printed nothing")
    return proc.stdout.readline().strip()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--bytes", type=int, default=200_000)
    ap.add_argument("--build", default=str(ROOT / ".build" / "debug"))
    ap.add_argument("--transparent", action="store_true", help="proxy --transparent (the module's data mode)")
    a = ap.parse_args()
    sim, cli = str(Path(a.build) / "qssl-sim"), str(Path(a.build) / "qssl-cli")
    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([str(ROOT / "scripts" / "make-test-certs.sh"), tmp], check=True, stdout=subprocess.DEVNULL)

        def start(*argv: str, stderr=subprocess.DEVNULL) -> subprocess.Popen:
            p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, text=True)
            procs.append(p)
            return p
        try:
            port = first_line(start(sim, "echo-server", "--cert", f"{tmp}/server.pem", "--key", f"{tmp}/server.key"))
            pty = first_line(start(sim, "--baud", str(a.baud)))
            proxy = start(cli, "-d", pty, "-b", str(a.baud), "proxy", "--listen", "0", "--to", f"127.0.0.1:{port}",
                          "--apn", "CMNET", *(["--transparent"] if a.transparent else []))
            local = int(first_line(proxy).rsplit(":", 1)[1])
            data = os.urandom(a.bytes)
            got = bytearray()
            with socket.create_connection(("127.0.0.1", local)) as s:
                s.sendall(b"x")  # connection and handshake outside the measurement
                while len(got) < 1:
                    got += s.recv(10)
                got.clear()
                done = {}

                def reader() -> None:
                    while len(got) < len(data):
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        got.extend(chunk)
                    done["t"] = time.monotonic()
                t = threading.Thread(target=reader)
                t0 = time.monotonic()
                t.start()
                s.sendall(data)
                sent_at = time.monotonic()
                t.join()
            if bytes(got) != data:
                print(f"echo differs: {len(got)} of {len(data)} bytes back", file=sys.stderr)
                return 1
            elapsed = done["t"] - t0
            line = a.baud / 10
            rate = len(data) / elapsed
            mode = "transparent mode" if a.transparent else "command mode"
            print(f"qssl proxy ({mode}) through qssl-sim at {a.baud} baud, {len(data)} bytes echoed byte-exact over TLS:")
            print(f"  {rate:.0f} payload bytes/s each way, {rate / line:.3f} of the line rate ({line:.0f} bytes/s)")
            print(f"  (all sent after {sent_at - t0:.1f} s, all back after {elapsed:.1f} s)")
            print(f"  command: scripts/proxy-throughput.py --baud {a.baud} --bytes {a.bytes}"
                  + (" --transparent" if a.transparent else ""))
            return 0
        finally:
            for p in reversed(procs):
                p.terminate()
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()


if __name__ == "__main__":
    sys.exit(main())
