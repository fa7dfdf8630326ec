#!/usr/bin/env bash
# What can be checked of deploy/ without a container engine:
#  1. Prometheus: promtool check config/rules, promtool test rules (alerts_test.yml);
#  2. every PromQL expression of the Grafana dashboard parses (promtool, as recording rules),
#     and every boxcall_* metric that the rules and the dashboard use is one that boxcall really
#     exports (scraped from a short embedded run of this build);
#  3. Kubernetes manifests against the Kubernetes 1.30 schemas (kubernetes-validate from PyPI,
#     installed by this script into <build>/deploy-venv, bundles the schemas: offline), strict;
#  4. the compose file: its local files exist; the TOML configurations it and the ConfigMap
#     carry are accepted by boxcall (they only fail at reaching their broker);
#  5. docs/openapi.yaml is a valid OpenAPI 3 description, and the running boxcall's answers
#     (/healthz, /readyz, /sessions, /sessions/{id}, /models, a 404) match its schemas.
set -euo pipefail
BOXCALL=$1
SRC=$2
BUILD=$3
dir=$(mktemp -d)
pid=
cleanup() { [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
D=$SRC/deploy

# Python with PyYAML and kubernetes-validate, once per build tree.
venv=$BUILD/deploy-venv
if [[ ! -x $venv/bin/kubernetes-validate || ! -x $venv/bin/openapi-spec-validator ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'kubernetes-validate==1.37.0' \
    'openapi-spec-validator==0.9.0' || fail "pip install kubernetes-validate openapi-spec-validator"
fi
PY=$venv/bin/python

# 1. Prometheus configuration, rules and their unit tests.
promtool check config "$D/prometheus/prometheus.yml" >/dev/null || fail "promtool check config"
promtool check rules "$D/prometheus/alerts.yml" >/dev/null || fail "promtool check rules"
(cd "$D/prometheus" && promtool test rules alerts_test.yml) || fail "promtool test rules"

# 2. Dashboard expressions parse; used metric names exist in a real scrape.
"$PY" - "$D/grafana/dashboards/boxcall.json" "$dir/dashboard_rules.yml" <<'PY'
import json, sys, yaml
dash = json.load(open(sys.argv[1]))
exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
assert exprs, "no expressions in the dashboard"
rules = [{"record": f"dashboard:expr_{i}", "expr": e} for i, e in enumerate(exprs)]
yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(sys.argv[2], "w"))
print(f"dashboard: {len(dash['panels'])} panels, {len(exprs)} expressions")
PY
promtool check rules "$dir/dashboard_rules.yml" >/dev/null || fail "a dashboard expression does not parse"

"$BOXCALL" run --duration 60 --speed 20 --http 127.0.0.1:0 --no-summary >/dev/null 2>"$dir/err" &
pid=$!
deadline=$((SECONDS + 45))
until grep -q 'pit wall: http://' "$dir/err" && grep -q 'out: features=[0-9]* predictions=[1-9]' "$dir/err"; do
  ((SECONDS > deadline)) && { cat "$dir/err"; fail "boxcall did not start publishing"; }
  kill -0 "$pid" 2>/dev/null || { cat "$dir/err"; fail "boxcall exited"; }
  sleep 0.2
done
url=$(grep -o 'pit wall: http://[0-9.:]*/' "$dir/err" | head -1 | cut -d' ' -f3)
curl -fsS "${url}metrics" >/dev/null
curl -fsS "${url}metrics" >"$dir/metrics"
"$venv/bin/openapi-spec-validator" "$SRC/docs/openapi.yaml" >/dev/null || fail "docs/openapi.yaml is not valid OpenAPI"
"$PY" - "$SRC/docs/openapi.yaml" "$url" <<'PY' || fail "an answer does not match docs/openapi.yaml"
import json, sys, urllib.error, urllib.request, yaml
from openapi_schema_validator import OAS30Validator, validate
spec = yaml.safe_load(open(sys.argv[1]))
url = sys.argv[2]
def get(path):
    try:
        with urllib.request.urlopen(url + path.lstrip("/"), timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
def check(path, status_expected, schema):
    status, body = get(path)
    assert status in status_expected, (path, status, body)
    validate(body, {**schema, "components": spec["components"]}, cls=OAS30Validator)
    return body
resp = lambda p, code: spec["paths"][p]["get"]["responses"][code]["content"]["application/json"]["schema"]
check("/healthz", {200}, resp("/healthz", "200"))
check("/readyz", {200, 503}, resp("/readyz", "200"))
sessions = check("/sessions", {200}, resp("/sessions", "200"))
assert sessions["sessions"], "no session in the live view"
sid = sessions["sessions"][0]["id"]
session = check("/sessions/" + sid, {200}, resp("/sessions/{id}", "200"))
assert len(session["tower"]) == 20 and any(c["laps"] for c in session["tower"]), "tower without laps"
check("/models", {200}, resp("/models", "200"))
check("/sessions/no-such-session", {404}, {"$ref": "#/components/schemas/Error"})
print(f"openapi: valid; /healthz /readyz /sessions /sessions/{sid} /models and a 404 match it")
PY
kill -TERM "$pid"; wait "$pid" || true; pid=
"$PY" - "$dir/metrics" "$D/prometheus/alerts.yml" "$D/grafana/dashboards/boxcall.json" <<'PY'
import json, re, sys, yaml
exported = set()
for line in open(sys.argv[1]):
    m = re.match(r"(?:# TYPE )?(boxcall_[a-z_]+)", line)
    if m:
        exported.add(m.group(1))
        exported.add(re.sub(r"_(bucket|sum|count)$", "", m.group(1)))
texts = [r["expr"] for g in yaml.safe_load(open(sys.argv[2]))["groups"] for r in g["rules"]]
texts += [t["expr"] for p in json.load(open(sys.argv[3]))["panels"] for t in p.get("targets", [])]
used = {n for t in texts for n in re.findall(r"\bboxcall_[a-z_]+", t)}
missing = sorted(n for n in used if n not in exported and re.sub(r"_(bucket|sum|count)$", "", n) not in exported)
assert not missing, f"used by rules or dashboard but not exported: {missing}"
print(f"metrics: {len(used)} used by rules and dashboard, all exported ({len(exported)} names scraped)")
PY

# 3. Kubernetes manifests (kustomization.yaml is not a resource).
manifests=()
for f in "$D"/k8s/*.yaml; do [[ $(basename "$f") == kustomization.yaml ]] || manifests+=("$f"); done
"$venv/bin/kubernetes-validate" --strict --quiet -k 1.30.0 "${manifests[@]}" || fail "kubernetes-validate"
"$PY" - "$D/k8s/kustomization.yaml" <<'PY'
import os, sys, yaml
k = yaml.safe_load(open(sys.argv[1]))
for r in k["resources"]:
    assert os.path.exists(os.path.join(os.path.dirname(sys.argv[1]), r)), f"kustomization lists a missing {r}"
PY

# 4. Compose: local files exist; the configurations shipped in compose and the ConfigMap load.
"$PY" - "$D/compose/compose.yaml" "$D/k8s/configmap.yaml" "$dir" <<'PY'
import os, sys, yaml
compose = yaml.safe_load(open(sys.argv[1]))
base = os.path.dirname(sys.argv[1])
for name, svc in compose["services"].items():
    for v in svc.get("volumes", []):
        host = v.split(":")[0]
        if host.startswith("."):
            assert os.path.exists(os.path.join(base, host)), f"compose service {name}: {host} does not exist"
    b = svc.get("build")
    if b:
        assert os.path.exists(os.path.join(base, b["context"], b["dockerfile"])), f"{name}: no Dockerfile"
cm = yaml.safe_load(open(sys.argv[2]))
open(os.path.join(sys.argv[3], "configmap.toml"), "w").write(cm["data"]["boxcall.toml"])
print(f"compose: {len(compose['services'])} services, local files present")
PY
grep -q '^HEALTHCHECK ' "$D/Dockerfile" && grep -q 'curl -fsS http://127.0.0.1:9464/healthz' "$D/Dockerfile" &&
  grep -q '^USER 10001' "$D/Dockerfile" || fail "Dockerfile: HEALTHCHECK or non-root USER missing"
# In parallel: each waits its start-up timeout for the unreachable broker.
n=0
for cfg in "$D/compose/boxcall.toml" "$dir/configmap.toml" "$D/boxcall.toml"; do
  n=$((n + 1))
  (code=0
   "$BOXCALL" run --config "$cfg" --brokers 127.0.0.1:1 --http '' -X socket.connection.setup.timeout.ms=1000 \
     >/dev/null 2>"$dir/cfg$n.err" || code=$?
   echo $code >"$dir/cfg$n.code") &
done
wait
n=0
for cfg in "$D/compose/boxcall.toml" "$dir/configmap.toml" "$D/boxcall.toml"; do
  n=$((n + 1))
  [[ $(cat "$dir/cfg$n.code") -eq 2 ]] && grep -q 'cannot reach Kafka' "$dir/cfg$n.err" ||
    fail "$cfg does not load: $(tail -1 "$dir/cfg$n.err")"
done
echo "PASS: promtool config, rules and tests; dashboard expressions and metric names; k8s manifests (1.30, strict); compose and configurations; OpenAPI and the API's answers"
