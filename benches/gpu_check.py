#!/usr/bin/env python3
"""GPU checks of a `--features cuda` build, in one run (device time is scarce).

On a machine with a CUDA GPU, for NHITS, NBEATS, MLP, LSTM and PatchTST:
  1. agreement: the model fitted on the CPU (AirPassengers, h=12, input_size=24, 50 steps,
     1 thread) is saved, then forecast from that checkpoint on the GPU: the GPU's forecasts must
     match the CPU's up to float rounding; the model fitted on the GPU is saved and forecast on
     the CPU (checkpoints are portable both ways); and the largest relative difference between
     the CPU-trained and the GPU-trained forecasts is reported (rounding amplified by training);
  2. speed: `neuro-divergent bench` on the synthetic 100x1000 panel (h=24, input_size=48,
     200 steps) at NeuralForecast's default windows per step and at 8x as many, on the GPU;
  3. NeuralForecast on the same GPU (when it imports: --nf-site adds its packages), the same
     configurations, 200 steps, fit wall time and steady-state steps/s.

Prints one `key: value` line per figure and writes them to OUT/gpu_check.json.

Usage: python3 benches/gpu_check.py --bin BINARY --synthetic CSV --out DIR [--device cuda]
    [--nf-site DIR] [--skip-nf]
`--device cpu` dry-runs every step on the CPU (to check the script on a machine with no GPU).
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AIR = os.path.join(ROOT, "examples", "air_passengers.csv")
AGREEMENT_MODELS = ["nhits", "nbeats", "mlp", "lstm", "patchtst"]
# (name, model, windows per step at NeuralForecast's default)
SPEED_CONFIGS = [
    ("NHITS", "nhits", 1024),
    ("NBEATS", "nbeats", 1024),
    ("MLP", "mlp", 1024),
    ("LSTM", "lstm", 128),
    ("PatchTST", "patchtst", 1024),
]
STEPS = [200]  # set by --steps
RESULTS = {}


def report(key, value):
    RESULTS[key] = value
    print(f"{key}: {value}", flush=True)


def run(cmd, timeout=300):
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout, time.perf_counter() - started


def forecast_values(path_or_text, from_text=False):
    """The forecast column of a one-model forecast CSV, in row order."""
    lines = path_or_text.splitlines() if from_text else open(path_or_text).read().splitlines()
    rows = list(csv.reader(lines))
    return [float(r[2]) for r in rows[1:]]


def max_relative_difference(a, b):
    assert len(a) == len(b) and a, (len(a), len(b))
    return max(abs(x - y) / max(abs(x), abs(y), 1e-6) for x, y in zip(a, b))


def agreement(binary, device, work):
    for model in AGREEMENT_MODELS:
        common = ["--data", AIR, "--horizon", "12", "--input-size", "24", "--model", model,
                  "--max-steps", "50", "--threads", "1"]
        cpu_dir, gpu_dir = os.path.join(work, f"{model}-cpu"), os.path.join(work, f"{model}-gpu")
        cpu_out, gpu_out = cpu_dir + ".csv", gpu_dir + ".csv"
        run([binary, "forecast", *common, "--device", "cpu", "--save", cpu_dir, "--out", cpu_out])
        _, gpu_fit_s = run([binary, "forecast", *common, "--device", device, "--save", gpu_dir,
                            "--out", gpu_out])
        cpu_fit, gpu_fit = forecast_values(cpu_out), forecast_values(gpu_out)
        # The CPU's model forecast on the GPU, and the GPU's model on the CPU.
        on_gpu, _ = run([binary, "predict", "--model-dir", cpu_dir, "--device", device, "--threads", "1"])
        on_cpu, _ = run([binary, "predict", "--model-dir", gpu_dir, "--device", "cpu", "--threads", "1"])
        report(f"{model}_cpu_model_forecast_on_{device}_max_rel_diff",
               f"{max_relative_difference(cpu_fit, forecast_values(on_gpu, True)):.3g}")
        report(f"{model}_{device}_model_forecast_on_cpu_max_rel_diff",
               f"{max_relative_difference(gpu_fit, forecast_values(on_cpu, True)):.3g}")
        report(f"{model}_cpu_vs_{device}_training_max_rel_diff",
               f"{max_relative_difference(cpu_fit, gpu_fit):.3g}")
        report(f"{model}_{device}_forecast_wall_s", f"{gpu_fit_s:.2f}")


def ours_speed(binary, device, synthetic):
    for name, model, windows in SPEED_CONFIGS:
        for factor in (1, 8):
            out, _ = run([binary, "bench", "--data", synthetic, "--horizon", "24", "--input-size",
                          "48", "--model", model, "--steps", str(STEPS[0]), "--windows-batch-size",
                          str(windows * factor), "--device", device], timeout=600)
            fields = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
            report(f"ours_{name}_wb{windows * factor}_steps_per_s", fields["steps_per_second"])
            report(f"ours_{name}_wb{windows * factor}_predict_all_ms", fields["predict_all_series_ms"])


NF_SCRIPT = r"""
import json, sys, time, warnings, logging
import numpy as np, pandas as pd, pytorch_lightning as pl, torch
warnings.filterwarnings("ignore")
for n in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric"):
    logging.getLogger(n).setLevel(logging.ERROR)
from neuralforecast import NeuralForecast
from neuralforecast.models import LSTM, MLP, NBEATS, NHITS, PatchTST

class Timer(pl.Callback):
    def __init__(self):
        self.end = []
    def on_train_batch_end(self, *args):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.end.append(time.perf_counter())

name, windows, steps, data, accelerator = sys.argv[1:6]
windows, steps = int(windows), int(steps)
df = pd.read_csv(data)
df["y"] = df["y"].astype(np.float32)
timer = Timer()
kw = dict(h=24, input_size=48, batch_size=32, windows_batch_size=windows, max_steps=steps,
          random_seed=1, accelerator=accelerator, devices=1, enable_progress_bar=False, logger=False,
          enable_model_summary=False, enable_checkpointing=False, callbacks=[timer])
model = {"NHITS": NHITS, "NBEATS": NBEATS, "MLP": MLP, "LSTM": LSTM, "PatchTST": PatchTST}[name](**kw)
nf = NeuralForecast(models=[model], freq=1)
t0 = time.perf_counter()
nf.fit(df=df, val_size=0)
fit_s = time.perf_counter() - t0
# NeuralForecast copies the model, callbacks included: read the copy's timer.
timer = [c for c in nf.models[0].trainer_kwargs["callbacks"] if isinstance(c, Timer)][0]
end = np.array(timer.end)
print(json.dumps({"fit_s": fit_s, "steps": len(end),
                  "steady": (len(end) - 10) / (end[-1] - end[9]),
                  "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
                  "torch": torch.__version__}))
"""


def nf_speed(python, synthetic, site, accelerator):
    env = dict(os.environ)
    if site:
        env["PYTHONPATH"] = site + os.pathsep + env.get("PYTHONPATH", "")
    for name, _, windows in SPEED_CONFIGS:
        for factor in (1, 8):
            cmd = [python, "-c", NF_SCRIPT, name, str(windows * factor), str(STEPS[0]),
                   synthetic, accelerator]
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
            if done.returncode != 0:
                report(f"nf_{name}_wb{windows * factor}_error", done.stderr.strip().splitlines()[-1:])
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            report("nf_gpu", r["gpu"])
            report("nf_torch", r["torch"])
            report(f"nf_{name}_wb{windows * factor}_steps_per_s", f"{STEPS[0] / r['fit_s']:.3f}")
            report(f"nf_{name}_wb{windows * factor}_steady_steps_per_s", f"{r['steady']:.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--synthetic", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--nf-site", default=None)
    ap.add_argument("--python", default=sys.executable, help="the Python that runs NeuralForecast")
    ap.add_argument("--skip-nf", action="store_true")
    ap.add_argument("--steps", type=int, default=200, help="training steps of each speed run")
    ap.add_argument("--skip", default="", help="comma-separated sections to skip: agreement,speed")
    args = ap.parse_args()
    STEPS[0] = args.steps
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="nd-gpu-check-")
    info, _ = run([args.bin, "info"])
    for line in info.splitlines():
        key, _, value = line.partition(": ")
        report(key, value)
    skip = set(filter(None, args.skip.split(",")))
    sections = [("agreement", lambda: agreement(args.bin, args.device, work)),
                ("speed", lambda: ours_speed(args.bin, args.device, args.synthetic))]
    if not args.skip_nf:
        accelerator = "cpu" if args.device == "cpu" else "gpu"
        sections.append(("nf", lambda: nf_speed(args.python, args.synthetic, args.nf_site, accelerator)))
    for section, work_fn in sections:
        if section in skip:
            continue
        started = time.perf_counter()
        try:
            work_fn()
        except Exception as e:  # keep the other sections' figures
            report(f"{section}_error", str(e)[-1500:])
        report(f"{section}_wall_s", f"{time.perf_counter() - started:.1f}")
    with open(os.path.join(args.out, "gpu_check.json"), "w") as f:
        json.dump(RESULTS, f, indent=1)


if __name__ == "__main__":
    main()
