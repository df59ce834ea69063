#!/usr/bin/env python3
"""Side-by-side speed and memory benchmark against NeuralForecast on this machine.

Runs, in one go and on the same machine state:
  0. the machine: our `neuro-divergent info` (CPU model, vector extensions, the matrix kernels
     chosen at run time) and torch's (version, BLAS, CPU capability), then the best f32 GEMM rate
     of each library at 1 and 2 threads (1024x512 by 512x512);
  1. training throughput of NHITS and NBEATS (--models; LSTM, GRU and DeepAR too), h=24
     input_size=48 batch_size=32 windows_batch_size=1024 (LSTM, GRU: 128, their default) on the
     synthetic 100x1000 panel, 200 steps (recurrent models: 100), at 1 and 2 threads: NF's
     bench_throughput.py (through benches/nf_throughput.py, which adds GRU and DeepAR to its
     configurations) and `neuro-divergent bench` (recurrent models on the fused and the generic
     recurrent kernels), alternating
     for --rounds rounds; prints steps/s of each, their ratio per round and the median ratio, and
     our achieved GFLOP/s as a share of the best GEMM rate measured in the same run (ours or
     torch's, whichever is higher);
  2. AirPassengers NHITS (h=12, input_size=24, 500 steps, seed 1, 1 thread): fit wall time, MAE and
     peak RSS of each process, and their ratios;
  3. our fixed overheads: `forecast --max-steps 1` wall time and single-series predict latency.

Usage: python3 benches/compare_nf.py [--skip-nf] [--rounds N] [--models NHITS,NBEATS,LSTM,GRU,DeepAR] [--kernels avx2]
    [--skip-air]
(needs ../shared/peers/neuralforecast; NF installs itself there on first use, ~6.5 GB). Standard
library only. `--kernels avx2` builds the CLI without its `avx512` feature into target/avx2 and
measures that binary: the AVX2/FMA kernels on an AVX-512 machine, to keep both paths measured.
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
AVX2_TARGET = os.path.join(ROOT, "target", "avx2")
# torch's best f32 GEMM rate at a thread count, with the shapes `neuro-divergent bench` uses.
TORCH_GEMM = r"""
import sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
a, b = torch.rand(1024, 512), torch.rand(512, 512)
for _ in range(5):
    a @ b
best = 0.0
for _ in range(5):
    t = time.perf_counter()
    for _ in range(50):
        a @ b
    best = max(best, 2 * 1024 * 512 * 512 * 50 / (time.perf_counter() - t) / 1e9)
print(f"{best:.1f}")
"""
TORCH_INFO = r"""
import torch
print("torch:", torch.__version__)
print("torch_cpu_capability:", torch.backends.cpu.get_cpu_capability())
print("torch_mkl:", torch.backends.mkl.is_available())
"""
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


# Windows per step of each model's configuration in the peer's bench_throughput.py (its defaults
# for the recurrent models, 1024 for the others); recurrent models are measured on both kernels.
WINDOWS = {"LSTM": 128, "GRU": 128, "DeepAR": 1024}
RECURRENT = {"LSTM", "GRU", "DeepAR"}


def ours_bench(binary, data, threads, model="nhits", windows=1024, kernel="fused", steps=200):
    out, _, _ = run([binary, "bench", "--data", data, "--horizon", "24", "--input-size", "48",
                  "--model", model, "--steps", str(steps), "--batch-size", "32",
                  "--windows-batch-size", str(windows), "--threads", str(threads),
                  "--recurrent-kernel", kernel])
    return dict(line.split(": ", 1) for line in out.strip().splitlines())


def build(kernels):
    """Builds the CLI; returns its path. `avx2` leaves out the AVX-512 kernels."""
    if kernels == "avx2":
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "neuro-divergent-cli",
                        "--no-default-features", "--target-dir", AVX2_TARGET], cwd=ROOT, check=True)
        return os.path.join(AVX2_TARGET, "release", "neuro-divergent")
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "neuro-divergent-cli"], cwd=ROOT, check=True)
    return BIN


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-nf", action="store_true", help="measure neuro-divergent only")
    ap.add_argument("--rounds", type=int, default=3,
                    help="throughput runs per library and thread count (this VM's speed drifts)")
    ap.add_argument("--models", default="NHITS,NBEATS", help="models whose throughput is compared")
    ap.add_argument("--kernels", choices=["default", "avx2"], default="default",
                    help="avx2: measure a build without the AVX-512 kernels")
    ap.add_argument("--skip-air", action="store_true", help="skip AirPassengers and the overheads")
    args = ap.parse_args()
    binary = build(args.kernels)
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

    print("== machine")
    print(run([binary, "info"])[0].strip())
    print("kernel_build:", args.kernels)
    if venv_python:
        print(run([venv_python, "-c", TORCH_INFO])[0].strip())
    # torch's GEMM rate (MKL, one product threaded) at each thread count; each round divides by the
    # higher of it and ours (every worker multiplying at once, as training runs its chunks).
    torch_gemm = {}
    for threads in (1, 2):
        torch_rate = float(run([venv_python, "-c", TORCH_GEMM, str(threads)])[0]) if venv_python else 0.0
        torch_gemm[threads] = torch_rate
        print(f"threads={threads}: torch GEMM {torch_rate:.1f} GFLOP/s (1024x512x512, best of 5)", flush=True)

    print(f"== training throughput: h=24 L=48 batch 32, 200 steps (100 for recurrent models), "
          f"{args.rounds} rounds alternating the two libraries")
    for model in args.models.split(","):
        windows = WINDOWS.get(model, 1024)
        kernels = ["fused", "generic"] if model in RECURRENT else ["fused"]
        steps = 100 if model in RECURRENT else 200
        for threads in (1, 2):
            ratios = {k: [] for k in kernels}
            shares = {k: [] for k in kernels}
            for round_index in range(args.rounds):
                line = f"{model} ({windows} windows) threads={threads} round {round_index + 1}:"
                nf_rate = None
                if venv_python:
                    nf_json = os.path.join(work, f"nf_{model}_t{threads}.json")
                    run([venv_python, os.path.join(ROOT, "benches", "nf_throughput.py"), "--threads", str(threads),
                         "--data", synthetic, "--configs", model, "--out", nf_json])
                    with open(nf_json) as f:
                        nf = json.load(f)["runs"][model][0]
                    nf_rate = nf["steps_per_s_fit"]
                    line += (f" NeuralForecast {nf_rate:.2f} steps/s (steady {nf['steps_per_s_steady']:.2f});")
                for kernel in kernels:
                    ours = ours_bench(binary, synthetic, threads, model.lower(), windows, kernel, steps)
                    gemm = max(float(ours["gemm_gflops"]), torch_gemm[threads])
                    shares[kernel].append(float(ours["achieved_gflops"]) / gemm)
                    label = "neuro-divergent" + (f" ({kernel} recurrence)" if model in RECURRENT else "")
                    line += (f" {label} {float(ours['steps_per_second']):.2f} steps/s, "
                             f"{ours['achieved_gflops']} GFLOP/s = {shares[kernel][-1] * 100:.0f}% of the best "
                             f"GEMM rate of this run ({gemm:.1f} GFLOP/s; ours {ours['gemm_gflops']} with every "
                             f"thread multiplying at once)")
                    if nf_rate:
                        ratios[kernel].append(float(ours['steps_per_second']) / nf_rate)
                        line += f", ratio {ratios[kernel][-1]:.2f}x"
                    line += ";"
                print(line, flush=True)
            for kernel in kernels:
                label = f"{model} ({kernel} recurrence)" if model in RECURRENT else model
                goal = "1.5x" if model in RECURRENT else "1.1x"
                summary = (f"{label} threads={threads}: median efficiency "
                           f"{statistics.median(shares[kernel]) * 100:.0f}% of the best GEMM rate")
                if model not in RECURRENT:
                    summary += " (goal >= 85% at 1 thread)"
                if ratios[kernel]:
                    summary += (f", median ratio {statistics.median(ratios[kernel]):.2f}x NeuralForecast"
                                f" (goal >= {goal})")
                print(summary, flush=True)
    if args.skip_air:
        return

    print("== AirPassengers NHITS, h=12 L=24, 500 steps, seed 1, 1 thread")
    train = os.path.join(work, "air_train.csv")
    with open(AIR) as f:
        lines = f.read().strip().splitlines()
    with open(train, "w") as f:
        f.write("\n".join(lines[:-12]) + "\n")
    actual = [float(l.split(",")[2]) for l in lines[-12:]]
    out_csv = os.path.join(work, "air_fc.csv")
    cmd = [binary, "forecast", "--data", train, "--horizon", "12", "--input-size", "24",
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
                 f"; fit time ratio {our_wall / nf['fit_s']:.3f} (goal <= 1/6 = 0.167), RSS ratio "
                 f"{our_rss / nf_rss:.3f} (goal <= 0.2)")
    print(line, flush=True)

    print("== fixed overheads")
    quick = [binary, "forecast", "--data", AIR, "--horizon", "12", "--input-size", "24", "--model", "nhits",
             "--max-steps", "1", "--threads", "1"]
    walls = sorted(run(quick)[1] for _ in range(5))
    print(f"forecast --max-steps 1 on AirPassengers: median {walls[2]:.3f} s (goal < 0.5 s)")
    ours = ours_bench(binary, AIR, 1)
    print(f"predict one series inside the library: {ours['predict_one_series_ms']} ms (goal < 1 ms)")


if __name__ == "__main__":
    main()
