"""The real DTP suite for the browser tests: registry, discovery, gateway, ingestor, lift and hvac, started
from the build's binaries on free ports against the test servers that scripts/test started, with a fresh
database and a private twins folder, and stopped afterwards."""

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

SERVICES = ["registry", "discovery", "gateway", "ingestor", "lift", "hvac"]


def read_env(path):
    """KEY=VALUE lines of the dev-services env file (secrets stay in memory, never printed)."""
    values = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, value = line.split("=", 1)
            values[key] = value.strip().strip('"').strip("'")
    return values


def free_port(taken):
    """A free port in 20000-24999, the range the project's tests bind."""
    for _ in range(500):
        port = random.randint(20000, 24999)
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise RuntimeError("no free port in 20000-24999")


class HTTPError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def call(method, url, body=None, token=None, timeout=10, headers=None):
    """A JSON call; returns (status, parsed body); raises HTTPError on 4xx/5xx."""
    data = None
    all_headers = {"Accept": "application/json", **(headers or {})}
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode() or "null"
            return response.status, json.loads(text)
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text
        raise HTTPError(error.code, parsed) from None


def wait_for(what, check, timeout=60, interval=0.5):
    """Polls `check` until it returns a truthy value; raises with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - the last error is reported on timeout
            last_error = error
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


class Suite:
    """Starts and stops the six services; `url(name)` is where each answers."""

    def __init__(self, root, home, bin_dir, log_dir):
        self.root = root
        self.bin_dir = bin_dir
        self.log_dir = log_dir
        self.env_file = read_env(os.path.join(home, "env"))
        self.work = tempfile.mkdtemp(prefix="dtp-browser-")
        taken = set()
        self.ports = {name: free_port(taken) for name in SERVICES}
        self.processes = {}
        self.database = "dtp_browser_" + uuid.uuid4().hex[:10]
        self.admin_db_url = self.env_file["DTP_PG_URL"]

    def url(self, name):
        return f"http://127.0.0.1:{self.ports[name]}"

    def _database_url(self):
        parts = urllib.parse.urlsplit(self.admin_db_url)
        return urllib.parse.urlunsplit(parts._replace(path="/" + self.database))

    def _psql(self, sql):
        subprocess.run(["psql", self.admin_db_url, "-v", "ON_ERROR_STOP=1", "-qc", sql],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _twins_folder(self):
        """The repository's twins with their UI URLs pointed at this run's lift and hvac."""
        folder = os.path.join(self.work, "twins")
        shutil.copytree(os.path.join(self.root, "twins"), folder)
        for name, service in (("lift", "lift"), ("energy_hvac", "hvac")):
            path = os.path.join(folder, name, "twin.yaml")
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            default = "http://localhost:3001" if service == "lift" else "http://localhost:3002"
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text.replace(default, self.url(service)))
        return folder

    def environment(self, name):
        env = dict(os.environ)
        env.update(self.env_file)
        env.update({
            "DTP_HTTP_HOST": "127.0.0.1",
            "DTP_HTTP_PORT": str(self.ports[name]),
            "DTP_PG_URL": self._database_url(),
            "PGDATABASE": self.database,
            "LOG_LEVEL": "info",
            "DTP_STATE_DIR": os.path.join(self.work, "state", name),
            "DTP_SPOOL_DIR": os.path.join(self.work, "spool"),
            "DTP_INGEST_CLIENT_ID": f"dtp-browser-ingestor-{self.database}",
            "DTP_INGEST_GROUP": f"browser{self.database[-10:]}",
            "DTP_TWINS_ROOT": self.twins,
            "DTP_HEALTH_INTERVAL_SECONDS": "2",
            "DTP_LAST_DATA_TTL_SECONDS": "2",
            # Short-lived access tokens, so the tests also cross a silent refresh.
            "DTP_ACCESS_TOKEN_SECONDS": "60",
            "DTP_PORTAL_DIR": os.path.join(self.root, "Services", "portal-gateway", "Public"),
            "TICK_INTERVAL_SEC": "1",
            "PUBLISH_INTERVAL_SEC": "2",
        })
        for service in SERVICES:
            env[f"DTP_{service.upper()}_URL"] = self.url(service)
        for key in ("DTP_ADMIN_PASSWORD", "DTP_DEMO_PASSWORD", "DTP_ADMIN_USERNAME", "DTP_DEMO_USERNAME", "DTP_ENV"):
            env.pop(key, None)  # the earlier demo accounts, which the tests log in with
        return env

    def start(self):
        self._psql(f'CREATE DATABASE "{self.database}"')
        self.twins = self._twins_folder()
        os.makedirs(self.log_dir, exist_ok=True)
        for name in SERVICES:
            self.start_one(name)
        for name in SERVICES:
            self.wait_healthy(name)

    def start_one(self, name):
        log = open(os.path.join(self.log_dir, f"{name}.log"), "ab")
        self.processes[name] = subprocess.Popen(
            [os.path.join(self.bin_dir, f"dtp-{name}")], cwd=self.root, env=self.environment(name),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

    def wait_healthy(self, name, timeout=60):
        def healthy():
            process = self.processes[name]
            if process.poll() is not None:
                raise RuntimeError(f"dtp-{name} exited with {process.returncode}; see {self.log_dir}/{name}.log")
            with urllib.request.urlopen(self.url(name) + "/healthz", timeout=2) as response:
                return response.status == 200
        wait_for(f"dtp-{name} /healthz", healthy, timeout)

    def stop_one(self, name):
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self):
        for name in reversed(SERVICES):
            self.stop_one(name)
        try:
            self._psql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.work, ignore_errors=True)
