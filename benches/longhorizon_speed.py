#!/usr/bin/env python3
"""Training speed of the long-horizon models side by side with NeuralForecast, in one run.

ETTh1's 7 variables as 7 series (the 8,640 train rows of the standard split, long format),
h=96, input_size 336 (--input-size), each model at NeuralForecast's defaults (batch_size 32,
windows_batch_size 1024, dropout as the model sets it): NeuralForecast's steady-state steps/s
(steps after the fourth, timed by a Lightning callback) and `neuro-divergent bench`'s the same
way (`steady_steps_per_second`: steps after the fourth, timed by its progress callback; its
whole fit's rate, setup included, is printed beside it), at each thread count of --threads, alternating
the two libraries for --rounds rounds. Prints the machine, torch's and our GEMM rates, our
achieved GFLOP/s, each process's peak RSS and the ratio of steps/s (ours over
NeuralForecast's; goal >= 1.0). --windows sets the windows per step of both libraries, for
models whose default batch does not fit in the machine's memory.

Usage: python3 benches/longhorizon_speed.py [--models PatchTST] [--threads 1,2] [--rounds 1]
    [--steps 12] [--nf-steps 12] [--input-size 336] [--windows 0]
    [--data ../shared/datasets/ETTh1.csv] [--skip-nf]
(needs ../shared/peers/neuralforecast for the NeuralForecast side; standard library only.)
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_nf import PEERS, ROOT, TORCH_GEMM, TORCH_INFO, build, run  # noqa: E402

TRAIN_ROWS = 8640
# ETTh1's variables, the series of the panel.
SERIES = 7
# Models that forecast all series together (NeuralForecast's MULTIVARIATE models).
MULTIVARIATE = {"iTransformer", "TSMixer", "TSMixerx"}
# NeuralForecast's side: one fit of MODEL, timed step by step.
NF_SPEED = r"""
import os, sys
threads, model, steps, data, input_size, windows = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
n_series = int(sys.argv[7])
os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
import logging, time, warnings
warnings.filterwarnings("ignore"); logging.disable(logging.WARNING)
import pandas as pd, pytorch_lightning as pl, torch
torch.set_num_threads(threads)
from neuralforecast import NeuralForecast
import neuralforecast.models as models
class StepTimer(pl.Callback):
    def __init__(self):
        self.end = []
    def on_train_batch_end(self, *args):
        self.end.append(time.perf_counter())
df = pd.read_csv(data, parse_dates=["ds"])
ctor = getattr(models, model)
extra = {"windows_batch_size": windows} if windows > 0 else {}
if getattr(ctor, "MULTIVARIATE", False):
    extra["n_series"] = n_series
m = ctor(h=96, input_size=input_size, max_steps=steps, random_seed=1, **extra,
    accelerator="cpu", devices=1, enable_progress_bar=False, logger=False,
    enable_checkpointing=False, enable_model_summary=False, callbacks=[StepTimer()])
nf = NeuralForecast(models=[m], freq="h")
nf.fit(df)
end = [c for c in nf.models[0].trainer_kwargs["callbacks"] if isinstance(c, StepTimer)][0].end
print((len(end) - 4) / (end[-1] - end[3]))
"""


def long_format(wide, out):
    """Writes the train rows of a wide ETT-style CSV as a long-format panel."""
    with open(wide) as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:TRAIN_ROWS + 1]
    with open(out, "w") as f:
        f.write("unique_id,ds,y\n")
        for column, name in enumerate(header[1:], start=1):
            for row in body:
                f.write(f"{name},{row[0]},{row[column]}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="PatchTST")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--steps", type=int, default=12, help="our steps (4 are warm-up)")
    ap.add_argument("--nf-steps", type=int, default=12, help="NeuralForecast's steps (4 are warm-up)")
    ap.add_argument("--input-size", type=int, default=336)
    ap.add_argument("--windows", type=int, default=0,
                    help="windows per step for both libraries (0: each model's default, 1024 for "
                         "most, 32 for iTransformer and TSMixer)")
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "datasets", "ETTh1.csv"))
    ap.add_argument("--skip-nf", action="store_true")
    args = ap.parse_args()
    binary = build("default")
    work = tempfile.mkdtemp(prefix="nd-longhorizon-speed-")
    data = os.path.join(work, "etth1_train_long.csv")
    long_format(args.data, data)
    venv_python = None
    if not args.skip_nf:
        venv = subprocess.run(["bash", os.path.join(PEERS, "setup.sh")], check=True,
                              stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()[-1]
        venv_python = os.path.join(venv, "bin", "python")
    print("== machine")
    print(run([binary, "info"])[0].strip())
    if venv_python:
        print(run([venv_python, "-c", TORCH_INFO])[0].strip())
    threads_list = [int(t) for t in args.threads.split(",")]
    torch_gemm = {}
    for threads in threads_list:
        torch_gemm[threads] = float(run([venv_python, "-c", TORCH_GEMM, str(threads)])[0]) if venv_python else 0.0
    windows = args.windows or "the model's default"
    print(f"== training steps/s, ETTh1 (7 series, {TRAIN_ROWS} rows), h=96, input_size={args.input_size}, "
          f"batch_size 32, windows_batch_size {windows}, each model's NeuralForecast defaults otherwise "
          f"(multivariate models: n_series=7, every series in each window)")
    for model in args.models.split(","):
        for threads in threads_list:
            for round_index in range(args.rounds):
                line = f"{model} threads={threads} round {round_index + 1}:"
                nf_rate = None
                if venv_python:
                    nf_out, _, nf_rss = run([venv_python, "-c", NF_SPEED, str(threads), model,
                                             str(args.nf_steps), data, str(args.input_size), str(args.windows),
                                             str(SERIES)])
                    nf_rate = float(nf_out.strip().splitlines()[-1])
                    line += f" NeuralForecast {nf_rate:.3f} steps/s, peak RSS {nf_rss:.0f} MiB;"
                command = [binary, "bench", "--data", data, "--horizon", "96", "--input-size",
                           str(args.input_size), "--model", model.lower(), "--steps", str(args.steps),
                           "--batch-size", "32", "--threads", str(threads)]
                if args.windows:
                    command += ["--windows-batch-size", str(args.windows)]
                if model in MULTIVARIATE:
                    command += ["--param", f"n_series={SERIES}"]
                out, _, rss = run(command)
                ours = dict(line.split(": ", 1) for line in out.strip().splitlines())
                gemm = max(float(ours["gemm_gflops"]), torch_gemm[threads])
                rate = float(ours["steady_steps_per_second"])
                line += (f" neuro-divergent {rate:.3f} steps/s ({float(ours['steps_per_second']):.3f} "
                         f"over the whole fit), "
                         f"{ours['achieved_gflops']} GFLOP/s ({float(ours['achieved_gflops']) / gemm * 100:.0f}% of "
                         f"the best GEMM rate of this run, {gemm:.1f} GFLOP/s), peak RSS {rss:.0f} MiB")
                if nf_rate:
                    line += f"; ratio {rate / nf_rate:.2f}x (goal >= 1.0)"
                print(line, flush=True)


if __name__ == "__main__":
    main()
