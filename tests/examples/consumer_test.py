#!/usr/bin/env python3
"""The example consumers against the real broker, on a replayed window of the real 2023 Bahrain GP,
for both output encodings.

boxcall replays laps 11-17 (session time 1:20:00-1:32:00) into fresh topics, then `boxcall run`
processes them twice: once with FlatBuffers outputs, once with JSON outputs ([output] encoding).
For each, this test reads the raw output records (headers, JSON Schema of every JSON value), runs
examples/python/boxcall_consumer.py (and, when given, the TypeScript example) and asserts what it
decoded: the cars and laps of the window (independently from laps.csv), the predictions' fields,
the alerts; and that both encodings decode to the same records.

Run by ctest (tests/examples/CMakeLists.txt) with the venv's python; the broker is the one the
ctest fixture started (BOXCALL_TEST_BROKER_DIR). Exits non-zero on the first failed check.
"""
import argparse
import csv
import datetime
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid

import jsonschema
from confluent_kafka import Consumer, KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

WINDOW = ("1:20:00", "1:32:00")
SESSION = "2023_01_bahrain_race"
SCHEDULED_LAPS = 57
CONTENT_TYPES = {
    "flatbuffers": "application/x-flatbuffers; schema=boxcall.wire.Envelope; version=1",
    "json": "application/json; schema=boxcall.wire.Envelope; version=1",
}
MEDIA = {"flatbuffers": "application/x-flatbuffers", "json": "application/json"}
checks = 0


def check(cond, what):
    global checks
    if not cond:
        print(f"FAIL: {what}", flush=True)
        sys.exit(1)
    checks += 1


def seconds(text):
    """'0 days 01:20:00.123000' or '1:20:00' -> seconds."""
    h, m, s = text.split(" ")[-1].split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def window_laps(laps_csv):
    """From laps.csv, independently of boxcall: {(driver, lap)} completed in the window, driver -> car
    number, and the UTC nanoseconds of session time 0."""
    lo, hi = (seconds(t) for t in WINDOW)
    done, numbers, t0 = set(), {}, None
    for r in csv.DictReader(open(laps_csv)):
        numbers[r["Driver"]] = int(r["DriverNumber"])
        if t0 is None and r["LapStartDate"] and r["LapStartTime"]:
            start = datetime.datetime.fromisoformat(r["LapStartDate"]).replace(tzinfo=datetime.timezone.utc)
            t0 = int(start.timestamp() * 1e9) - int(seconds(r["LapStartTime"]) * 1e9)
        if r["Time"] and lo <= seconds(r["Time"]) <= hi:
            done.add((r["Driver"], int(float(r["LapNumber"]))))
    return done, numbers, t0


def create_topics(admin, names, partitions):
    futures = admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    for f in futures.values():
        f.result(timeout=30)


def read_raw(brokers, topic, timeout=60):
    """Every record of `topic`: (headers dict, value bytes), read from the beginning to the end."""
    c = Consumer({"bootstrap.servers": brokers, "group.id": "raw-" + topic, "enable.partition.eof": True,
                  "enable.auto.commit": False})
    parts = c.list_topics(topic, timeout=10).topics[topic].partitions
    c.assign([TopicPartition(topic, p, 0) for p in parts])  # 0: the first offset (OFFSET_BEGINNING is -2)
    out, at_end, deadline = [], set(), time.monotonic() + timeout
    while len(at_end) < len(parts):
        check(time.monotonic() < deadline, f"reading {topic} to its end within {timeout} s")
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            check(m.error().code() == KafkaError._PARTITION_EOF, f"reading {topic}: {m.error()}")
            at_end.add(m.partition())
            continue
        out.append(({k: v.decode() for k, v in (m.headers() or [])}, m.value()))
    c.close()
    return out


def metric(text, name, label):
    m = re.search(r"^%s\{topic=\"%s\"\} ([0-9.e+]+)$" % (name, label), text, re.M)
    return float(m.group(1)) if m else 0.0


def run_boxcall(args, brokers, topics, encoding, expected_in, work):
    """`boxcall run` until it has consumed every replayed record, then SIGTERM (a clean drain)."""
    cfg = work / f"boxcall-{encoding}.toml"
    cfg.write_text(f"""
[kafka]
brokers = "{brokers}"
group_id = "boxcall-{encoding}-{topics['telemetry']}"
# The TypeScript example's --until-end stops at each partition's last offset, which is a transaction
# marker under exactly-once (never delivered): known limitation of the example, examples/README.md.
processing_guarantee = "at_least_once"
[kafka.consumer]
"session.timeout.ms" = "6000"
[topics]
{chr(10).join(f'{k} = "{v}"' for k, v in topics.items())}
[output]
encoding = "{encoding}"
[features]
scheduled_laps = {SCHEDULED_LAPS}   # the window starts after the session info; an operator sets it
[metrics]
address = "127.0.0.1:0"
""")
    log = open(work / f"boxcall-{encoding}.log", "w+")
    proc = subprocess.Popen([args.boxcall, "run", "--config", str(cfg)], stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 120
    url = None
    try:
        while True:
            check(time.monotonic() < deadline, f"boxcall ({encoding}) consumed {expected_in} records within 120 s")
            check(proc.poll() is None, f"boxcall ({encoding}) is running (log: {log.name})")
            if url is None:
                log.seek(0)
                found = re.search(r"metrics on (http://\S+/metrics)", log.read())
                url = found.group(1) if found else None
            if url is not None:
                text = urllib.request.urlopen(url, timeout=5).read().decode()
                consumed = metric(text, "boxcall_records_in_total", "telemetry") + metric(
                    text, "boxcall_records_in_total", "timing")
                if consumed >= expected_in:
                    break
            time.sleep(0.2)  # polling interval of the condition above
        proc.send_signal(signal.SIGTERM)
        check(proc.wait(timeout=60) == 0, f"boxcall ({encoding}) drains and exits 0 on SIGTERM")
    finally:
        if proc.poll() is None:
            proc.kill()
    log.seek(0)
    print(f"boxcall ({encoding}): {log.read().strip().splitlines()[-1]}", flush=True)


def run_example(cmd, brokers, topics, jsonl=True):
    argv = cmd + ["--brokers", brokers, "--topics", f"{topics['predictions']},{topics['alerts']}",
                  "--from-beginning", "--until-end"] + (["--jsonl"] if jsonl else [])
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, f"{' '.join(argv)} exits 0: {r.stderr[-2000:]}")
    lines = [line for line in r.stdout.splitlines() if line.strip()]
    return [json.loads(line) for line in lines] if jsonl else lines


def normalized(recs):
    """Records keyed by (topic kind, partition-free identity), event_time_ns as int (TypeScript writes digits)."""
    out = {}
    for r in recs:
        f = dict(r["record"])
        f["event_time_ns"] = int(f["event_time_ns"])
        key = (r["payload_type"], f["driver"], f.get("lap"), f.get("kind"), f.get("active"), f["event_time_ns"])
        out[key] = f
    return out


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(a))  # JSON: 12 decimals
    return a == b


def check_same_records(x, y, what):
    check(set(x) == set(y), f"{what}: the same records ({len(x)} vs {len(y)}; "
                            f"only in one: {sorted(set(x) ^ set(y), key=str)[:5]})")
    for k in x:
        for field in x[k]:
            check(same(x[k][field], y[k].get(field)), f"{what}: {k} field {field}: {x[k][field]!r} vs {y[k].get(field)!r}")


def check_decoded(recs, encoding, done, numbers, t0):
    """What the Python example decoded, against laps.csv and the wire contract."""
    lo_ns = t0 + int(seconds(WINDOW[0]) * 1e9)
    hi_ns = t0 + int((seconds(WINDOW[1]) + 5) * 1e9)
    preds = [r for r in recs if r["payload_type"] == "StrategyPrediction"]
    alerts = [r for r in recs if r["payload_type"] == "Alert"]
    check(len(preds) + len(alerts) == len(recs), f"{encoding}: only predictions and alerts on those topics")
    for r in recs:
        check(r["media_type"] == MEDIA[encoding], f"{encoding}: the example read {r['media_type']}")
        check(r["key"] == SESSION, f"{encoding}: record key is the session id, got {r['key']}")
    seen = {(r["record"]["driver"], r["record"]["lap"]) for r in preds}
    check(len(seen) == len(preds), f"{encoding}: one prediction per car and lap")
    check(seen == done, f"{encoding}: a prediction for every lap completed in the window (laps.csv): "
                        f"missing {sorted(done - seen)[:5]}, unexpected {sorted(seen - done)[:5]}")
    check(len({d for d, _ in seen}) == 20, f"{encoding}: all 20 cars")
    windows = 0
    for r in preds:
        p = r["record"]
        where = f"{encoding}: {p['driver']} lap {p['lap']}"
        check(p["session"] == SESSION and p["car_number"] == numbers[p["driver"]], f"{where}: session and car number")
        check(lo_ns <= p["event_time_ns"] <= hi_ns, f"{where}: event time {p['event_time_ns']} in the window")
        check("lap_time@" in p["model_version"] and "pit_3@" in p["model_version"], f"{where}: {p['model_version']}")
        check(p["p_pit_3"] is not None and 0 <= p["p_pit_3"] <= 1, f"{where}: p_pit_3 {p['p_pit_3']}")
        check(p["pred_next_lap_s"] is None or 85 < p["pred_next_lap_s"] < 130,
              f"{where}: pred_next_lap_s {p['pred_next_lap_s']}")
        check(p["next_compound"] in ("SOFT", "MEDIUM", "HARD"), f"{where}: next_compound {p['next_compound']}")
        check(p["mode"] in ("PUSH", "BALANCED", "CONSERVE") and p["mode_reason"], f"{where}: mode {p['mode']}")
        check(p["mode_reason"] != "race length unknown", f"{where}: [features] scheduled_laps reached the strategy")
        w = (p["pit_window_start"], p["pit_window_best"], p["pit_window_end"])
        if w[0] is not None:
            windows += 1
            check(p["lap"] < w[0] <= w[1] <= w[2] <= SCHEDULED_LAPS, f"{where}: pit window {w}")
        for k in ("undercut_threat", "undercut_chance", "confidence"):
            check(p[k] is None or 0 <= p[k] <= 1, f"{where}: {k} {p[k]}")
    check(windows >= 20, f"{encoding}: pit windows open in the stint of the first stops ({windows})")
    for r in alerts:
        a = r["record"]
        check(a["kind"] and a["severity"] in ("INFO", "WARNING", "CRITICAL") and isinstance(a["active"], bool),
              f"{encoding}: alert fields {a}")
        check(a["car_number"] == 0 or a["car_number"] == numbers[a["driver"]], f"{encoding}: alert car {a}")
    print(f"{encoding}: {len(preds)} predictions for {len({d for d, _ in seen})} cars, laps "
          f"{min(l for _, l in seen)}-{max(l for _, l in seen)}, {windows} with a pit window; {len(alerts)} alerts",
          flush=True)
    return preds, alerts


def check_json_schema(validator, raw, encoding):
    if encoding != "json":
        return 0
    for headers, value in raw:
        errors = sorted(validator.iter_errors(json.loads(value)), key=str)
        check(not errors, f"JSON Schema: {errors[0].message if errors else ''} in {value[:200]!r}")
    return len(raw)


def check_schema_rejects(validator, prediction_value):
    """The schema is not vacuous: broken copies of a real prediction fail."""
    good = json.loads(prediction_value)
    check(validator.is_valid(good), "a real prediction is valid")
    broken = [json.loads(prediction_value) for _ in range(6)]
    del broken[0]["payload"]["lap"]
    broken[1]["payload_type"] = "Alert"
    broken[2]["payload"]["p_pit_3"] = "high"
    broken[3]["schema_version"] = 2
    broken[4]["payload"]["mode"] = "ATTACK"
    broken[5]["payload"]["pit_stop_lap"] = 12  # unknown to this version (the test closes the tables)
    for b in broken:
        check(not validator.is_valid(b), f"JSON Schema rejects {json.dumps(b)[:120]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--boxcall", required=True)
    ap.add_argument("--data", required=True, type=pathlib.Path, help="fastf1/2023_01_bahrain_race")
    ap.add_argument("--example", required=True, help="examples/python/boxcall_consumer.py")
    ap.add_argument("--readers", required=True, help="build/schemas/readers/python")
    ap.add_argument("--schema", required=True, help="schemas/boxcall.schema.json")
    ap.add_argument("--ts-example", help="dist/consumer.js of the TypeScript example")
    ap.add_argument("--work", required=True, type=pathlib.Path)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    broker_dir = os.environ.get("BOXCALL_TEST_BROKER_DIR")
    check(broker_dir is not None, "BOXCALL_TEST_BROKER_DIR is set (run through ctest: broker fixture)")
    brokers = (pathlib.Path(broker_dir) / "bootstrap").read_text().split()[0]
    schema = json.loads(pathlib.Path(args.schema).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    # The published schema allows unknown fields (forward compatibility); boxcall's own records must
    # have exactly the schema's fields, so the test closes every table.
    for d in schema["$defs"].values():
        if d.get("type") == "object":
            d["additionalProperties"] = False
    validator = jsonschema.Draft202012Validator(schema)
    done, numbers, t0 = window_laps(args.data / "laps.csv")

    suffix = uuid.uuid4().hex[:8]
    inputs = {"telemetry": f"telemetry-ex-{suffix}", "timing": f"timing-ex-{suffix}"}
    admin = AdminClient({"bootstrap.servers": brokers})
    outputs = {enc: {k: f"{k.replace('_', '-')}-ex-{enc}-{suffix}"
                     for k in ("features", "predictions", "alerts", "dead_letter")} for enc in CONTENT_TYPES}
    create_topics(admin, list(inputs.values()) + [t for o in outputs.values() for t in o.values()], 2)

    r = subprocess.run([args.boxcall, "replay", str(args.data), "--brokers", brokers, "--from", WINDOW[0], "--to",
                        WINDOW[1], "--max", "--progress", "none", "--telemetry-topic", inputs["telemetry"],
                        "--timing-topic", inputs["timing"]], capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, f"replay: {r.stderr[-1000:]}")
    m = re.search(r"(\d+) telemetry, (\d+) timing, (\d+) dead-letter", r.stderr)
    check(m is not None and int(m.group(3)) == 0, f"replay summary: {r.stderr[-500:]}")
    expected_in = int(m.group(1)) + int(m.group(2))
    print(f"replayed {WINDOW[0]}-{WINDOW[1]} of {SESSION}: {m.group(1)} telemetry, {m.group(2)} timing", flush=True)

    python_example = [sys.executable, args.example, "--readers", args.readers]
    decoded = {}
    for enc, out in outputs.items():
        topics = {**inputs, **out}
        run_boxcall(args, brokers, topics, enc, expected_in, args.work)
        # Every output record names its encoding and schema version; JSON values follow the JSON Schema.
        validated = 0
        for kind in ("features", "predictions", "alerts"):
            raw = read_raw(brokers, out[kind])
            check(raw, f"{enc}: records on {kind}")
            for headers, value in raw:
                check(headers.get("content-type") == CONTENT_TYPES[enc], f"{enc} {kind}: content-type {headers}")
                check(headers.get("boxcall.schema.version") == "1", f"{enc} {kind}: schema version {headers}")
                check((value[4:8] == b"BXC1") == (enc == "flatbuffers"), f"{enc} {kind}: value in {enc}")
            validated += check_json_schema(validator, raw, enc)
            if enc == "json" and kind == "predictions":
                check_schema_rejects(validator, raw[0][1])
        if validated:
            print(f"json: {validated} output records valid against {args.schema}", flush=True)
        recs = run_example(python_example, brokers, out)
        decoded[enc] = recs
        check_decoded(recs, enc, done, numbers, t0)
        lines = run_example(python_example, brokers, out, jsonl=False)
        check(len(lines) == len(recs) and all(("lap " in ln or ln.startswith("ALERT")) for ln in lines),
              f"{enc}: one readable line per record: {lines[:2]}")
        print(f"{enc}, as a person sees it: {lines[0]}", flush=True)
        if args.ts_example:
            ts = run_example(["node", args.ts_example], brokers, out)
            check_same_records(normalized(recs), normalized(ts), f"{enc}: TypeScript example vs Python example")
            print(f"{enc}: the TypeScript example decoded the same {len(ts)} records", flush=True)

    # Both encodings carry the same records. Alerts of processing time (feed_stall: how long boxcall
    # waited before SIGTERM) are not part of the comparison.
    def comparable(recs):
        return normalized([r for r in recs if r["record"].get("kind") != "feed_stall"])
    check_same_records(comparable(decoded["flatbuffers"]), comparable(decoded["json"]), "FlatBuffers vs JSON")
    print(f"PASS: {checks} checks", flush=True)


if __name__ == "__main__":
    main()
