"""Panels at scale: generates long-format panels (S series x P hourly points, seasonal random
walks) as CSV and Parquet, then times reading them side by side in one run:
polars' `read_csv`/`read_parquet` (reading only) and `neuro-divergent check` (reading and
validating: sorting, duplicates, frequency, gaps), with each process' peak RSS.

    ~/.cache/nd-peers/nf-venv/bin/python benches/scale_read.py \
        --binary target/release/neuro-divergent --sizes 1000x200,10000x200,100000x200 [--dir DIR]

`--sizes` lists SERIESxPOINTS panels (100000x200 is the issue's 20 M rows; 1000x100000 the long
one). Files are generated once into --dir (default /tmp/nd-scale) and reused. Prints one row per
panel and format with seconds (the fastest of --repeat alternating runs of each reader), peak
RSS, our validation's seconds as `check` reports them (`validate_seconds`: the busy time of the
stage that checks the rows beside the decoding, for CSV also parsing `ds` and `y`), our time
over polars' and over polars' plus our validation (the goal: at most 1.0x). Not a test.
"""
import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

import numpy as np
import polars as pl


def generate(path_csv, path_parquet, series, points, seed=0):
    """Writes the panel as CSV and Parquet (zstd), if not there yet."""
    if path_csv.exists() and path_parquet.exists():
        return
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 1.0, size=(series, points)).astype(np.float32)
    season = 5.0 * np.sin(2 * np.pi * np.arange(points) / 24.0).astype(np.float32)
    y = (100.0 + np.cumsum(steps, axis=1) + season).ravel()
    ids = np.repeat(np.array([f"s{i:06d}" for i in range(series)]), points)
    start = np.datetime64("2020-01-01T00:00:00")
    ds = np.tile((start + np.arange(points).astype("timedelta64[h]")).astype("datetime64[us]"), series)
    frame = pl.DataFrame({"unique_id": ids, "ds": ds, "y": y.astype(np.float64)})
    frame.write_parquet(path_parquet)
    frame.with_columns(pl.col("ds").dt.strftime("%Y-%m-%d %H:%M:%S")).write_csv(path_csv)


def polars_command(kind, path):
    code = (
        "import resource, time, polars as pl; t=time.perf_counter(); "
        f"f=pl.read_{kind}('{path}'); "
        "print(time.perf_counter()-t, f.height, "
        "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024)"
    )
    return [sys.executable, "-c", code]


def rss_of(command):
    """Wall seconds and peak RSS (MB) of `command` via GNU time's -f, else ru_maxrss."""
    wrapped = ["/usr/bin/time", "-f", "%M", *command] if os.path.exists("/usr/bin/time") else command
    started = time.perf_counter()
    done = subprocess.run(wrapped, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{command} failed: {done.stderr}")
    rss = float(done.stderr.strip().splitlines()[-1]) / 1024 if wrapped is not command else float("nan")
    return seconds, rss, done.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/neuro-divergent")
    parser.add_argument("--sizes", default="1000x200,10000x200,100000x200")
    parser.add_argument("--dir", default="/tmp/nd-scale")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each reader, alternating; the fastest of each is shown")
    args = parser.parse_args()
    out = pathlib.Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    info = subprocess.run([args.binary, "info"], capture_output=True, text=True).stdout
    cpu = next((l for l in info.splitlines() if "cpu" in l.lower()), platform.processor())
    print(f"# {cpu.strip()}; polars {pl.__version__}; fastest of {args.repeat} alternating runs each")
    print("| panel | rows | format | polars read s | polars RSS MB | ours read+validate s | "
          "of which validate s | ours RSS MB | ours / polars | ours / (polars + validate) |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes.split(","):
        series, points = (int(v) for v in size.split("x"))
        csv = out / f"panel_{series}x{points}.csv"
        parquet = out / f"panel_{series}x{points}.parquet"
        generate(csv, parquet, series, points)
        for kind, path in (("csv", csv), ("parquet", parquet)):
            polars_runs, our_runs = [], []
            for _ in range(args.repeat):
                _, _, text = rss_of(polars_command(kind, path))
                polars_runs.append(text.split())
                _, rss, text = rss_of([args.binary, "check", "--data", str(path)])
                our_runs.append((json.loads(text), rss))
            polars_s, rows, polars_rss = min(polars_runs, key=lambda r: float(r[0]))
            ours, rss = min(our_runs, key=lambda r: r[0]["read_seconds"])
            assert ours["rows"] == int(rows), (ours["rows"], rows)
            ratio = ours["read_seconds"] / float(polars_s)
            validate = ours["validate_seconds"]
            goal = ours["read_seconds"] / (float(polars_s) + validate)
            print(
                f"| {series}x{points} | {int(rows):,} | {kind} | {float(polars_s):.3f} | "
                f"{float(polars_rss):.0f} | {ours['read_seconds']:.3f} | {validate:.3f} | "
                f"{rss:.0f} | {ratio:.2f}x | {goal:.2f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()
