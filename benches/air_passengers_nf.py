#!/usr/bin/env python3
"""NeuralForecast's side of benches/air_passengers.sh: the same setup (last 12 months held out,
h=12, input_size=24, 500 steps, defaults otherwise) for several seeds, printing MAE per model and
seed and the mean per model, so that both libraries' spread over seeds can be compared.

Usage: VENV/bin/python benches/air_passengers_nf.py [--threads 1] [--seeds 1,2,3]
       [--models NHITS,NBEATS,MLP]
(VENV from ../shared/peers/neuralforecast/setup.sh.)
"""
import argparse
import os
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--seeds", default="1,2,3")
ap.add_argument("--models", default="NHITS,NBEATS,MLP")
args = ap.parse_args()
os.environ["OMP_NUM_THREADS"] = str(args.threads)

import logging  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(args.threads)
warnings.filterwarnings("ignore")
for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric"):
    logging.getLogger(name).setLevel(logging.ERROR)

from neuralforecast import NeuralForecast  # noqa: E402
from neuralforecast import models as nf_models  # noqa: E402
from neuralforecast.utils import AirPassengersDF  # noqa: E402

H = 12
train = AirPassengersDF.iloc[:-H].reset_index(drop=True)
actual = AirPassengersDF.y.to_numpy()[-H:]
seeds = [int(s) for s in args.seeds.split(",")]
for model in args.models.split(","):
    maes = []
    for seed in seeds:
        ctor = getattr(nf_models, model)
        # Multivariate models (iTransformer) forecast their one series as a panel of one.
        panel = {"n_series": 1} if getattr(ctor, "MULTIVARIATE", False) else {}
        fitted = ctor(h=H, input_size=24, max_steps=500, random_seed=seed, accelerator="cpu",
                      enable_progress_bar=False, logger=False, enable_model_summary=False,
                      **panel)
        nf = NeuralForecast(models=[fitted], freq="ME")
        nf.fit(df=train)
        forecast = nf.predict()[model].to_numpy()
        maes.append(float(np.mean(np.abs(forecast - actual))))
        print(f"{model} seed={seed} MAE={maes[-1]:.3f}", flush=True)
    print(f"{model} mean MAE over seeds {args.seeds}: {np.mean(maes):.3f}", flush=True)
sys.exit(0)
