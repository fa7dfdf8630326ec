#!/usr/bin/env python3
"""Generates schemas/boxcall.schema.json, the JSON Schema of the wire contract's JSON form.

    tools/gen_jsonschema.py            # rewrite schemas/boxcall.schema.json from schemas/boxcall.fbs
    tools/gen_jsonschema.py --check    # exit 1 when the committed file is not what the .fbs gives (a test)

`flatc --jsonschema` maps the types (integer ranges, enums by name, doc comments). flatc 2.0.8 refuses
optional scalars (`= null`) for JSON Schema, so it runs on a copy of the schema without them; this
script then states what boxcall's JSON form is (Codec::to_json, docs/wire-contract.md):
- an optional scalar is its type or null (boxcall writes null when the value is unknown);
- the output tables (topics features, predictions, alerts) and the Envelope always carry every field:
  all their fields are required. Input tables keep flatc's rule (only `(required)` fields), since
  producers may leave out fields at their default;
- a union's `<name>_type` says which table `<name>` holds (one if/then per member), never NONE in an
  Envelope;
- `schema_version` is the schema's version (a new version is a new schema);
- unknown fields are allowed (flatc forbids them): a field appended in a compatible change must not
  make an older copy of this schema reject newer records (docs/wire-contract.md, compatibility).
Standard library only; flatc from the Debian package flatbuffers-compiler.
"""
import argparse
import json
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUTPUT_TABLES = ["LapFeatures", "FeatureSnapshot", "StrategyPrediction", "Alert"]
ROOT_TABLE = "Envelope"
SCHEMA_VERSION = 1
PREFIX = "boxcall_wire_"


def fbs_tables(text):
    """{table: {field: default text or None}} from the .fbs (comments removed); a union field
    `u` also gives flatc's `u_type`."""
    text = re.sub(r"//[^\n]*", "", text)
    unions = set(re.findall(r"\bunion\s+(\w+)", text))
    tables = {}
    for name, body in re.findall(r"\btable\s+(\w+)\s*\{(.*?)\}", text, flags=re.S):
        fields = {}
        for decl in body.split(";"):
            decl = decl.strip()
            if not decl:
                continue
            m = re.fullmatch(r"(\w+)\s*:\s*([\w.\[\]:]+)\s*(?:=\s*([^\s(]+))?\s*(?:\(([^)]*)\))?", decl)
            if not m:
                sys.exit(f"gen_jsonschema: cannot read the field declaration '{decl}' of table {name}")
            if m.group(2) in unions:
                fields[m.group(1) + "_type"] = None
            fields[m.group(1)] = m.group(3)
        tables[name] = fields
    return tables


def run_flatc(flatc, fbs_text):
    stripped = re.sub(r"\s*=\s*null\b", "", fbs_text)
    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp) / "boxcall.fbs"
        src.write_text(stripped)
        subprocess.run([flatc, "--jsonschema", "-o", tmp, str(src)], check=True)
        return json.loads((pathlib.Path(tmp) / "boxcall.schema.json").read_text())


def retarget(node):
    """flatc's draft-2019-09 `definitions` -> 2020-12 `$defs`, refs included."""
    if isinstance(node, dict):
        return {k: (v.replace("#/definitions/", "#/$defs/") if k == "$ref" else retarget(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [retarget(v) for v in node]
    return node


def tie_unions(table, defs):
    """`<u>_type` + `<u>` (anyOf of refs) -> `<u>` an object, and one if/then per member."""
    props = table["properties"]
    rules = []
    for name in list(props):
        members = props[name].get("anyOf")
        if not members or name + "_type" not in props:
            continue
        enum_ref = props[name + "_type"]["$ref"]
        enum_values = defs[enum_ref.rsplit("/", 1)[1]]["enum"]
        refs = {m["$ref"].rsplit("/", 1)[1][len(PREFIX):]: m["$ref"] for m in members}
        if sorted(refs) != sorted(v for v in enum_values if v != "NONE"):
            sys.exit(f"gen_jsonschema: union {name}: members {sorted(refs)} do not match {enum_values}")
        props[name] = {"type": "object", "description": f"the table named by {name}_type"}
        for value in enum_values:
            if value == "NONE":
                continue
            rules.append({"if": {"properties": {name + "_type": {"const": value}}, "required": [name + "_type"]},
                          "then": {"properties": {name: {"$ref": refs[value]}}}})
    if rules:
        table["allOf"] = rules


def generate(flatc, fbs_path):
    fbs_text = fbs_path.read_text()
    tables = fbs_tables(fbs_text)
    flat = retarget(run_flatc(flatc, fbs_text))
    defs = flat["definitions"]
    for table, fields in tables.items():
        d = defs.get(PREFIX + table)
        if d is None or set(d["properties"]) != set(fields):
            sys.exit(f"gen_jsonschema: flatc and this script read table {table} differently")
        for field, default in fields.items():
            if default == "null":
                prop = d["properties"][field]
                prop["type"] = [prop["type"], "null"]
                prop["description"] = "null when unknown"
        d.pop("additionalProperties", None)
        tie_unions(d, defs)
        if table in OUTPUT_TABLES or table == ROOT_TABLE:
            d["required"] = list(d["properties"])
    env = defs[PREFIX + ROOT_TABLE]["properties"]
    env["schema_version"] = {"const": SCHEMA_VERSION,
                             "description": "wire schema version; also in the header boxcall.schema.version"}
    env["payload_type"]["not"] = {"const": "NONE"}
    for table in OUTPUT_TABLES:
        defs[PREFIX + table]["description"] = (defs[PREFIX + table].get("description", "") +
                                               " boxcall always writes every field.").strip()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:boxcall:wire:envelope:{SCHEMA_VERSION}",
        "title": f"boxcall Envelope, JSON form, schema version {SCHEMA_VERSION}",
        "description": ("One Kafka record value in the JSON encoding (content-type application/json; "
                        "schema=boxcall.wire.Envelope; version=1). Generated from schemas/boxcall.fbs by "
                        "tools/gen_jsonschema.py: do not edit. See docs/wire-contract.md."),
        "$defs": defs,
        "$ref": "#/$defs/" + PREFIX + ROOT_TABLE,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--flatc", default="flatc")
    ap.add_argument("--fbs", type=pathlib.Path, default=ROOT / "schemas" / "boxcall.fbs")
    ap.add_argument("--out", type=pathlib.Path, default=ROOT / "schemas" / "boxcall.schema.json")
    ap.add_argument("--check", action="store_true", help="compare with --out instead of writing it")
    a = ap.parse_args()
    text = json.dumps(generate(a.flatc, a.fbs), indent=2) + "\n"
    if a.check:
        if not a.out.exists() or a.out.read_text() != text:
            print(f"{a.out} is not what {a.fbs} gives: run tools/gen_jsonschema.py and commit the result")
            return 1
        print(f"{a.out}: up to date with {a.fbs}")
        return 0
    a.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
