#!/usr/bin/env python3
"""Print boxcall's live strategy predictions and alerts, in either output encoding.

    python3 examples/python/boxcall_consumer.py --brokers localhost:9092
    python3 examples/python/boxcall_consumer.py --brokers localhost:9092 --from-beginning --until-end --jsonl

Each record says how it is encoded in its `content-type` header (docs/wire-contract.md, "Reading
boxcall's outputs"): `application/json` is parsed with json, `application/x-flatbuffers` with the
reader that flatc generates from schemas/boxcall.fbs (`cmake --build build` writes it to
build/schemas/readers/python; --readers or BOXCALL_PY_READERS point elsewhere). Both give the same
dict: the JSON form's field names, enums by name, None for an unknown optional value.

Needs: pip install -r examples/python/requirements.txt (confluent-kafka, flatbuffers).
"""
import argparse
import importlib
import json
import os
import pathlib
import signal
import sys
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException

SCHEMA_VERSION = b"1"  # the wire schema this consumer was written for
MEDIA_JSON = "application/json"
MEDIA_FLATBUFFERS = "application/x-flatbuffers"
DEFAULT_READERS = pathlib.Path(__file__).resolve().parents[2] / "build" / "schemas" / "readers" / "python"


class Readers:
    """The flatc-generated classes of package boxcall.wire, from `path` (else where it is installed)."""

    def __init__(self, path):
        if path:
            sys.path.insert(0, str(path))
        try:
            for name in ("Envelope", "Payload", "StrategyPrediction", "Alert", "Compound", "DrivingMode", "Severity"):
                setattr(self, name, getattr(importlib.import_module(f"boxcall.wire.{name}"), name))
        except ImportError as e:
            sys.exit(f"boxcall_consumer: no FlatBuffers reader ({e}) in {path}: run `cmake --build build`, "
                     "or `flatc --python -o DIR schemas/boxcall.fbs` and --readers DIR")


fb = None  # Readers, set in main()


def enum_name(enum_class, value):
    """flatc's Python enums are classes of constants: the name of `value`, or the number if unnamed."""
    for name, v in vars(enum_class).items():
        if not name.startswith("_") and v == value:
            return name
    return value


def text(b):
    return b.decode("utf-8") if b is not None else None


def prediction_fields(p):
    return {
        "session": text(p.Session()), "car_number": p.CarNumber(), "driver": text(p.Driver()), "lap": p.Lap(),
        "event_time_ns": p.EventTimeNs(), "model_version": text(p.ModelVersion()), "p_pit_3": p.PPit3(),
        "pred_next_lap_s": p.PredNextLapS(), "pit_window_start": p.PitWindowStart(),
        "pit_window_best": p.PitWindowBest(), "pit_window_end": p.PitWindowEnd(),
        "next_compound": enum_name(fb.Compound, p.NextCompound()),
        "pit_now_delta_s": p.PitNowDeltaS(), "undercut_threat": p.UndercutThreat(),
        "undercut_chance": p.UndercutChance(), "mode": enum_name(fb.DrivingMode, p.Mode()),
        "mode_reason": text(p.ModeReason()), "confidence": p.Confidence(),
    }


def alert_fields(a):
    return {
        "session": text(a.Session()), "car_number": a.CarNumber(), "driver": text(a.Driver()), "kind": text(a.Kind()),
        "severity": enum_name(fb.Severity, a.Severity()), "active": bool(a.Active()),
        "event_time_ns": a.EventTimeNs(), "message": text(a.Message()),
    }


def decode_flatbuffer(value):
    """(payload_type, fields) of an Envelope FlatBuffer; fields only for predictions and alerts."""
    if not fb.Envelope.EnvelopeBufferHasIdentifier(value, 0):
        raise ValueError("not a boxcall Envelope (file identifier BXC1)")
    env = fb.Envelope.GetRootAs(value, 0)
    payload_type = enum_name(fb.Payload, env.PayloadType())
    table = env.Payload()
    if payload_type == "StrategyPrediction":
        p = fb.StrategyPrediction()
        p.Init(table.Bytes, table.Pos)
        return payload_type, prediction_fields(p)
    if payload_type == "Alert":
        a = fb.Alert()
        a.Init(table.Bytes, table.Pos)
        return payload_type, alert_fields(a)
    return payload_type, None


def decode_json(value):
    env = json.loads(value)
    payload_type = env["payload_type"]
    fields = env["payload"] if payload_type in ("StrategyPrediction", "Alert") else None
    return payload_type, fields


def media_type(headers, value):
    """The content-type's media type; records without the header (boxcall before schema headers) are sniffed."""
    ct = headers.get("content-type")
    if ct is not None:
        return ct.decode().split(";")[0].strip().lower()
    if len(value) >= 8 and value[4:8] == b"BXC1":
        return MEDIA_FLATBUFFERS
    return MEDIA_JSON if value.lstrip()[:1] == b"{" else None


def decode(msg):
    """(media type, payload_type, fields) of one record; raises ValueError when it cannot be read."""
    headers = {k: v for k, v in (msg.headers() or [])}
    version = headers.get("boxcall.schema.version")
    if version is not None and version != SCHEMA_VERSION:
        raise ValueError(f"schema version {version.decode()} (this consumer reads {SCHEMA_VERSION.decode()})")
    value = msg.value()
    media = media_type(headers, value)
    if media == MEDIA_JSON:
        return (media, *decode_json(value))
    if media == MEDIA_FLATBUFFERS:
        return (media, *decode_flatbuffer(value))
    raise ValueError(f"unknown content-type {headers.get('content-type')!r}")


def fmt(x, spec, unit=""):
    return "-" if x is None else format(x, spec) + unit


def describe(payload_type, f, media):
    enc = "json" if media == MEDIA_JSON else "fb"
    if payload_type == "StrategyPrediction":
        window = ("no window" if f["pit_window_start"] is None else
                  f"pit window {f['pit_window_start']}-{f['pit_window_end']} (best {f['pit_window_best']})")
        return (f"lap {f['lap']:>2} {f['driver']:<3} #{f['car_number']:<2} {window}, next {f['next_compound']}, "
                f"p(pit within 3 laps) {fmt(f['p_pit_3'], '.2f')}, next lap {fmt(f['pred_next_lap_s'], '.3f', ' s')}, "
                f"undercut threat {fmt(f['undercut_threat'], '.2f')}, {f['mode']}: {f['mode_reason']}  [{enc}]")
    if payload_type == "Alert":
        state = "RAISED " if f["active"] else "cleared"
        who = f"{f['driver']} #{f['car_number']}" if f["car_number"] else "session"
        return f"ALERT {state} {f['severity']:<8} {f['kind']:<18} {who}: {f['message']}  [{enc}]"
    return f"({payload_type}) [{enc}]"


def main():
    ap = argparse.ArgumentParser(description="Print boxcall's predictions and alerts (FlatBuffers or JSON).")
    ap.add_argument("--brokers", default="localhost:9092", help="Kafka bootstrap servers")
    ap.add_argument("--topics", default="predictions,alerts", help="comma-separated output topics")
    ap.add_argument("--group", default=None, help="consumer group (default: a new one, nothing committed)")
    ap.add_argument("--from-beginning", action="store_true", help="read what the topics already hold")
    ap.add_argument("--until-end", action="store_true", help="stop at the end of every assigned partition")
    ap.add_argument("--jsonl", action="store_true", help="one JSON object per record instead of a readable line")
    ap.add_argument("--readers", default=os.environ.get("BOXCALL_PY_READERS", DEFAULT_READERS),
                    help="directory of the flatc-generated Python package boxcall.wire")
    args = ap.parse_args()
    global fb
    fb = Readers(args.readers)

    consumer = Consumer({
        "bootstrap.servers": args.brokers,
        "group.id": args.group or f"boxcall-example-{uuid.uuid4()}",
        "auto.offset.reset": "earliest" if args.from_beginning else "latest",
        "enable.auto.commit": args.group is not None,
        "enable.partition.eof": args.until_end,
    })
    assigned, at_end = set(), set()

    def on_assign(c, partitions):
        assigned.update((p.topic, p.partition) for p in partitions)

    consumer.subscribe([t for t in args.topics.split(",") if t], on_assign=on_assign)
    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    counts = {}
    try:
        while not stop:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add((msg.topic(), msg.partition()))
                    if args.until_end and assigned and assigned <= at_end:
                        break
                    continue
                raise KafkaException(msg.error())
            at_end.discard((msg.topic(), msg.partition()))
            try:
                media, payload_type, fields = decode(msg)
            except ValueError as e:
                print(f"skipped {msg.topic()}/{msg.partition()}@{msg.offset()}: {e}", file=sys.stderr)
                continue
            counts[payload_type] = counts.get(payload_type, 0) + 1
            if args.jsonl:
                print(json.dumps({"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset(),
                                  "key": text(msg.key()), "media_type": media, "payload_type": payload_type,
                                  "record": fields}), flush=True)
            else:
                print(describe(payload_type, fields, media), flush=True)
    finally:
        consumer.close()
    print("read: " + (", ".join(f"{n} {t}" for t, n in sorted(counts.items())) or "nothing"), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
