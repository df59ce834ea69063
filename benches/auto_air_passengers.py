#!/usr/bin/env python3
"""AutoNHITS side by side with NeuralForecast's on AirPassengers (issue 16, acceptance 2): the
last 12 months held out, h=12, NeuralForecast's default search space, the same number of
trials, TPE (NeuralForecast: the Optuna backend with a seeded TPESampler; here `--search tpe`),
the same seed. Prints, per seed, each library's wall time for the whole search and final fit,
their ratio, and the MAE of each one's chosen model on the held-out year.

Usage: VENV/bin/python benches/auto_air_passengers.py --bin target/release/neuro-divergent
       [--num-samples 20] [--seeds 1,2] [--threads 2] [--model NHITS]
(VENV from ../shared/peers/neuralforecast/setup.sh.) Ours runs as many trials at a time as
threads, one thread each; NeuralForecast's Optuna backend runs them one after another on
`--threads` torch threads.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("--bin", required=True)
ap.add_argument("--num-samples", type=int, default=20)
ap.add_argument("--seeds", default="1")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--model", default="NHITS")
ap.add_argument("--skip-nf", action="store_true")
args = ap.parse_args()
os.environ["OMP_NUM_THREADS"] = str(args.threads)

import contextlib  # noqa: E402
import logging  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import optuna  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(args.threads)
warnings.filterwarnings("ignore")
optuna.logging.set_verbosity(optuna.logging.WARNING)
for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric"):
    logging.getLogger(name).setLevel(logging.ERROR)

from neuralforecast import NeuralForecast  # noqa: E402
from neuralforecast import auto as nf_auto  # noqa: E402
from neuralforecast.utils import AirPassengersDF  # noqa: E402

H = 12
train = AirPassengersDF.iloc[:-H].reset_index(drop=True)
actual = AirPassengersDF.y.to_numpy()[-H:]
print(f"cpu: {open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()}")
print(f"{args.model}: {args.num_samples} trials, TPE, {args.threads} threads")

with tempfile.TemporaryDirectory() as tmp:
    train_csv = os.path.join(tmp, "train.csv")
    train.to_csv(train_csv, index=False)
    for seed in [int(s) for s in args.seeds.split(",")]:
        out = os.path.join(tmp, "forecast.csv")
        trials = os.path.join(tmp, "trials.csv")
        started = time.perf_counter()
        subprocess.run(
            [args.bin, "forecast", "--data", train_csv, "--horizon", str(H),
             "--model", f"auto_{args.model.lower()}", "--num-samples", str(args.num_samples),
             "--search", "tpe", "--seed", str(seed), "--threads", str(args.threads),
             "--out", out, "--trials", trials],
            check=True, stderr=subprocess.DEVNULL)
        ours_s = time.perf_counter() - started
        ours = pd.read_csv(out)[f"Auto{args.model}"].to_numpy()
        ours_mae = float(np.mean(np.abs(ours - actual)))
        failed = (pd.read_csv(trials)["state"] == "failed").sum()
        print(f"seed {seed}: ours {ours_s:.1f} s MAE {ours_mae:.3f} ({failed} failed trials)",
              flush=True)
        if not args.skip_nf:
            auto_class = getattr(nf_auto, f"Auto{args.model}")
            model = auto_class(h=H, backend="optuna", num_samples=args.num_samples,
                               search_alg=optuna.samplers.TPESampler(seed=seed))
            nf = NeuralForecast(models=[model], freq="MS")
            started = time.perf_counter()
            # Lightning's model summaries and bars go to a null device.
            with open(os.devnull, "w") as null, contextlib.redirect_stdout(null), \
                    contextlib.redirect_stderr(null):
                nf.fit(train)
                forecast = nf.predict()
            nf_s = time.perf_counter() - started
            nf_mae = float(np.mean(np.abs(forecast[f"Auto{args.model}"].to_numpy() - actual)))
            print(f"seed {seed}: NeuralForecast {nf_s:.1f} s MAE {nf_mae:.3f}; "
                  f"time ratio ours/NF {ours_s / nf_s:.3f}", flush=True)
