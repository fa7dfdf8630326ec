#!/usr/bin/env python3
"""Writes the recording fuzzer's seed corpus (tests/fuzz/corpus/recording/): a
small made-up recording (two topics, records with and without key, value and
headers, the END frame) in each input mode of tests/fuzz/recording_fuzz.cc:
frame bodies for the harness to frame (mode 0, and 2: gzipped), the file
byte for byte (mode 1, and 3: gzipped), and a file cut inside its last frame."""
import pathlib
import struct
import zlib

OUT = pathlib.Path(__file__).resolve().parent / "corpus" / "recording"


def b32(b):
    return struct.pack("<i", -1) if b is None else struct.pack("<i", len(b)) + b


def record(topic, part, off, ts, key, value, headers):
    body = struct.pack("<BHiqq", 2, topic, part, off, ts) + b32(key) + b32(value)
    body += struct.pack("<H", len(headers))
    for name, v in headers:
        body += struct.pack("<H", len(name)) + name + b32(v)
    return body


BODIES = [
    struct.pack("<BH", 1, 0) + b"telemetry",
    record(0, 0, 0, 1678028400000, b"2023-bahrain-R", b'{"schema_version":1}', [(b"content-type", b"application/json")]),
    struct.pack("<BH", 1, 1) + b"timing",
    record(1, 1, 7, 1678028400100, None, b"\x10\x00\x00\x00", []),
    record(0, 0, 1, 1678028400200, b"k", None, [(b"h", None), (b"x-boxcall-reason", b"late")]),
    struct.pack("<BQ", 3, 3),
]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for p in OUT.iterdir():
        p.unlink()
    framed_input = b"".join(struct.pack("<H", len(b)) + b for b in BODIES)
    (OUT / "bodies").write_bytes(bytes([0]) + framed_input)
    (OUT / "bodies-gz").write_bytes(bytes([2]) + framed_input)
    f = b"BXCREC\r\n" + struct.pack("<HHI", 1, 0, 0)
    for b in BODIES:
        f += struct.pack("<II", len(b), zlib.crc32(b)) + b
    (OUT / "file").write_bytes(bytes([1]) + f)
    (OUT / "file-gz").write_bytes(bytes([3]) + f)
    (OUT / "file-cut").write_bytes(bytes([1]) + f[:-7])


if __name__ == "__main__":
    main()
