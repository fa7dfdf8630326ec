"""A small Chrome DevTools Protocol client over --remote-debugging-pipe (Python stdlib only).

Chromium reads commands from fd 3 and writes replies and events to fd 4, each one JSON
message ended by a NUL byte (the transport Puppeteer uses). No port, no websocket library.
"""
import base64
import json
import os
import subprocess
import threading
import time

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--font-render-hinting=none",
    "--remote-debugging-pipe",
]


class CdpError(RuntimeError):
    pass


class Browser:
    def __init__(self, executable, user_data_dir, log_path):
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        # High numbers first, so that the dup2 onto 3 and 4 in the child cannot clobber each other.
        hi_r = os.dup2(to_child_r, 100)
        hi_w = os.dup2(from_child_w, 101)
        os.close(to_child_r)
        os.close(from_child_w)

        def child_fds():
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)

        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
            preexec_fn=child_fds, pass_fds=(3, 4, hi_r, hi_w))
        os.close(hi_r)
        os.close(hi_w)
        self._out = os.fdopen(to_child_w, "wb", buffering=0)
        self._in = os.fdopen(from_child_r, "rb", buffering=0)
        self._next_id = 0
        self._replies = {}
        self._cond = threading.Condition()
        self.exceptions = []  # Runtime.exceptionThrown: uncaught errors of the page
        self.console_errors = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        buf = b""
        while True:
            chunk = self._in.read(65536)
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                with self._cond:
                    if "id" in msg:
                        self._replies[msg["id"]] = msg
                        self._cond.notify_all()
                    elif msg.get("method") == "Runtime.exceptionThrown":
                        self.exceptions.append(msg["params"]["exceptionDetails"])
                    elif msg.get("method") == "Runtime.consoleAPICalled" and msg["params"].get("type") == "error":
                        self.console_errors.append(msg["params"])
        with self._cond:
            self._cond.notify_all()

    def send(self, method, params=None, session=None, timeout=30):
        with self._cond:
            self._next_id += 1
            mid = self._next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self._out.write(json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._cond:
            while mid not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise CdpError(f"{method}: no reply (chromium exit code {self.proc.poll()})")
                self._cond.wait(min(left, 0.5))
            reply = self._replies.pop(mid)
        if "error" in reply:
            raise CdpError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


class Page:
    def __init__(self, browser, width, height):
        self.b = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Runtime.enable")
        self.send("Page.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def send(self, method, params=None, timeout=30):
        return self.b.send(method, params, session=self.session, timeout=timeout)

    def navigate(self, url):
        self.send("Page.navigate", {"url": url})

    def evaluate(self, expression):
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise CdpError(f"evaluate: {r['exceptionDetails'].get('text')}: {expression[:80]}")
        return r["result"].get("value")

    def wait_for(self, expression, timeout, what):
        """Polls `expression` until it is truthy; returns its value. Fails with `what` on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.25)  # polling interval, not a synchronisation

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
