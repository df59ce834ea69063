"""The peer's training-throughput benchmark (`bench_throughput.py` in ../shared/peers/neuralforecast)
with NeuralForecast's GRU and DeepAR added beside its LSTM: the same data, timer and settings
(h=24, input_size=48, batch_size=32, each model's default windows per step: GRU 128, DeepAR
1,024), so that `compare_nf.py` can set ours against NeuralForecast's.

Usage: venv/bin/python benches/nf_throughput.py --threads 1 --data synthetic.csv --configs GRU,DeepAR --out x.json
(the peer script's arguments; it reads --threads before importing torch).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                                "peers", "neuralforecast"))
import bench_throughput as peer  # noqa: E402
from neuralforecast.models import GRU, DeepAR  # noqa: E402

peer.CONFIGS["GRU"] = lambda: GRU(h=peer.H, input_size=peer.INPUT_SIZE, batch_size=32,
                                  windows_batch_size=128, max_steps=peer.MAX_STEPS, random_seed=1,
                                  **peer.trainer_kw())
peer.CONFIGS["DeepAR"] = lambda: DeepAR(h=peer.H, input_size=peer.INPUT_SIZE, batch_size=32,
                                        windows_batch_size=1024, max_steps=peer.MAX_STEPS,
                                        random_seed=1, **peer.trainer_kw())

if __name__ == "__main__":
    peer.main()
