#!/usr/bin/env python3
"""Faults under load (a measurement, not a test): the serving deployment of deploy/local.sh
(PostgreSQL, 3 Rust nodes, --node-nodes Node nodes, nginx) under a bounded load of forecast requests while
one fault happens at a time, counting failed client requests.

  python3 benches/serve_faults.py [--bin target/release/neuro-divergent] [--threads 4] [--node-nodes 1]

Faults: `kill -9` of one Rust node; an alias moved to a new version (every response must name
v1 or v2; prints how long the switch took); PostgreSQL stopped and started (forecasts keep
flowing from loaded models; a publish during the outage fails with a clear error and succeeds
after); a corrupted version (refused with its name, the others serve). Loopback only; every
process started is stopped by its own id (deploy/local.sh down).
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def request(url, body, timeout=30):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers.get("x-model-version"), None
    except urllib.error.HTTPError as e:
        return e.code, None, json.load(e)["error"]["message"]
    except OSError as e:
        return 0, None, str(e)


class Load:
    """`threads` clients sending forecast requests for air@production until stopped."""

    def __init__(self, base, threads):
        self.url = f"{base}/v1/models/air/forecast"
        self.stop = threading.Event()
        self.results = []  # (time, status, version, error)
        self.lock = threading.Lock()
        self.workers = [threading.Thread(target=self.run) for _ in range(threads)]

    def run(self):
        while not self.stop.is_set():
            status, version, error = request(self.url, {"alias": "production"})
            with self.lock:
                self.results.append((time.time(), status, version, error))

    def __enter__(self):
        for w in self.workers:
            w.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for w in self.workers:
            w.join(timeout=60)

    def failures(self):
        return [r for r in self.results if r[1] != 200]


def cli(bin_, *args, check=True):
    out = subprocess.run([bin_, *args], capture_output=True, text=True, timeout=600)
    if check and out.returncode != 0:
        sys.exit(f"{' '.join(args)} failed: {out.stderr}")
    return out


def fit(bin_, store, *extra, check=True):
    return cli(bin_, "fit", "--data", os.path.join(ROOT, "examples/air_passengers.csv"), "--horizon", "12",
               "--input-size", "24", "--model", "nhits", "--max-steps", "20", "--threads", "1",
               "--param", "mlp_units=[[64,64]]", "--store", store, "--name", "air", *extra, check=check)


def report(name, load, extra=""):
    n, failed = len(load.results), load.failures()
    print(f"{name:<28} {n:>6} requests  {len(failed):>3} failed  {extra}")
    for f in failed[:5]:
        print(f"    failed: status {f[1]}: {f[3]}")
    return not failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/neuro-divergent"))
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--node-nodes", type=int, default=1, help="Node.js serving nodes beside the 3 Rust ones")
    args = ap.parse_args()
    work = subprocess.run(["mktemp", "-d", "/tmp/nd-faults.XXXXXX"], capture_output=True, text=True).stdout.strip()
    os.chmod(work, 0o755)  # the PostgreSQL cluster inside runs as postgres when this runs as root
    deploy = os.path.join(work, "deploy")
    env = dict(os.environ, ND_BIN=args.bin, ND_RUST_NODES="3", ND_NODE_NODES=str(args.node_nodes))
    ok = True
    try:
        up = subprocess.run(["bash", os.path.join(ROOT, "deploy/local.sh"), "up", deploy], env=env,
                            capture_output=True, text=True, check=True).stdout
        urls = dict(line.split("=", 1) for line in up.split())
        base, store = urls["ND_LB_URL"], urls["ND_STORE_URL"]
        fit(args.bin, store, "--alias", "production")
        for _ in range(20):  # every node loads version 1
            request(f"{base}/v1/models/air/forecast", {"alias": "production"})

        # 1. kill -9 of one Rust node.
        with Load(base, args.threads) as load:
            time.sleep(2)
            pid = int(open(os.path.join(deploy, "pids/rust-1.pid")).read())
            os.kill(pid, 9)
            time.sleep(6)
        ok &= report("kill -9 of one node", load)

        # 2. An alias moved to a new version under load.
        fit(args.bin, store, "--seed", "2")
        with Load(base, args.threads) as load:
            time.sleep(2)
            moved = time.time()
            cli(args.bin, "models", "alias", "air@2", "production", "--store", store)
            time.sleep(6)
        versions = {r[2] for r in load.results if r[1] == 200}
        first_all_v2 = max((r[0] for r in load.results if r[2] == "air@1"), default=moved)
        ok &= versions <= {"air@1", "air@2"}
        ok &= report("alias moved v1 -> v2", load,
                     f"versions {sorted(versions)}; last v1 answer {first_all_v2 - moved:.2f} s after the move")

        # 3. PostgreSQL stopped and started under load; a publish during the outage.
        pg = os.path.join(deploy, "pg")
        pg_bin = sorted(p for p in os.listdir("/usr/lib/postgresql"))[-1]
        pg_ctl = [f"/usr/lib/postgresql/{pg_bin}/bin/pg_ctl", "-D", os.path.join(pg, "data"), "-w", "-t", "60"]
        as_owner = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        with Load(base, args.threads) as load:
            time.sleep(1)
            subprocess.run(as_owner + pg_ctl + ["stop", "-m", "fast"], check=True, capture_output=True)
            during = fit(args.bin, store, check=False)
            time.sleep(3)
            port = store.rsplit(":", 1)[1].split("/")[0]
            subprocess.run(as_owner + pg_ctl + ["-l", os.path.join(pg, "server.log"), "-o",
                           f"-c listen_addresses=127.0.0.1 -p {port} -k {pg}", "start"],
                           check=True, capture_output=True)
            after = fit(args.bin, store, check=False)
            time.sleep(2)
        outage_error = during.stderr.strip().splitlines()[-1] if during.stderr.strip() else ""
        ok &= during.returncode != 0 and after.returncode == 0
        ok &= report("PostgreSQL stopped/started", load,
                     f"publish during outage: exit {during.returncode} ({outage_error}); after: exit {after.returncode}")

        # 4. A corrupted version: refused by name, the others serve.
        subprocess.run(["psql", store, "-q", "-c",
                        "UPDATE nd_versions SET weights = decode('00', 'hex') WHERE name = 'air' AND version = 3"],
                       check=True, capture_output=True)
        with Load(base, args.threads) as load:
            corrupt = [request(f"{base}/v1/models/air/forecast", {"version": 3}) for _ in range(4)]
            time.sleep(3)
        refused = all(c[0] == 500 and "version 3 of model 'air' is corrupt" in (c[2] or "") for c in corrupt)
        ok &= refused
        ok &= report("corrupted version 3", load, f"version 3 refused on every node: {refused} ({corrupt[0][2]})")
    finally:
        subprocess.run(["bash", os.path.join(ROOT, "deploy/local.sh"), "down", deploy])
        subprocess.run(["rm", "-rf", work])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
