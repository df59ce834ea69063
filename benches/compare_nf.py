#!/usr/bin/env python3
"""Side-by-side speed and memory benchmark against NeuralForecast on this machine.

Runs, in one go and on the same machine state:
  1. training throughput, NHITS h=24 input_size=48 batch_size=32 windows_batch_size=1024 on the
     synthetic 100x1000 panel, 200 steps, at 1 and 2 threads: NF's bench_throughput.py and
     `neuro-divergent bench`, alternating for --rounds rounds; prints steps/s of each, their ratio
     per round and the median ratio, and our achieved GFLOP/s next to the GEMM rate measured in
     the same run;
  2. AirPassengers NHITS (h=12, input_size=24, 500 steps, seed 1, 1 thread): fit wall time, MAE and
     peak RSS of each process, and their ratios;
  3. our fixed overheads: `forecast --max-steps 1` wall time and single-series predict latency.

Usage: python3 benches/compare_nf.py [--skip-nf] [--rounds N]     (needs ../shared/peers/neuralforecast; NF
installs itself there on first use, ~6.5 GB). Standard library only.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(ROOT, "..", "shared", "peers", "neuralforecast")
BIN = os.path.join(ROOT, "target", "release", "neuro-divergent")
AIR = os.path.join(ROOT, "examples", "air_passengers.csv")


def run(cmd, cwd=None):
    """Runs a command; returns (stdout, wall seconds, peak RSS in MiB of that process)."""
    with tempfile.TemporaryFile(mode="w+") as out, tempfile.TemporaryFile(mode="w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{err.read()[-2000:]}")
        return out.read(), wall, usage.ru_maxrss / 1024.0


def ours_bench(data, threads):
    out, _, _ = run([BIN, "bench", "--data", data, "--horizon", "24", "--input-size", "48",
                  "--model", "nhits", "--steps", "200", "--batch-size", "32",
                  "--windows-batch-size", "1024", "--threads", str(threads)])
    return dict(line.split(": ", 1) for line in out.strip().splitlines())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-nf", action="store_true", help="measure neuro-divergent only")
    ap.add_argument("--rounds", type=int, default=3,
                    help="throughput runs per library and thread count (this VM's speed drifts)")
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "neuro-divergent-cli"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="nd-bench-")
    venv_python = None
    if not args.skip_nf:
        venv = subprocess.run(["bash", os.path.join(PEERS, "setup.sh")], check=True,
                              stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()[-1]
        venv_python = os.path.join(venv, "bin", "python")
    gen_python = venv_python or sys.executable
    synthetic = os.path.join(work, "synthetic_100x1000.csv")
    subprocess.run([gen_python, os.path.join(PEERS, "gen_synthetic.py"), "--out", synthetic],
                   check=True, stdout=subprocess.DEVNULL)

    print(f"== training throughput: NHITS h=24 L=48 batch 32 x 1024 windows, 200 steps, "
          f"{args.rounds} rounds alternating the two libraries")
    for threads in (1, 2):
        ratios = []
        for round_index in range(args.rounds):
            ours = ours_bench(synthetic, threads)
            line = (f"threads={threads} round {round_index + 1}: neuro-divergent "
                    f"{float(ours['steps_per_second']):.2f} steps/s, {ours['achieved_gflops']} GFLOP/s "
                    f"= {float(ours['achieved_over_gemm']) * 100:.0f}% of the GEMM rate measured in "
                    f"this run ({ours['gemm_gflops']} GFLOP/s, every thread multiplying at once)")
            if venv_python:
                nf_json = os.path.join(work, f"nf_t{threads}.json")
                run([venv_python, os.path.join(PEERS, "bench_throughput.py"), "--threads", str(threads),
                     "--data", synthetic, "--configs", "NHITS", "--out", nf_json])
                with open(nf_json) as f:
                    nf = json.load(f)["runs"]["NHITS"][0]
                nf_rate = nf["steps_per_s_fit"]
                ratios.append(float(ours['steps_per_second']) / nf_rate)
                line += (f"; NeuralForecast {nf_rate:.2f} steps/s (steady {nf['steps_per_s_steady']:.2f});"
                         f" ratio {ratios[-1]:.2f}x")
            print(line, flush=True)
        if ratios:
            print(f"threads={threads}: median ratio {statistics.median(ratios):.2f}x "
                  f"(goal >= 0.95x)", flush=True)

    print("== AirPassengers NHITS, h=12 L=24, 500 steps, seed 1, 1 thread")
    train = os.path.join(work, "air_train.csv")
    with open(AIR) as f:
        lines = f.read().strip().splitlines()
    with open(train, "w") as f:
        f.write("\n".join(lines[:-12]) + "\n")
    actual = [float(l.split(",")[2]) for l in lines[-12:]]
    out_csv = os.path.join(work, "air_fc.csv")
    cmd = [BIN, "forecast", "--data", train, "--horizon", "12", "--input-size", "24",
           "--model", "nhits", "--max-steps", "500", "--seed", "1", "--threads", "1", "--out", out_csv]
    _, our_wall, our_rss = run(cmd)
    with open(out_csv) as f:
        fc = [float(l.split(",")[2]) for l in f.read().strip().splitlines()[1:]]
    our_mae = sum(abs(a - b) for a, b in zip(actual, fc)) / len(actual)
    line = f"neuro-divergent: fit+predict {our_wall:.2f} s, MAE {our_mae:.3f}, peak RSS {our_rss:.0f} MiB"
    if venv_python:
        nf_cmd = [venv_python, os.path.join(PEERS, "bench_airpassengers.py"), "--threads", "1",
                  "--models", "NHITS", "--cv-step-sizes", "", "--out", os.path.join(work, "nf_air.json")]
        _, _, nf_rss = run(nf_cmd, cwd=work)
        with open(os.path.join(work, "nf_air.json")) as f:
            nf = json.load(f)["models"]["NHITS"]
        line += (f"; NeuralForecast: fit {nf['fit_s']:.2f} s, MAE {nf['mae']:.3f}, peak RSS {nf_rss:.0f} MiB"
                 f"; fit time ratio {our_wall / nf['fit_s']:.3f} (goal <= 0.2), RSS ratio "
                 f"{our_rss / nf_rss:.3f} (goal <= 0.2)")
    print(line, flush=True)

    print("== fixed overheads")
    quick = [BIN, "forecast", "--data", AIR, "--horizon", "12", "--input-size", "24", "--model", "nhits",
             "--max-steps", "1", "--threads", "1"]
    walls = sorted(run(quick)[1] for _ in range(5))
    print(f"forecast --max-steps 1 on AirPassengers: median {walls[2]:.3f} s (goal < 0.5 s)")
    ours = ours_bench(AIR, 1)
    print(f"predict one series inside the library: {ours['predict_one_series_ms']} ms (goal < 1 ms)")


if __name__ == "__main__":
    main()
