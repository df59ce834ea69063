//! Property-based fuzzing of everything that reads outside input: the CSV, JSON, Parquet and
//! Arrow readers, `ds` texts, the checkpoint loader, `--param` values and loss texts. Each
//! property is "no panic, no hang, an answer or a clear error"; the `ds` property also checks
//! that whatever parses writes back to text that parses to the same instant.
//!
//! CI runs proptest's default 256 cases per property. A long run:
//! `PROPTEST_CASES=20000 cargo test --release -p neuro-divergent --test fuzz`.

mod common;

use std::io::Cursor;
use std::path::Path;
use std::sync::OnceLock;

use neuro_divergent::data::{read_frame_from, DataFormat, Timestamp};
use neuro_divergent::losses::Loss;
use neuro_divergent::models::model_names;
use neuro_divergent::{FitOptions, ModelSpec, NeuralForecast};
use proptest::prelude::*;

/// Text cells drawn from characters that matter to the readers.
fn cell() -> impl Strategy<Value = String> {
    prop::string::string_regex("[0-9a-zA-Z:+\\-./ TZé\"',\\n]{0,24}").expect("a valid regex")
}

/// Date texts in the forms other tools write, from year 0 to 9999, with and without a time,
/// fractions and zones, so that the write-back property meets real dates (random cells almost
/// never parse as one).
fn date_text() -> impl Strategy<Value = String> {
    let date =
        (0u32..=9999, 1u32..=12, 1u32..=31, 0usize..4).prop_map(|(y, m, d, layout)| match layout {
            0 => format!("{y:04}-{m:02}-{d:02}"),
            1 => format!("{y:04}/{m}/{d}"),
            2 => format!("{d:02}.{m:02}.{y:04}"),
            _ => format!("{y:04}-{m:02}"),
        });
    let time = (
        0u32..24,
        0u32..60,
        prop::option::of(0u32..60),
        0usize..10,
        0u64..1_000_000_000,
    )
        .prop_map(|(h, min, sec, digits, fraction)| {
            let mut text = format!("{h:02}:{min:02}");
            if let Some(sec) = sec {
                text += &format!(":{sec:02}");
                if digits > 0 {
                    let shown = format!("{fraction:09}");
                    text += &format!(".{}", &shown[..digits]);
                }
            }
            text
        });
    let zone = prop::sample::select(vec![
        "", "Z", "+00:00", "-01:00", "+05:30", "+0100", "-11", "+14:00",
    ]);
    (date, prop::option::of((prop::bool::ANY, time, zone))).prop_map(|(date, time)| match time {
        None => date,
        Some((t, time, zone)) => format!("{date}{}{time}{zone}", if t { 'T' } else { ' ' }),
    })
}

/// The bytes of a formats fixture.
fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/formats")
        .join(name);
    std::fs::read(path).expect("fixture")
}

/// `bytes` with `flips` bytes replaced and cut to `keep` of its length (in thousandths).
fn mutated(mut bytes: Vec<u8>, flips: &[(usize, u8)], keep: u16) -> Vec<u8> {
    let len = bytes.len();
    for &(at, value) in flips {
        bytes[at % len] = value;
    }
    bytes.truncate(len * usize::from(keep.min(1000)) / 1000);
    bytes
}

/// Reads `bytes` as `format`; any answer but a panic passes.
fn read(bytes: Vec<u8>, format: DataFormat) {
    let _ = read_frame_from(Cursor::new(bytes), "fuzz", format, None);
}

/// A saved checkpoint of a tiny fitted model: its manifest and weights files.
fn checkpoint() -> &'static (Vec<u8>, String, Vec<u8>) {
    static SAVED: OnceLock<(Vec<u8>, String, Vec<u8>)> = OnceLock::new();
    SAVED.get_or_init(|| {
        let mut nf = NeuralForecast::new(vec![common::small("MLP", 4, 8, 2)], None).unwrap();
        nf.fit(&common::air_passengers(), FitOptions::default(), None)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        nf.save(dir.path()).unwrap();
        let manifest = std::fs::read(dir.path().join("manifest.json")).unwrap();
        let weights = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .find(|name| name.starts_with("weights-"))
            .unwrap();
        let bytes = std::fs::read(dir.path().join(&weights)).unwrap();
        (manifest, weights, bytes)
    })
}

proptest! {
    #[test]
    fn csv_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        read(bytes, DataFormat::Csv);
    }

    #[test]
    fn csv_cells(rows in prop::collection::vec((cell(), cell(), cell(), cell()), 0..12)) {
        let mut text = String::from("unique_id,ds,y,x\n");
        for (id, ds, y, x) in rows {
            text.push_str(&format!("{id},{ds},{y},{x}\n"));
        }
        read(text.into_bytes(), DataFormat::Csv);
    }

    #[test]
    fn json_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        read(bytes.clone(), DataFormat::Json);
        read(bytes, DataFormat::Jsonl);
    }

    #[test]
    fn json_records(rows in prop::collection::vec((cell(), cell(), any::<f64>(), cell()), 0..12)) {
        let records: Vec<serde_json::Value> = rows
            .into_iter()
            .map(|(id, ds, y, x)| serde_json::json!({ "unique_id": id, "ds": ds, "y": y, "x": x }))
            .collect();
        read(serde_json::to_vec(&records).unwrap(), DataFormat::Json);
    }

    #[test]
    fn columnar_files(
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        keep in 0u16..1100,
        which in 0usize..3,
    ) {
        let (name, format) = [
            ("air_pandas.parquet", DataFormat::Parquet),
            ("air_polars.parquet", DataFormat::Parquet),
            ("air_utc.arrow", DataFormat::Arrow),
        ][which];
        read(mutated(fixture(name), &flips, keep), format);
    }

    #[test]
    fn columnar_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        read(bytes.clone(), DataFormat::Parquet);
        read(bytes, DataFormat::Arrow);
    }

    #[test]
    fn timestamps_write_back_to_the_same_instant(text in prop_oneof![cell(), date_text()]) {
        if let Some((ts, style)) = Timestamp::parse_styled(&text) {
            let written = ts.format(style);
            let again = Timestamp::parse(&written);
            // Date-only styles drop the time of day of values that have none to drop.
            prop_assert_eq!(again, Some(ts), "{} -> {}", text, written);
        }
    }

    #[test]
    fn checkpoints(
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        keep in 0u16..1100,
        in_weights in any::<bool>(),
    ) {
        let (manifest, weights_name, weights) = checkpoint();
        let dir = tempfile::tempdir().unwrap();
        let (manifest, weights) = if in_weights {
            (manifest.clone(), mutated(weights.clone(), &flips, keep))
        } else {
            (mutated(manifest.clone(), &flips, keep), weights.clone())
        };
        std::fs::write(dir.path().join("manifest.json"), manifest).unwrap();
        std::fs::write(dir.path().join(weights_name), weights).unwrap();
        let _ = NeuralForecast::load(dir.path());
    }

    #[test]
    fn params(model in 0usize..model_names().len(), key in 0usize..64, value in cell()) {
        let mut spec = ModelSpec::new(model_names()[model], 12, 24).unwrap();
        let keys = spec.param_names();
        let key = keys[key % keys.len()].clone();
        let _ = spec.set_param(&key, &value);
    }

    #[test]
    fn losses(text in "[a-z_:0-9,.\\-\\[\\] ]{0,24}") {
        let _ = Loss::parse(&text);
    }
}
