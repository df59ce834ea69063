"""Makes the Chronos-2 test fixture: a small Chronos-2 with random weights, saved in the Hugging
Face layout (config.json + model.safetensors), and the reference package's quantile forecasts
(`Chronos2Pipeline.predict`) for fixed inputs (expected.json): univariate series of different
lengths, one task with a past-only and a known-future covariate, and two series forecast
together.

Run with the `chronos-forecasting` package installed (any venv with torch):

    python benches/chronos2_fixture.py crates/neuro-divergent/tests/fixtures/chronos2_small_random
"""

import json
import sys
from pathlib import Path

import torch

from chronos.chronos2 import Chronos2Model, Chronos2Pipeline
from chronos.chronos2.config import Chronos2CoreConfig

from chronos_fixture import inputs

H = 12


def with_covariates():
    t = torch.arange(60, dtype=torch.float64)
    price = 10.0 + torch.sin(t / 5.0)
    promo = (t.long() % 7 == 0).to(torch.float64)
    target = 50.0 + 5.0 * torch.cos(t / 4.0) - 3.0 * price + 8.0 * promo
    future = torch.arange(60, 60 + H, dtype=torch.float64)
    return {
        "target": target.to(torch.float32),
        "past_covariates": {"price": price.to(torch.float32), "promo": promo.to(torch.float32)},
        "future_covariates": {"promo": (future.long() % 7 == 0).to(torch.float32)},
    }


def main(out: Path):
    torch.manual_seed(11)
    config = Chronos2CoreConfig(
        d_model=32,
        d_kv=8,
        d_ff=48,
        num_layers=2,
        num_heads=4,
        dropout_rate=0.0,
        layer_norm_epsilon=1e-6,
        feed_forward_proj="relu",
        rope_theta=10000.0,
        attn_implementation="eager",
        architectures=["Chronos2Model"],
        chronos_config={
            "context_length": 96,
            "output_patch_size": 8,
            "input_patch_size": 8,
            "input_patch_stride": 8,
            # Chronos-2's published levels.
            "quantiles": [0.01] + [round(0.05 * i, 2) for i in range(1, 20)] + [0.99],
            "use_reg_token": True,
            "use_arcsinh": True,
            "max_output_patches": 2,
            "time_encoding_scale": 96,
        },
    )
    model = Chronos2Model(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            # Wide weights exercise every layer; the output layers stay narrow so that `sinh`
            # of the outputs keeps forecasts near the series' scale.
            width = 0.05 if name.startswith("output_patch_embedding") else (0.4 if p.dim() > 1 else 0.2)
            p.copy_(torch.randn_like(p) * width + (1.0 if "layer_norm" in name else 0.0))
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    pipeline = Chronos2Pipeline.from_pretrained(out)
    # Chronos-Bolt's fixture series but the last: lengths 5, 27, 64, 150 and a constant one.
    series = inputs()[:5]
    task = with_covariates()
    expected = {
        "series": [s.tolist() for s in series],
        "covariates": {
            "target": task["target"].tolist(),
            "price": task["past_covariates"]["price"].tolist(),
            "promo": task["past_covariates"]["promo"].tolist(),
            "promo_future": task["future_covariates"]["promo"].tolist(),
        },
    }
    # [series][quantile][step]
    expected["quantiles_h12"] = [p[0].tolist() for p in pipeline.predict(series, prediction_length=H)]
    expected["covariates_h12"] = pipeline.predict([task], prediction_length=H)[0][0].tolist()
    # Two series forecast together (one task of two variates).
    t = torch.arange(70, dtype=torch.float64)
    pair = torch.stack([30.0 + 4.0 * torch.sin(t / 3.0), 30.0 + 4.0 * torch.sin(t / 3.0 + 0.8) + 0.05 * t])
    expected["pair"] = pair.tolist()
    expected["pair_h12"] = pipeline.predict([pair.to(torch.float32)], prediction_length=H)[0].tolist()
    (out / "expected.json").write_text(json.dumps(expected))
    # How far float rounding alone moves the reference: the same model in float64.
    pipeline.model.double()
    context = torch.nn.utils.rnn.pad_sequence([s.flip(0) for s in series], batch_first=True, padding_value=float("nan")).flip(1)
    with torch.no_grad():
        in_f64 = pipeline.model(context=context.double(), num_output_patches=2).quantile_preds[..., :H]
    in_f32 = torch.tensor(expected["quantiles_h12"], dtype=torch.float64)
    scale = in_f32.abs().flatten(1).max(dim=1).values.clamp(min=1.0)[:, None, None]
    print(f"float64 against float32 reference: {((in_f64 - in_f32).abs() / scale).max().item():.2e} of each series' largest value")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
