#!/usr/bin/env python3
"""The pit-wall page as a strategist sees it: headless Chromium (Debian's) against boxcall
consuming the real 2023 Bahrain GP, replayed through the real Kafka broker of the ctest
fixture at high speed.

Asserts, in the page's DOM: the tower shows all 20 cars; values change as laps complete;
a pit window appears; the VSC of laps 40-41 raises the cheap-stop alert in the feed; no
JavaScript error. Also checks /sessions/{id} and /readyz. Writes a screenshot (PNG) to
--artifacts. Waits are on conditions with deadlines.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser, Page  # noqa: E402

SESSION = "2023_01_bahrain_race"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def wait_until(fn, timeout, what, proc=None, log_path=None):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            tail = open(log_path).read()[-3000:] if log_path else ""
            raise AssertionError(f"process exited ({proc.returncode}) while waiting for {what}\n{tail}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)  # polling interval, not a synchronisation


def get_json(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def topic_exists(bootstrap, topic):
    r = subprocess.run(["kcat", "-b", bootstrap, "-L", "-t", topic, "-J"], capture_output=True, text=True, timeout=20)
    if r.returncode != 0:
        return False
    md = json.loads(r.stdout)
    return any(t["topic"] == topic and not t.get("error") and t.get("partitions") for t in md.get("topics", []))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--boxcall", required=True)
    ap.add_argument("--data", required=True, help="FastF1 export of the 2023 Bahrain race")
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--speed", default="200")
    args = ap.parse_args()

    broker_dir = os.environ.get("BOXCALL_TEST_BROKER_DIR")
    if not broker_dir:
        sys.exit("BOXCALL_TEST_BROKER_DIR is not set: run through ctest (broker fixture)")
    bootstrap = open(os.path.join(broker_dir, "bootstrap")).read().strip()
    os.makedirs(args.artifacts, exist_ok=True)
    shot = os.path.join(args.artifacts, "pitwall-bahrain.png")
    work = tempfile.mkdtemp(prefix="boxcall-web-")
    suffix = f"web-{random.randrange(10**9)}"
    topics = {k: f"{k.replace('_', '-')}-{suffix}"
              for k in ("telemetry", "timing", "features", "predictions", "alerts", "dead_letter")}
    config = os.path.join(work, "boxcall.toml")
    with open(config, "w") as f:
        f.write(f'[kafka]\nbrokers = "{bootstrap}"\ngroup_id = "boxcall-{suffix}"\n')
        f.write('[kafka.consumer]\n"session.timeout.ms" = "6000"\n')
        f.write("[topics]\n" + "".join(f'{k} = "{v}"\n' for k, v in topics.items()))
        # A replay at a few hundred times real time delivers the two input topics far apart.
        f.write('[watermark]\ninput_idle = "1s"\n')
        # The rules predictor (deterministic, model-independent): with it the VSC of lap 40 re-plans
        # stops and raises cheap_pit_stop (tests/integration/strategy_test.cc); the shipped models'
        # windows do not cover lap 41 there, so they raise none.
        f.write('[models]\nfallback = "rules"\n')

    procs = []
    browser = None
    replay_log = os.path.join(work, "replay.log")
    run_log = os.path.join(work, "run.log")
    try:
        # The race from just before the start (session time 1:02:00) to just after the VSC deployment
        # (2:09:18, lap 40), so that the page ends on the decision it calls for.
        log(f"replaying {args.data} at {args.speed}x into {topics['telemetry']} / {topics['timing']}")
        replay = subprocess.Popen(
            [args.boxcall, "replay", args.data, "--brokers", bootstrap, "--speed", args.speed,
             "--from", "1:02:00", "--to", "2:09:40", "--telemetry-topic", topics["telemetry"],
             "--timing-topic", topics["timing"], "--progress", "none"],
            stdout=subprocess.DEVNULL, stderr=open(replay_log, "w"))
        procs.append(replay)
        wait_until(lambda: topic_exists(bootstrap, topics["telemetry"]) and topic_exists(bootstrap, topics["timing"]),
                   60, "the input topics", replay, replay_log)

        run = subprocess.Popen([args.boxcall, "run", "--config", config, "--http", "127.0.0.1:0", "--no-summary",
                                "--no-models"],
                               stdout=subprocess.DEVNULL, stderr=open(run_log, "w"))
        procs.append(run)

        def page_url():
            m = re.search(r"pit wall: (http://[0-9.:]+/)", open(run_log).read())
            return m.group(1) if m else None
        url = wait_until(page_url, 60, "the page's URL in boxcall's log", run, run_log)
        log(f"page at {url}")

        user_data = os.path.join(work, "chromium-profile")
        browser = Browser(args.chromium, user_data, os.path.join(work, "chromium.log"))
        page = Page(browser, 1720, 1000)
        page.navigate(f"{url}#session={SESSION}")

        rows = "document.querySelectorAll('#tower tbody tr').length"
        page.wait_for(f"{rows} === 20", 90, "a tower of 20 cars")
        log("tower shows 20 cars")

        snapshot_js = """JSON.stringify({lap: document.getElementById('lap').textContent,
            last: [...document.querySelectorAll('#tower tbody tr')].map(r => r.dataset.car + ':' +
                   r.querySelector('[data-col=last]').textContent + ':' + r.querySelector('[data-col=tyre]').textContent)})"""
        first = json.loads(page.evaluate(snapshot_js))
        page.wait_for(f"""(() => {{ const now = JSON.parse({snapshot_js});
                          return now.lap !== {json.dumps(first['lap'])} &&
                                 now.last.filter((c, i) => c !== {json.dumps(first['last'])}[i]).length >= 10; }})()""",
                      60, f"the leader's lap and at least 10 last-lap cells to change (from {first['lap']})")
        now_lap = page.evaluate("document.getElementById('lap').textContent")
        log(f"values change as laps complete: {first['lap']} -> {now_lap}")

        page.wait_for("[...document.querySelectorAll('#tower td.window')].some(td => /L\\d+/.test(td.textContent))",
                      60, "a pit window in the tower")
        log("a pit window is shown")

        vsc = page.wait_for(
            "[...document.querySelectorAll('#feed li')].map(li => li.textContent).find(t => /VSC deployed/.test(t))",
            120, "the VSC cheap-stop alert in the feed")
        log(f"VSC alert: {vsc[:160]}")

        # The lap-time chart draws the selected car's laps and the predicted curve.
        page.wait_for("document.querySelectorAll('#chart svg circle').length > 20 && "
                      "document.querySelector('#chart svg polyline.pred') !== null", 30, "the lap-time chart")

        status, session = get_json(f"{url}sessions/{SESSION}")
        assert status == 200 and len(session["tower"]) == 20, (status, len(session.get("tower", [])))
        assert session["scheduled_laps"] == 57, session["scheduled_laps"]
        windows = sum(1 for c in session["tower"] if c["pit_window"])
        assert any(a["kind"] == "cheap_pit_stop" and "VSC" in a["message"] for a in session["alert_feed"])
        status, ready = get_json(f"{url}readyz")
        assert status == 200 and ready["ready"], ready
        status, err = get_json(f"{url}sessions/no-such-session")
        assert status == 404 and "error" in err, (status, err)

        page.evaluate("document.getElementById('feed').scrollTop = 0")
        # The replay has ended: wait until the last rows' update highlight has faded.
        page.wait_for("document.getAnimations().length === 0", 15, "the page to settle")
        page.screenshot(shot)
        log(f"screenshot: {shot}")

        assert not browser.exceptions, f"JavaScript exceptions: {browser.exceptions[:3]}"
        assert not browser.console_errors, f"console errors: {browser.console_errors[:3]}"

        run.send_signal(signal.SIGTERM)
        code = run.wait(timeout=60)
        assert code == 0, f"boxcall run exited {code} after SIGTERM\n{open(run_log).read()[-2000:]}"
        print(f"PASS: 20 cars, {windows} pit windows in /sessions, VSC alert shown, screenshot {shot}")
        return 0
    except Exception:
        for name, path in (("run", run_log), ("replay", replay_log)):
            if os.path.exists(path):
                print(f"---- {name} log (tail) ----\n{open(path).read()[-3000:]}", file=sys.stderr)
        raise
    finally:
        if browser:
            browser.close()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
