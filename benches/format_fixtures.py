"""Writes the bundled AirPassengers panel as other tools write it, for the reader tests.

Run with a Python that has pandas, pyarrow and polars (the peer venv has them):
    ~/.cache/nd-peers/nf-venv/bin/python benches/format_fixtures.py
The files go to crates/neuro-divergent/tests/fixtures/formats/ and are committed; no test
needs Python.
"""
import pathlib

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

root = pathlib.Path(__file__).resolve().parent.parent
out = root / "crates/neuro-divergent/tests/fixtures/formats"
out.mkdir(parents=True, exist_ok=True)

air = pd.read_csv(root / "examples/air_passengers.csv", parse_dates=["ds"])

# pandas → Parquet (pyarrow engine, snappy): timestamp[ns] ds, categorical (dictionary) ids,
# int64 y.
pandas_frame = air.assign(unique_id=air["unique_id"].astype("category"))
pandas_frame.to_parquet(out / "air_pandas.parquet", index=False)

# polars → Parquet (zstd): date ds, string ids, float y.
polars_frame = pl.from_pandas(air).with_columns(
    pl.col("ds").dt.date(), pl.col("y").cast(pl.Float64)
)
polars_frame.write_parquet(out / "air_polars.parquet")

# pyarrow → Feather v2 (an Arrow IPC file, lz4-compressed): timestamp[us, UTC] ds.
table = pa.Table.from_pandas(air, preserve_index=False)
table = table.set_column(
    1, "ds", table.column("ds").cast(pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))
)
feather.write_feather(table, out / "air_utc.arrow")

# pandas → JSON records with ISO dates ("1949-01-01T00:00:00.000").
air.to_json(out / "air_pandas.json", orient="records", date_format="iso")

# polars → JSON lines, dates as text.
polars_frame.write_ndjson(out / "air_polars.jsonl")

for path in sorted(out.iterdir()):
    print(path.name, path.stat().st_size)
