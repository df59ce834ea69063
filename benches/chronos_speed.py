#!/usr/bin/env python3
"""Chronos-Bolt and Chronos-2 inference side by side with the reference package
(`chronos-forecasting`): forecasts per second for many AirPassengers-length series.

The weights are random (the architectures of amazon/chronos-bolt-tiny and -small, and of
amazon/chronos-2, saved in the Hugging Face layout in a temporary directory): speed does not
depend on their values. The reference runs its pipeline's `predict` on all series at once (its
model already loaded); neuro-divergent runs the release CLI's `forecast`, reading the CSV,
loading the weights and writing the forecasts included. Prints the CPU, both times, their ratio
and how far the two medians are apart, and the bound the CPU sets on any such ratio: the
reference's floating-point operations (PyTorch's FLOP counter) at the fastest f32 matrix-product
rate PyTorch reaches on the model's own layer shapes here. No f32 implementation doing the same
products finishes sooner than that, so reference time over it is the most any could gain.

Usage: VENV/bin/python benches/chronos_speed.py [--series 1000] [--threads 1]
       [--sizes tiny,small,chronos2]
(VENV with torch and chronos-forecasting; builds the release CLI.)
"""
import argparse
import os
import subprocess
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("--series", type=int, default=1000)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--sizes", default="tiny,small")
ap.add_argument("--horizon", type=int, default=12)
args = ap.parse_args()
os.environ["OMP_NUM_THREADS"] = str(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import T5Config  # noqa: E402

from chronos import ChronosBoltPipeline  # noqa: E402
from chronos.chronos2 import Chronos2Model, Chronos2Pipeline  # noqa: E402
from chronos.chronos2.config import Chronos2CoreConfig  # noqa: E402
from chronos.chronos_bolt import ChronosBoltModelForForecasting  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

torch.set_num_threads(args.threads)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "neuro-divergent")
AIR = os.path.join(ROOT, "examples", "air_passengers.csv")

# Hugging Face configurations of amazon/chronos-bolt-{tiny,small}.
SIZES = {
    "tiny": dict(d_model=256, d_ff=1024, d_kv=64, num_heads=4, num_layers=4, num_decoder_layers=4),
    "small": dict(d_model=512, d_ff=2048, d_kv=64, num_heads=8, num_layers=6, num_decoder_layers=6),
}


def save_chronos2(out):
    torch.manual_seed(0)
    config = Chronos2CoreConfig(
        d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12, dropout_rate=0.1,
        architectures=["Chronos2Model"],
        chronos_config={
            "context_length": 8192, "input_patch_size": 16, "input_patch_stride": 16,
            "output_patch_size": 16, "max_output_patches": 64, "time_encoding_scale": 8192,
            "quantiles": [0.01] + [round(0.05 * i, 2) for i in range(1, 20)] + [0.99],
            "use_reg_token": True, "use_arcsinh": True,
        },
    )
    Chronos2Model(config).save_pretrained(out, safe_serialization=True)


def save_model(size, out):
    if size == "chronos2":
        return save_chronos2(out)
    torch.manual_seed(0)
    config = T5Config(
        **SIZES[size],
        relative_attention_num_buckets=32,
        relative_attention_max_distance=128,
        dropout_rate=0.1,
        layer_norm_epsilon=1e-6,
        feed_forward_proj="relu",
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
        architectures=["ChronosBoltModelForForecasting"],
        chronos_config={
            "context_length": 2048,
            "prediction_length": 64,
            "input_patch_size": 16,
            "input_patch_stride": 16,
            "quantiles": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
            "use_reg_token": True,
        },
    )
    ChronosBoltModelForForecasting(config).save_pretrained(out, safe_serialization=True)


def gemm_rate(d_model, d_ff, rows):
    """The fastest f32 product rate (FLOP/s) over a layer's shapes, `rows` tokens at a time."""
    best = 0.0
    for inner, outer in ((d_model, d_ff), (d_ff, d_model), (d_model, d_model)):
        a, b = torch.randn(rows, inner), torch.randn(inner, outer)
        a @ b
        start = time.perf_counter()
        for _ in range(5):
            a @ b
        best = max(best, 5 * 2 * rows * inner * outer / (time.perf_counter() - start))
    return best


def panel(n):
    air = np.loadtxt(AIR, delimiter=",", skiprows=1, usecols=2)
    rng = np.random.default_rng(0)
    series = [air * rng.uniform(0.5, 2.0) + rng.normal(0, 5, len(air)) for _ in range(n)]
    return series


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


subprocess.run(["cargo", "build", "--release", "-q", "-p", "neuro-divergent-cli"], cwd=ROOT, check=True)
series = panel(args.series)
print(f"CPU: {cpu_name()}; threads {args.threads}; {args.series} series of {len(series[0])} points; h={args.horizon}")
with tempfile.TemporaryDirectory() as tmp:
    csv = os.path.join(tmp, "panel.csv")
    with open(csv, "w") as f:
        f.write("unique_id,ds,y\n")
        for i, s in enumerate(series):
            for t, v in enumerate(s):
                f.write(f"s{i:05d},{1949 + t // 12}-{t % 12 + 1:02d}-01,{v}\n")
    for size in args.sizes.split(","):
        model_dir = os.path.join(tmp, size)
        save_model(size, model_dir)
        chronos2 = size == "chronos2"
        pipeline = (Chronos2Pipeline if chronos2 else ChronosBoltPipeline).from_pretrained(model_dir)
        contexts = [torch.tensor(s, dtype=torch.float32) for s in series]
        pipeline.predict(contexts[:8], prediction_length=args.horizon)  # warm-up
        start = time.perf_counter()
        if chronos2:
            # Its default batch is 256 series; all at once, as for Chronos-Bolt.
            reference = torch.cat(pipeline.predict(contexts, prediction_length=args.horizon, batch_size=len(contexts)))
        else:
            reference = pipeline.predict(contexts, prediction_length=args.horizon)
        ref_s = time.perf_counter() - start
        with FlopCounterMode(display=False) as counter:
            pipeline.predict(contexts, prediction_length=args.horizon, **(
                {"batch_size": len(contexts)} if chronos2 else {}))
        flop = counter.get_total_flops()
        dims = SIZES.get(size, dict(d_model=768, d_ff=3072))
        rate = gemm_rate(dims["d_model"], dims["d_ff"], 10 * args.series)
        limit_s = flop / rate
        model_name = "chronos2" if chronos2 else "chronos_bolt"
        out = os.path.join(tmp, f"{size}.csv")
        start = time.perf_counter()
        subprocess.run(
            [BIN, "forecast", "--data", csv, "--horizon", str(args.horizon),
             "--input-size", str(len(series[0])), "--model", model_name,
             "--param", f"model_path={model_dir}", "--threads", str(args.threads), "--out", out],
            check=True, stderr=subprocess.DEVNULL,
        )
        ours_s = time.perf_counter() - start
        ours = np.loadtxt(out, delimiter=",", skiprows=1, usecols=2)
        # The CLI's columns are each step's quantiles made non-crossing (sorted).
        median = reference.shape[1] // 2
        ref_median = np.sort(reference.numpy(), axis=1)[:, median, :].reshape(-1)
        gap = np.max(np.abs(ours - ref_median)) / np.max(np.abs(ref_median))
        print(
            f"{size}: reference predict {ref_s:.3f} s ({args.series / ref_s:.0f} series/s); "
            f"neuro-divergent whole CLI run {ours_s:.3f} s ({args.series / ours_s:.0f} series/s); "
            f"ratio {ref_s / ours_s:.2f}x; medians agree within {gap:.1e} of their largest value"
        )
        print(
            f"{size}: {flop / 1e9:.1f} GFLOP at {rate / 1e9:.1f} GFLOP/s (PyTorch's fastest "
            f"product on the layer shapes) take {limit_s:.3f} s: reference {ref_s / limit_s:.2f}x "
            f"that, neuro-divergent {ours_s / limit_s:.2f}x; the most any f32 implementation "
            f"could gain on the reference here: {ref_s / limit_s:.2f}x"
        )
