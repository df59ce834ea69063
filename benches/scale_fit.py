"""Fit and predict at scale, side by side with NeuralForecast in one run: NHITS (h=24,
input_size=48, NF's other defaults, --steps steps) on the panels of benches/scale_read.py,
reading the Parquet file, fitting, forecasting every series and writing the forecasts.

    ~/.cache/nd-peers/nf-venv/bin/python benches/scale_fit.py \
        --binary target/release/neuro-divergent --sizes 1000x200,10000x200,100000x200 \
        [--steps 20] [--threads 2] [--dir /tmp/nd-scale] [--skip-nf]

Each side runs in its own process under /usr/bin/time (peak RSS). Ours: `fit --save` (read,
validate, train), then `predict --model-dir` (load, forecast every series, write Parquet), each
timed whole-process. The physical limit of `predict`: every series' forward FLOPs over the f32
GEMM rate, both from one `neuro-divergent bench` run in the same run (on the first panel), next
to our whole-process predict time. NeuralForecast: one process reads the Parquet file with pandas, fits, then
predicts; it prints its fit and predict seconds. Generate the panels first with
benches/scale_read.py. Not a test.
"""
import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

NF_SCRIPT = r"""
import sys, time, logging, warnings
warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)
import pandas as pd, torch
from neuralforecast import NeuralForecast
from neuralforecast.models import NHITS
path, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
t = time.perf_counter()
df = pd.read_parquet(path)
model = NHITS(h=24, input_size=48, max_steps=steps, random_seed=1, enable_progress_bar=False,
              enable_model_summary=False, logger=False, enable_checkpointing=False)
nf = NeuralForecast(models=[model], freq="h")
nf.fit(df)
fit_s = time.perf_counter() - t
t = time.perf_counter()
out = nf.predict()
predict_s = time.perf_counter() - t
print(fit_s, predict_s, len(out))
"""


def timed(command, cwd=None):
    """Wall seconds, peak RSS (MB) and stdout of `command` run under /usr/bin/time."""
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *command], capture_output=True,
                          text=True, cwd=cwd)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{command} failed: {done.stderr[-2000:]}")
    rss = float(done.stderr.strip().splitlines()[-1]) / 1024
    return seconds, rss, done.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/neuro-divergent")
    parser.add_argument("--sizes", default="1000x200,10000x200,100000x200")
    parser.add_argument("--dir", default="/tmp/nd-scale")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-nf", action="store_true")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    print(f"# NHITS h=24 input_size=48, {args.steps} steps, {args.threads} threads; one run each")
    first = pathlib.Path(args.dir) / f"panel_{args.sizes.split(',')[0]}.parquet"
    _, _, text = timed([binary, "bench", "--data", str(first), "--horizon", "24",
                        "--input-size", "48", "--model", "nhits", "--steps", "5",
                        "--threads", str(args.threads)])
    figures = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
    gemm = float(figures["gemm_gflops"])
    mflop = float(figures["forward_mflop_per_series"])
    print(f"# f32 GEMM {gemm:.1f} GFLOP/s; forward pass {mflop:.3f} MFLOP per series")
    print("| panel | ours fit s | ours fit RSS MB | ours predict s | predict limit s | "
          "predict/limit | ours predict RSS MB | NF fit s | NF predict s | NF RSS MB | "
          "predict NF/ours | RSS NF/ours |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes.split(","):
        parquet = pathlib.Path(args.dir) / f"panel_{size}.parquet"
        if not parquet.exists():
            sys.exit(f"{parquet} is missing: run benches/scale_read.py --sizes {size} first")
        with tempfile.TemporaryDirectory() as work:
            saved = os.path.join(work, "model")
            common = ["--threads", str(args.threads)]
            fit_s, fit_rss, _ = timed([binary, "fit", "--data", str(parquet), "--horizon", "24",
                                       "--input-size", "48", "--model", "nhits", "--max-steps",
                                       str(args.steps), "--save", saved, *common])
            out = os.path.join(work, "forecasts.parquet")
            pred_s, pred_rss, _ = timed([binary, "predict", "--model-dir", saved, "--out", out,
                                         *common])
            nf = ("-", "-", float("nan"))
            if not args.skip_nf:
                # NF writes lightning_logs into its working directory: keep it in the temp dir.
                _, nf_rss, text = timed([sys.executable, "-c", NF_SCRIPT, str(parquet),
                                         str(args.steps), str(args.threads)], cwd=work)
                nf_fit, nf_pred, _ = text.split()
                nf = (float(nf_fit), float(nf_pred), nf_rss)
        ours_rss = max(fit_rss, pred_rss)
        series = int(size.split("x")[0])
        limit = series * mflop * 1e6 / (gemm * 1e9)
        ratio_pred = nf[1] / pred_s if nf[1] != "-" else float("nan")
        print(f"| {size} | {fit_s:.2f} | {fit_rss:.0f} | {pred_s:.2f} | {limit:.2f} | "
              f"{pred_s / limit:.2f}x | {pred_rss:.0f} | "
              f"{nf[0] if nf[0] == '-' else f'{nf[0]:.2f}'} | "
              f"{nf[1] if nf[1] == '-' else f'{nf[1]:.2f}'} | {nf[2]:.0f} | "
              f"{ratio_pred:.2f}x | {nf[2] / ours_rss:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
