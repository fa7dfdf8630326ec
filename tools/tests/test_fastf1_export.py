"""Round trip of tools/fastf1_export.py's formatting on the shared FastF1 data:
parse each file into plain Python rows (as FastF1 would hand them over), format
them again, and compare with the original text line for line."""
import csv
import datetime as dt
import gzip
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import fastf1_export as fx  # noqa: E402

DATA = os.environ.get("BOXCALL_SHARED_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data"))
RACE = os.path.join(DATA, "fastf1", "2023_01_bahrain_race")


def parse_timedelta(s):
    if not s:
        return None
    days, _, clock = s.partition(" days ")
    h, m, sec = clock.lstrip("+").split(":")
    whole, _, frac = sec.partition(".")
    return dt.timedelta(days=int(days), hours=int(h), minutes=int(m), seconds=int(whole),
                        microseconds=int((frac + "000000")[:6]) if frac else 0)


def parse_value(s):
    if s == "":
        return None
    if s in ("True", "False"):
        return s == "True"
    if " days " in s:
        return parse_timedelta(s)
    try:
        return int(s)
    except ValueError:
        pass
    try:
        return float(s)
    except ValueError:
        return s


def read_rows(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        text = f.read()
    reader = csv.reader(text.splitlines())
    header = next(reader)
    rows = []
    for cells in reader:
        row = {}
        for name, cell in zip(header[1:], cells[1:]):
            if name in ("Date", "LapStartDate") and cell:
                row[name] = dt.datetime.strptime(cell, "%Y-%m-%d %H:%M:%S.%f")
            else:
                row[name] = parse_value(cell)
        rows.append(row)
    return header[1:], rows, text


def test_timedelta_forms():
    assert fx.format_timedelta(dt.timedelta(hours=1, minutes=4, seconds=15, microseconds=961000)) == "0 days 01:04:15.961000"
    assert fx.format_timedelta(dt.timedelta(minutes=5)) == "0 days 00:05:00"
    assert fx.format_timedelta(dt.timedelta(seconds=-0.5)) == "-1 days +23:59:59.500000"
    assert fx.format_timedelta(None) == ""


def test_car_data_round_trip_every_car():
    car_dir = os.path.join(RACE, "car_data")
    files = sorted(f for f in os.listdir(car_dir) if f.endswith("_telemetry.csv.gz"))
    assert len(files) == 20
    for name in files:
        columns, rows, text = read_rows(os.path.join(car_dir, name))
        assert columns == fx.CAR_DATA_COLUMNS, name
        assert "".join(fx.car_data_lines(rows)) == text, name


def test_track_status_and_weather_round_trip():
    for file, columns in (("track_status.csv", fx.TRACK_STATUS_COLUMNS), ("weather_data.csv", fx.WEATHER_COLUMNS)):
        cols, rows, text = read_rows(os.path.join(RACE, file))
        assert cols == columns, file
        assert "".join(fx.table_lines(rows, columns)) == text, file


def test_laps_round_trip():
    cols, rows, text = read_rows(os.path.join(RACE, "laps.csv"))
    assert cols == fx.LAPS_COLUMNS
    assert "".join(fx.table_lines(rows, cols, formatters={"LapStartDate": fx.format_datetime})) == text


if __name__ == "__main__":
    import pytest
    sys.exit(pytest.main([__file__, "-q"]))
