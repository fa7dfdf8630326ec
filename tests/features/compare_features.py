#!/usr/bin/env python3
"""Compares two per-lap feature CSVs (`boxcall features` vs the reference).

Same header, same (driver, lap) rows; integer counts exactly, reals within a
relative tolerance (default 1e-6), empty cells equal. Exits 1 with a summary
of the differences, 0 when the files agree.

    compare_features.py actual.csv expected.csv [--rtol 1e-6]
"""
import argparse
import csv
import math
import sys

INTEGER_COLUMNS = {"lap", "samples", "brake_events", "gear_shifts", "stint", "tyre_age", "laps_remaining"}
TEXT_COLUMNS = {"driver", "compound"}
MAX_LISTED = 25


def load(path):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = {}
        duplicates = []
        for r in reader:
            if not r:
                continue
            d = dict(zip(header, r))
            key = (d.get("driver", ""), d.get("lap", ""))
            if key in rows:
                duplicates.append(key)
            rows[key] = d
    return header, rows, duplicates


def same(column, a, b, rtol):
    """None when equal, else a short reason."""
    if a == "" or b == "":
        return None if a == b else "empty vs value"
    if column in TEXT_COLUMNS:
        return None if a == b else "text differs"
    if column in INTEGER_COLUMNS:
        try:
            return None if int(a) == int(b) else "count differs"
        except ValueError:
            return "not an integer"
    try:
        x, y = float(a), float(b)
    except ValueError:
        return "not a number"
    if math.isnan(x) or math.isnan(y):
        return None if math.isnan(x) and math.isnan(y) else "nan vs value"
    if x == y:
        return None
    scale = max(abs(x), abs(y))
    return None if abs(x - y) <= rtol * scale else "relative diff %.3g" % (abs(x - y) / scale)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("actual")
    ap.add_argument("expected")
    ap.add_argument("--rtol", type=float, default=1e-6)
    a = ap.parse_args(argv)

    h1, r1, d1 = load(a.actual)
    h2, r2, d2 = load(a.expected)
    problems = []
    if h1 != h2:
        problems.append("header differs:\n  actual:   %s\n  expected: %s" % (",".join(h1), ",".join(h2)))
    for name, d in (("actual", d1), ("expected", d2)):
        if d:
            problems.append("%s has %d duplicate (driver, lap) rows, e.g. %s" % (name, len(d), d[:5]))
    only1 = sorted(set(r1) - set(r2))
    only2 = sorted(set(r2) - set(r1))
    if only1:
        problems.append("%d rows only in actual, e.g. %s" % (len(only1), only1[:10]))
    if only2:
        problems.append("%d rows only in expected, e.g. %s" % (len(only2), only2[:10]))

    columns = [c for c in h2 if c in h1 and c not in ("driver", "lap")]
    per_column = {}
    listed = []
    for key in sorted(set(r1) & set(r2)):
        for c in columns:
            why = same(c, r1[key].get(c, ""), r2[key].get(c, ""), a.rtol)
            if why:
                per_column[c] = per_column.get(c, 0) + 1
                if len(listed) < MAX_LISTED:
                    listed.append("  %s lap %s %s: actual=%r expected=%r (%s)" % (
                        key[0], key[1], c, r1[key].get(c, ""), r2[key].get(c, ""), why))
    if per_column:
        total = sum(per_column.values())
        problems.append("%d differing cells by column: %s\n%s" % (
            total, ", ".join("%s=%d" % kv for kv in sorted(per_column.items())), "\n".join(listed)))

    if problems:
        print("compare_features: %s vs %s: MISMATCH" % (a.actual, a.expected))
        for p in problems:
            print("- " + p)
        return 1
    print("compare_features: %d rows x %d columns agree (rtol %g)" % (len(r1), len(columns) + 2, a.rtol))
    return 0


if __name__ == "__main__":
    sys.exit(main())
