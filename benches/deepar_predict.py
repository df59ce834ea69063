#!/usr/bin/env python3
"""DeepAR inference side by side with NeuralForecast: one `predict` for many series.

Both libraries fit DeepAR (h=24, input_size=48, NeuralForecast's defaults otherwise, a few steps:
the weights do not matter for the cost) on the same synthetic panel, then forecast every series
once; prints each predict's wall time, its ratio, and the columns each returns. The costs differ
by design: NeuralForecast 3.3 feeds each step the distribution's mean and samples each step on
its own; neuro-divergent draws `trajectory_samples` (100) sample paths per series, each fed its
own draws, so its decoding runs on 100 times as many rows; with `--param sample_paths=false` it
forecasts as NeuralForecast does, and that is timed too.

Usage: VENV/bin/python benches/deepar_predict.py [--series 10000] [--threads 1] [--steps 20]
(VENV from ../shared/peers/neuralforecast/setup.sh; builds the release CLI.)
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("--series", type=int, default=10000)
ap.add_argument("--length", type=int, default=200)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--steps", type=int, default=20)
args = ap.parse_args()
os.environ["OMP_NUM_THREADS"] = str(args.threads)

import logging  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(args.threads)
warnings.filterwarnings("ignore")
for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric"):
    logging.getLogger(name).setLevel(logging.ERROR)

from neuralforecast import NeuralForecast  # noqa: E402
from neuralforecast.models import DeepAR  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "neuro-divergent")
H, INPUT = 24, 48

rng = np.random.default_rng(0)
t = np.arange(args.length)
frames = []
for i in range(args.series):
    level = 100 + 10 * (i % 17)
    y = level + 10 * np.sin(2 * np.pi * (t + i) / 24) + rng.normal(0, 2, args.length)
    frames.append(pd.DataFrame({"unique_id": f"s{i}", "ds": t + 1, "y": y}))
panel = pd.concat(frames, ignore_index=True)

subprocess.run(["cargo", "build", "--release", "-q", "-p", "neuro-divergent-cli"], cwd=ROOT, check=True)


def ours_predict(data, tmp, params):
    """Fits our DeepAR with `params` (--param pairs), then times one `predict` of every series."""
    ckpt = os.path.join(tmp, "deepar" + "".join("-" + p for p in params))
    extra = [a for p in params for a in ("--param", p)]
    subprocess.run([BIN, "fit", "--data", data, "--horizon", str(H), "--input-size", str(INPUT),
                    "--model", "deepar", "--max-steps", str(args.steps), "--threads", str(args.threads),
                    "--save", ckpt, *extra], check=True, stderr=subprocess.DEVNULL)
    start = time.perf_counter()
    subprocess.run([BIN, "predict", "--model-dir", ckpt, "--threads", str(args.threads),
                    "--out", os.path.join(tmp, "ours.csv")], check=True, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    return elapsed, list(pd.read_csv(os.path.join(tmp, "ours.csv"), nrows=1).columns)


with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(tmp, "panel.csv")
    panel.to_csv(data, index=False)
    ours, ours_columns = ours_predict(data, tmp, [])
    ours_mean, _ = ours_predict(data, tmp, ["sample_paths=false"])

model = DeepAR(h=H, input_size=INPUT, max_steps=args.steps, accelerator="cpu",
               enable_progress_bar=False, logger=False, enable_model_summary=False)
nf = NeuralForecast(models=[model], freq=1)
nf.fit(df=panel)
start = time.perf_counter()
forecast = nf.predict()
theirs = time.perf_counter() - start

print(f"DeepAR predict, {args.series} series x h={H}, {args.threads} thread(s)")
print(f"neuro-divergent (predict command, 100 sample paths per series): {ours:.2f} s; columns {ours_columns[2:]}")
print(f"NeuralForecast 3.3 (mean fed back, 100 draws per step): {theirs:.2f} s; columns {list(forecast.columns[2:])}")
print(f"neuro-divergent, sample_paths=false (mean fed back, 100 draws per step, as NF): {ours_mean:.2f} s")
print(f"ours / NF time: {ours / theirs:.2f} (sample paths), {ours_mean / theirs:.2f} (sample_paths=false)")
sys.exit(0)
