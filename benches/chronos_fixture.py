"""Makes the Chronos-Bolt test fixture: a small Chronos-Bolt with random weights, saved in the
Hugging Face layout (config.json + model.safetensors), and the reference package's quantile
forecasts for fixed inputs (expected.json).

Run with the `chronos-forecasting` package installed (any venv with torch):

    python benches/chronos_fixture.py crates/neuro-divergent/tests/fixtures/chronos_bolt_small_random
"""

import json
import math
import sys
from pathlib import Path

import torch
from transformers import T5Config

from chronos import ChronosBoltPipeline
from chronos.chronos_bolt import ChronosBoltModelForForecasting


def inputs():
    """Series of different lengths: shorter than a patch, a few patches, longer than the context,
    a constant one, and one with values far from zero."""
    series = []
    for i, length in enumerate([5, 27, 64, 150, 40]):
        t = torch.arange(length, dtype=torch.float64)
        if i == 3:
            values = 100.0 + 20.0 * torch.sin(2 * math.pi * t / 12) + 0.5 * t
        elif i == 4:
            values = torch.full((length,), 7.0, dtype=torch.float64)
        else:
            values = (i + 1) * torch.cos(0.3 * t) + 0.1 * t
        series.append(values.to(torch.float32))
    series.append((1e4 + 300.0 * torch.sin(torch.arange(33.0) / 3.0)).to(torch.float32))
    return series


def main(out: Path):
    torch.manual_seed(7)
    config = T5Config(
        d_model=32,
        d_ff=48,
        d_kv=8,
        num_heads=4,
        num_layers=2,
        num_decoder_layers=2,
        relative_attention_num_buckets=32,
        relative_attention_max_distance=128,
        dropout_rate=0.0,
        layer_norm_epsilon=1e-6,
        feed_forward_proj="relu",
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
        architectures=["ChronosBoltModelForForecasting"],
        chronos_config={
            "context_length": 96,
            "prediction_length": 16,
            "input_patch_size": 8,
            "input_patch_stride": 8,
            "quantiles": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
            "use_reg_token": True,
        },
    )
    model = ChronosBoltModelForForecasting(config).eval()
    # Random initialisation leaves a network close to a constant map; wider weights make the
    # comparison exercise every layer.
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn_like(p) * (0.5 if p.dim() > 1 else 0.2) + (1.0 if "layer_norm" in name else 0.0))
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    pipeline = ChronosBoltPipeline.from_pretrained(out)
    series = inputs()
    expected = {"series": [s.tolist() for s in series]}
    for horizon in (12, 40):
        forecasts = pipeline.predict(series, prediction_length=horizon)
        expected[f"quantiles_h{horizon}"] = forecasts.tolist()  # [series, quantile, step]
    (out / "expected.json").write_text(json.dumps(expected))
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
