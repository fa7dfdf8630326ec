#!/usr/bin/env python3
"""Sends the packets of a capture file (uint32 count; per packet float32 seconds,
uint32 length, payload) to a UDP address, at recorded pace times --speed
(0: as fast as the socket takes them). Python standard library only."""
import argparse
import socket
import struct
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("capture")
    ap.add_argument("port", type=int)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--speed", type=float, default=1.0)
    a = ap.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = 0
    start = time.monotonic()
    with open(a.capture, "rb") as f:
        (count,) = struct.unpack("<I", f.read(4))
        while count == 0 or sent < count:
            head = f.read(8)
            if len(head) < 8:
                break
            seconds, length = struct.unpack("<fI", head)
            payload = f.read(length)
            if a.speed > 0:
                due = start + seconds / a.speed
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)  # pacing of the sender, not a synchronisation
            sock.sendto(payload, (a.host, a.port))
            sent += 1
    print(f"sent={sent}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
