#!/usr/bin/env python3
"""Independent reference for the per-lap features (docs/features.md).

Plain Python 3 (csv, gzip, math, bisect): written from the definitions, not
from the C++ engine, and batch-style (whole tables, bisect on sorted times)
where the engine is streaming. Reads a FastF1 export and writes the same CSV
as `boxcall features`:

    reference_features.py --car-data DIR --laps laps.csv [--track-status FILE] --out ref.csv
"""
import argparse
import bisect
import csv
import gzip
import math
import os
import re
import sys

FUEL_START_KG = 110.0
FUEL_EFFECT_S_PER_KG = 0.035
CLEAN_MAX_RATIO = 1.07
DRS_OPEN = (10, 12, 14)
COMPOUNDS = ("SOFT", "MEDIUM", "HARD", "INTERMEDIATE", "WET", "TEST_UNKNOWN")

COLUMNS = [
    "driver", "lap", "samples", "max_gap_s", "mean_throttle", "std_throttle", "full_throttle_frac",
    "mean_speed", "max_speed", "brake_frac", "brake_events", "drs_open_frac", "gear_shifts", "lap_time_s",
    "compound", "stint", "tyre_age", "laps_remaining", "fuel_kg_est", "gap_to_leader_s", "interval_ahead_s",
    "deg_slope_s_per_lap",
]

_TD = re.compile(r"^(?:(-?\d+) days ?\+?)?(?:(\d+):)?(?:(\d+):)?(\d+)(?:\.(\d+))?$")


def timedelta_ns(text):
    """pandas Timedelta text -> integer nanoseconds, None when empty."""
    text = text.strip().strip('"')
    if text in ("", "NaT", "nan"):
        return None
    m = _TD.match(text)
    if not m:
        raise ValueError("bad timedelta %r" % text)
    days, a, b, sec, frac = m.groups()
    fields = [int(x) for x in (a, b) if x is not None]
    seconds = 0
    for f in fields:
        seconds = seconds * 60 + f
    seconds = seconds * 60 + int(sec) if fields else int(sec)
    ns = seconds * 10**9 + int((frac or "")[:9].ljust(9, "0"))
    if days is not None:
        ns += int(days) * 86400 * 10**9
    return ns


def opt_int(text):
    text = text.strip()
    if text in ("", "nan"):
        return None
    return int(float(text))


def opt_float(text):
    text = text.strip()
    if text in ("", "nan"):
        return None
    return float(text)


def read_laps(path):
    laps = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            try:
                number = opt_int(r["DriverNumber"])
                lap = opt_int(r["LapNumber"])
            except ValueError:
                continue
            if number is None or lap is None or lap < 1 or not r["Driver"].strip():
                continue
            laps.append({
                "driver": r["Driver"].strip(),
                "number": number,
                "lap": lap,
                "T": timedelta_ns(r.get("Time", "")),
                "start": timedelta_ns(r.get("LapStartTime", "")),
                "lap_time": timedelta_ns(r.get("LapTime", "")),
                "pit_in": timedelta_ns(r.get("PitInTime", "")),
                "pit_out": timedelta_ns(r.get("PitOutTime", "")),
                "compound": r.get("Compound", "").strip().upper(),
                "stint": opt_int(r.get("Stint", "")),
                "tyre_life": opt_int(r.get("TyreLife", "")),
                "status": r.get("TrackStatus", "").strip(),
            })
    return laps


def read_track_status(path):
    """Sorted (time ns, status code) changes."""
    changes = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            t = timedelta_ns(r["Time"])
            if t is None or r["Status"].strip() == "":
                continue
            changes.append((t, int(float(r["Status"]))))
    changes.sort()
    return changes


def read_car(path):
    """Columns of one car's telemetry, in file (time) order."""
    t, speed, throttle, gear, brake, drs = [], [], [], [], [], []
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="") as f:
        for r in csv.DictReader(f):
            try:
                ts = timedelta_ns(r["SessionTime"])
                b = r["Brake"].strip()
                if ts is None or b not in ("True", "False"):
                    continue
                row = (ts, float(r["Speed"]), float(r["Throttle"]), int(float(r["nGear"])), b == "True",
                       int(float(r["DRS"])))
            except (ValueError, KeyError):
                continue
            # Physical ranges of docs/wire-contract.md: such samples never reach the features
            # (the live path dead-letters them, the offline twin skips them).
            if not (0 <= row[1] <= 400 and (0 <= row[2] <= 100 or row[2] == 104) and 0 <= row[3] <= 8
                    and 0 <= float(r["RPM"]) <= 20000 and 0 <= row[5] <= 14):
                continue
            for col, v in zip((t, speed, throttle, gear, brake, drs), row):
                col.append(v)
    return t, speed, throttle, gear, brake, drs


def telemetry_features(tel, lo, hi, out):
    """Features of samples [lo, hi) of one car; sample lo-1 is the one before the lap."""
    t, speed, throttle, gear, brake, drs = tel
    n = hi - lo
    out["samples"] = n
    if n == 0:
        return
    if n >= 2:
        out["max_gap_s"] = max(t[i + 1] - t[i] for i in range(lo, hi - 1)) / 1e9
    valid = [throttle[i] for i in range(lo, hi) if 0.0 <= throttle[i] <= 100.0]
    if valid:
        mean = sum(valid) / len(valid)
        out["mean_throttle"] = mean
        out["full_throttle_frac"] = sum(1 for x in valid if x >= 99.0) / len(valid)
        if len(valid) >= 2:
            out["std_throttle"] = math.sqrt(sum((x - mean) ** 2 for x in valid) / (len(valid) - 1))
    out["mean_speed"] = sum(speed[lo:hi]) / n
    out["max_speed"] = max(speed[lo:hi])
    out["brake_frac"] = sum(1 for i in range(lo, hi) if brake[i]) / n
    out["drs_open_frac"] = sum(1 for i in range(lo, hi) if drs[i] in DRS_OPEN) / n
    first = lo if lo > 0 else lo + 1  # the first sample compares with the one before, if any
    out["brake_events"] = sum(1 for i in range(first, hi) if brake[i] and not brake[i - 1])
    out["gear_shifts"] = sum(1 for i in range(first, hi) if gear[i] != gear[i - 1])


def statuses_in(changes, start, end):
    """Track statuses in force during [start, end]: the one at the start plus changes up to the end."""
    seen = set()
    before = [s for (t, s) in changes if t <= start]
    seen.add(before[-1] if before else None)
    seen.update(s for (t, s) in changes if start < t <= end)
    return seen


def slope(xs, ys):
    n = len(xs)
    mx = sum(xs) / n
    my = sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def compute(car_dir, laps_path, track_status_path=None):
    laps = read_laps(laps_path)
    changes = read_track_status(track_status_path) if track_status_path else None
    scheduled = max(r["lap"] for r in laps)
    lap1_starts = [r["start"] for r in laps if r["lap"] == 1 and r["start"] is not None]
    race_start = min(lap1_starts) if lap1_starts else None
    emitted = [r for r in laps if r["T"] is not None]

    # T(., L) of every car, sorted, for gaps and intervals.
    by_lap = {}
    for r in emitted:
        by_lap.setdefault(r["lap"], []).append(r["T"])
    for v in by_lap.values():
        v.sort()

    files = {}
    for name in os.listdir(car_dir):
        m = re.match(r"^(\d+)_telemetry\.csv(\.gz)?$", name)
        if m:
            files[int(m.group(1))] = os.path.join(car_dir, name)

    rows = []
    drivers = {}
    for r in emitted:
        drivers.setdefault(r["number"], []).append(r)
    for number, car_laps in drivers.items():
        car_laps.sort(key=lambda r: r["lap"])
        tel = read_car(files[number]) if number in files else ([], [], [], [], [], [])
        times = tel[0]
        prev = None  # previous lap row of this car
        stint = None
        age = None
        prev_in_lap = False
        stint_laps = []  # (tyre_age, lap_time_s, corrected) of the clean-by-pit-and-status laps
        for r in car_laps:
            L = r["lap"]
            out = {c: None for c in COLUMNS}
            out["driver"] = r["driver"]
            out["lap"] = L
            out["samples"] = 0

            # Lap bounds: [LapStartTime(L), T(L)); the start must agree with the
            # previous lap's end (lap 1: the session start).
            expected = race_start if L == 1 else (prev["T"] if prev is not None and prev["lap"] == L - 1 else None)
            if expected is not None and (r["start"] is None or r["start"] == expected):
                lo = bisect.bisect_left(times, expected)
                hi = bisect.bisect_left(times, r["T"])
                telemetry_features(tel, lo, hi, out)

            lap_time = r["lap_time"] / 1e9 if r["lap_time"] is not None else None
            out["lap_time_s"] = lap_time
            out["compound"] = r["compound"] if r["compound"] in COMPOUNDS else ""

            in_lap = r["pit_in"] is not None
            out_lap = r["pit_out"] is not None
            new_stint = False
            if prev is None:
                stint = r["stint"] if r["stint"] is not None else 1
                age = r["tyre_life"]
            elif out_lap or prev_in_lap:
                stint += 1
                age = r["tyre_life"]
                new_stint = True
            elif r["tyre_life"] is not None and (age is None or r["tyre_life"] >= age):
                age = r["tyre_life"]
            elif age is not None:
                age = age + (L - prev["lap"])  # glitch: a lower age without a stop
            out["stint"] = stint
            out["tyre_age"] = age
            out["laps_remaining"] = scheduled - L
            fuel = FUEL_START_KG * (1.0 - L / scheduled)
            out["fuel_kg_est"] = fuel

            ts = by_lap[L]
            out["gap_to_leader_s"] = (r["T"] - ts[0]) / 1e9
            i = bisect.bisect_left(ts, r["T"])
            if i > 0:
                out["interval_ahead_s"] = (r["T"] - ts[i - 1]) / 1e9

            if r["status"]:
                green = set(r["status"]) == {"1"}
            elif changes is not None and expected is not None:
                green = statuses_in(changes, expected, r["T"]) == {1}
            else:
                green = False
            if new_stint:
                stint_laps = []
            if not in_lap and not out_lap and green and lap_time is not None and age is not None:
                stint_laps.append((float(age), lap_time, lap_time - FUEL_EFFECT_S_PER_KG * fuel))
            if len(stint_laps) >= 3:
                fastest = min(l[1] for l in stint_laps)
                clean = [l for l in stint_laps if l[1] <= CLEAN_MAX_RATIO * fastest]
                if len(clean) >= 3:
                    out["deg_slope_s_per_lap"] = slope([l[0] for l in clean], [l[2] for l in clean])

            prev_in_lap = in_lap
            prev = r
            rows.append(out)
    rows.sort(key=lambda o: (o["driver"], o["lap"]))
    return rows


def fmt(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return str(v)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--car-data", required=True)
    ap.add_argument("--laps", required=True)
    ap.add_argument("--track-status")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    rows = compute(a.car_data, a.laps, a.track_status)
    with open(a.out, "w", newline="") as f:
        f.write(",".join(COLUMNS) + "\n")
        for o in rows:
            f.write(",".join(fmt(o[c]) for c in COLUMNS) + "\n")
    print("reference: %d laps written to %s" % (len(rows), a.out), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
