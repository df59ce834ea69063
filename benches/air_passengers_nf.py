#!/usr/bin/env python3
"""NeuralForecast's side of benches/air_passengers.sh: the same setup (last 12 months held out,
h=12, input_size=24, 500 steps, defaults otherwise) for several seeds, printing MAE per model and
seed and the mean per model, so that both libraries' spread over seeds can be compared.

Usage: VENV/bin/python benches/air_passengers_nf.py [--threads 1] [--seeds 1,2,3]
       [--models NHITS,NBEATS,MLP] [--optimizer adamw --optimizer-kwargs '{"weight_decay":0.01}']
       [--lr-scheduler cosine --lr-scheduler-kwargs '{}']
--optimizer and --lr-scheduler take this project's lower-case names and are given to
NeuralForecast as torch classes, with this project's defaults for the arguments torch requires
(cosine: T_max = max_steps; onecycle: max_lr = learning_rate, total_steps = max_steps).
(VENV from ../shared/peers/neuralforecast/setup.sh.)
"""
import argparse
import os
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--seeds", default="1,2,3")
ap.add_argument("--models", default="NHITS,NBEATS,MLP")
ap.add_argument("--optimizer")
ap.add_argument("--optimizer-kwargs", default="{}")
ap.add_argument("--lr-scheduler")
ap.add_argument("--lr-scheduler-kwargs", default="{}")
args = ap.parse_args()
os.environ["OMP_NUM_THREADS"] = str(args.threads)

import logging  # noqa: E402
import warnings  # noqa: E402

import json  # noqa: E402

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
MAX_STEPS = 500
training = {}
if args.optimizer:
    training["optimizer"] = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
                             "sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop}[args.optimizer]
    training["optimizer_kwargs"] = json.loads(args.optimizer_kwargs)
if args.lr_scheduler:
    schedulers = torch.optim.lr_scheduler
    kwargs = json.loads(args.lr_scheduler_kwargs)
    if args.lr_scheduler == "cosine":
        kwargs.setdefault("T_max", MAX_STEPS)
    if args.lr_scheduler == "onecycle":
        kwargs.setdefault("max_lr", 1e-3)
        kwargs.setdefault("total_steps", MAX_STEPS)
    training["lr_scheduler"] = {"step": schedulers.StepLR, "cosine": schedulers.CosineAnnealingLR,
                                "onecycle": schedulers.OneCycleLR}[args.lr_scheduler]
    training["lr_scheduler_kwargs"] = kwargs
for model in args.models.split(","):
    maes = []
    for seed in seeds:
        ctor = getattr(nf_models, model)
        # Multivariate models (iTransformer) forecast their one series as a panel of one.
        panel = {"n_series": 1} if getattr(ctor, "MULTIVARIATE", False) else {}
        fitted = ctor(h=H, input_size=24, max_steps=MAX_STEPS, random_seed=seed,
                      accelerator="cpu", enable_progress_bar=False, logger=False,
                      enable_model_summary=False, **panel, **training)
        nf = NeuralForecast(models=[fitted], freq="ME")
        nf.fit(df=train)
        forecast = nf.predict()[model].to_numpy()
        maes.append(float(np.mean(np.abs(forecast - actual))))
        print(f"{model} seed={seed} MAE={maes[-1]:.3f}", flush=True)
    print(f"{model} mean MAE over seeds {args.seeds}: {np.mean(maes):.3f}", flush=True)
sys.exit(0)
