#!/usr/bin/env python3
"""Export any FastF1 session into the layout `boxcall replay` reads.

    python3 tools/fastf1_export.py 2023 Bahrain R --out data/2023_01_bahrain_race [--cache ~/.fastf1]

Writes, exactly like the shared data (../shared/data/fastf1/2023_01_bahrain_race):
    car_data/<number>_telemetry.csv.gz   FastF1 session.car_data[<number>]
    laps.csv, track_status.csv, weather_data.csv, race_info.csv, results.csv

Needs FastF1 and internet only for the download. The text formatting (pandas'
CSV forms of timestamps, timedeltas, booleans and numbers) is done by the pure
functions below on plain rows (dicts of Python values: datetime, timedelta,
bool, int, float, str, None), so it is tested without FastF1 or pandas:
tools/tests/test_fastf1_export.py round-trips the shared files.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import io
import math
import os
import sys
from typing import Any, Iterable, Mapping, Sequence

# Columns of the shared data, in order (the first, unnamed one is the row index).
CAR_DATA_COLUMNS = ["Date", "RPM", "Speed", "nGear", "Throttle", "Brake", "DRS", "Source", "Time", "SessionTime"]
TRACK_STATUS_COLUMNS = ["Time", "Status", "Message"]
WEATHER_COLUMNS = ["Time", "AirTemp", "Humidity", "Pressure", "Rainfall", "TrackTemp", "WindDirection", "WindSpeed"]
LAPS_COLUMNS = [
    "Time", "Driver", "DriverNumber", "LapTime", "LapNumber", "Stint", "PitOutTime", "PitInTime", "Sector1Time",
    "Sector2Time", "Sector3Time", "Sector1SessionTime", "Sector2SessionTime", "Sector3SessionTime", "SpeedI1",
    "SpeedI2", "SpeedFL", "SpeedST", "IsPersonalBest", "Compound", "TyreLife", "FreshTyre", "Team", "LapStartTime",
    "LapStartDate", "TrackStatus", "Position", "Deleted", "DeletedReason", "FastF1Generated", "IsAccurate",
]


# ---------------------------------------------------------------- pure formatting

def format_timedelta(value: dt.timedelta | None) -> str:
    """pandas' text of a Timedelta: '0 days 01:04:15.961000' ('' when missing)."""
    if value is None:
        return ""
    us = value.days * 86_400_000_000 + value.seconds * 1_000_000 + value.microseconds
    sign = "-" if us < 0 else ""
    days, rest = divmod(abs(us), 86_400_000_000)
    if sign:  # pandas writes negative timedeltas as '-1 days +23:59:59.500000'
        days, rest = -(days + (1 if rest else 0)), (86_400_000_000 - rest) % 86_400_000_000
        sign = ""
    secs, frac = divmod(rest, 1_000_000)
    h, m, s = secs // 3600, secs // 60 % 60, secs % 60
    text = f"{days} days {'+' if days < 0 else ''}{h:02d}:{m:02d}:{s:02d}"
    return text + (f".{frac:06d}" if frac else "")


def format_datetime(value: dt.datetime | None, digits: int = 3) -> str:
    """A naive UTC timestamp as in the shared data: '2023-03-05 14:01:02.640'."""
    if value is None:
        return ""
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if digits:
        text += "." + f"{value.microsecond:06d}"[:digits]
    return text


def format_value(value: Any) -> str:
    """pandas' CSV text of a scalar: True/False, 1.0 for float, '' for None/NaN."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return repr(value)
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.timedelta):
        return format_timedelta(value)
    return str(value)


def table_lines(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], *, formatters: Mapping[str, Any] | None = None,
                index: bool = True) -> Iterable[str]:
    """CSV lines (header first) of `rows` with `columns`, pandas' to_csv style (unnamed index column)."""
    formatters = formatters or {}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(([""] if index else []) + list(columns))
    yield buf.getvalue()
    for i, row in enumerate(rows):
        buf.seek(0)
        buf.truncate()
        cells = [formatters.get(c, format_value)(row.get(c)) for c in columns]
        w.writerow(([str(i)] if index else []) + cells)
        yield buf.getvalue()


def car_data_lines(rows: Iterable[Mapping[str, Any]]) -> Iterable[str]:
    """The lines of `car_data/<number>_telemetry.csv` from FastF1 car_data rows."""
    return table_lines(rows, CAR_DATA_COLUMNS, formatters={"Date": format_datetime})


# ---------------------------------------------------------------- FastF1 (needs internet)

def frame_rows(df) -> list[dict]:
    """pandas rows as plain Python values (Timestamp -> datetime, Timedelta -> timedelta, NaN/NaT -> None)."""
    out = []
    for rec in df.to_dict("records"):
        row = {}
        for k, v in rec.items():
            if v is None or (isinstance(v, float) and math.isnan(v)) or str(v) in ("NaT", "nan"):
                row[k] = None
            elif hasattr(v, "to_pytimedelta"):
                row[k] = v.to_pytimedelta()
            elif hasattr(v, "to_pydatetime"):
                row[k] = v.to_pydatetime()
            elif hasattr(v, "item"):
                row[k] = v.item()
            else:
                row[k] = v
        out.append(row)
    return out


def write_lines(path: str, lines: Iterable[str]) -> None:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8", newline="") as f:
        for line in lines:
            f.write(line)


def export(year: int, event: str, kind: str, out: str, cache: str | None) -> None:
    import fastf1  # imported here: the formatting above needs no FastF1

    if cache:
        os.makedirs(cache, exist_ok=True)
        fastf1.Cache.enable_cache(cache)
    session = fastf1.get_session(year, event, kind)
    session.load(laps=True, telemetry=True, weather=True, messages=True)
    os.makedirs(os.path.join(out, "car_data"), exist_ok=True)
    for number, df in session.car_data.items():
        write_lines(os.path.join(out, "car_data", f"{number}_telemetry.csv.gz"), car_data_lines(frame_rows(df)))
    laps = session.laps
    write_lines(os.path.join(out, "laps.csv"),
                table_lines(frame_rows(laps[[c for c in LAPS_COLUMNS if c in laps.columns]]),
                            [c for c in LAPS_COLUMNS if c in laps.columns]))
    write_lines(os.path.join(out, "track_status.csv"), table_lines(frame_rows(session.track_status), TRACK_STATUS_COLUMNS))
    write_lines(os.path.join(out, "weather_data.csv"), table_lines(frame_rows(session.weather_data), WEATHER_COLUMNS))
    session.results.to_csv(os.path.join(out, "results.csv"))
    info = {"RoundNumber": session.event["RoundNumber"], "Country": session.event["Country"],
            "Location": session.event["Location"], "EventName": session.event["EventName"],
            "SessionName": session.name, "TotalLaps": getattr(session, "total_laps", "")}
    write_lines(os.path.join(out, "race_info.csv"), [",1\n"] + [f"{k},{v}\n" for k, v in info.items()])


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("year", type=int)
    p.add_argument("event", help="event name or round number, e.g. Bahrain or 1")
    p.add_argument("session", help="R, Q, S, FP1...")
    p.add_argument("--out", required=True, help="output directory (replay it with: boxcall replay DIR -b ...)")
    p.add_argument("--cache", default=os.path.expanduser("~/.cache/fastf1"))
    a = p.parse_args(argv)
    event: Any = int(a.event) if a.event.isdigit() else a.event
    try:
        export(a.year, event, a.session, a.out, a.cache)
    except ImportError:
        print("fastf1_export: FastF1 is not installed (pip install fastf1)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
