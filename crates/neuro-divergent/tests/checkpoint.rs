//! Checkpoints: exact round trips, atomic replacement, and clear errors for damaged files.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use neuro_divergent::{checkpoint, FitOptions, NeuralForecast};

fn fitted(seed: u64) -> NeuralForecast {
    let frame = common::air_passengers();
    let mut specs = vec![
        common::small("NHITS", 12, 24, 20),
        common::small("NBEATS", 12, 24, 20),
        common::small("MLP", 12, 24, 20),
    ];
    for s in &mut specs {
        s.train.random_seed = seed;
    }
    let mut nf = NeuralForecast::new(specs, None).unwrap();
    nf.fit(&frame, FitOptions::default(), None).unwrap();
    nf
}

fn weights_file(dir: &Path) -> PathBuf {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .expect("a weights file")
}

fn load_error(dir: &Path) -> String {
    match NeuralForecast::load(dir) {
        Ok(_) => panic!("damaged checkpoint loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn save_load_predict_is_bit_identical() {
    let nf = fitted(1);
    let dir = tempfile::tempdir().unwrap();
    nf.save(dir.path()).unwrap();
    let loaded = NeuralForecast::load(dir.path()).unwrap();
    let before = nf.predict(None).unwrap();
    let after = loaded.predict(None).unwrap();
    assert_eq!(before.columns, ["NHITS", "NBEATS", "MLP"]);
    for (a, b) in before.values.iter().zip(&after.values) {
        let a: Vec<u64> = a.iter().map(|v| v.to_bits()).collect();
        let b: Vec<u64> = b.iter().map(|v| v.to_bits()).collect();
        assert_eq!(a, b);
    }
    assert_eq!(before, after);
}

#[test]
fn checkpoint_bytes_round_trip_exactly_and_keep_the_data_fingerprint() {
    let nf = fitted(2);
    let bytes = nf.to_checkpoint_bytes().unwrap();
    let loaded = NeuralForecast::from_checkpoint_bytes(&bytes, Path::new("air@1")).unwrap();
    assert_eq!(loaded.to_checkpoint_bytes().unwrap(), bytes);
    assert_eq!(loaded.predict(None).unwrap(), nf.predict(None).unwrap());
    let data = loaded.training_data().expect("a fingerprint");
    assert_eq!(data, &common::air_passengers().fingerprint());
    assert_eq!((data.series, data.rows), (1, 144));

    let dir = tempfile::tempdir().unwrap();
    nf.save(dir.path()).unwrap();
    assert_eq!(
        fs::read(dir.path().join("manifest.json")).unwrap(),
        bytes.manifest
    );
    assert_eq!(fs::read(weights_file(dir.path())).unwrap(), bytes.weights);

    let mut damaged = bytes.clone();
    let last = damaged.weights.len() - 1;
    damaged.weights[last] ^= 1;
    let err = NeuralForecast::from_checkpoint_bytes(&damaged, Path::new("air@1"))
        .err()
        .expect("damaged weights refused")
        .to_string();
    assert!(
        err.starts_with("checkpoint air@1: checksum mismatch"),
        "{err}"
    );
}

#[test]
fn resaving_replaces_the_checkpoint_and_leaves_no_stale_files() {
    let dir = tempfile::tempdir().unwrap();
    fitted(1).save(dir.path()).unwrap();
    let second = fitted(2);
    second.save(dir.path()).unwrap();
    let files: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 2, "manifest + one weights file");
    let loaded = NeuralForecast::load(dir.path()).unwrap();
    assert_eq!(loaded.predict(None).unwrap(), second.predict(None).unwrap());
}

#[test]
fn an_interrupted_save_keeps_the_previous_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let first = fitted(1);
    first.save(dir.path()).unwrap();
    // A save cut short after writing new weights and a partial manifest temp file,
    // before the rename that commits it.
    fs::write(
        dir.path().join("weights-0123456789abcdef.safetensors"),
        b"partial",
    )
    .unwrap();
    fs::write(dir.path().join(".manifest.json.tmp-999"), b"{\"format\":").unwrap();
    let loaded = NeuralForecast::load(dir.path()).unwrap();
    assert_eq!(loaded.predict(None).unwrap(), first.predict(None).unwrap());
}

#[test]
fn truncated_weights_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    fitted(1).save(dir.path()).unwrap();
    let weights = weights_file(dir.path());
    let bytes = fs::read(&weights).unwrap();
    // Cut in half, and cut to nothing (a file with no pages to map).
    for kept in [bytes.len() / 2, 0] {
        fs::write(&weights, &bytes[..kept]).unwrap();
        let err = load_error(dir.path());
        assert!(
            err.contains("checksum mismatch: the weights are corrupt or truncated"),
            "{kept} bytes: {err}"
        );
    }
}

/// A weights file that cannot be mapped (here a named pipe) is read instead.
#[cfg(unix)]
#[test]
fn weights_that_cannot_be_mapped_are_read() {
    let nf = fitted(1);
    let expected = nf.predict(None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    nf.save(dir.path()).unwrap();
    let weights = weights_file(dir.path());
    let bytes = fs::read(&weights).unwrap();
    fs::remove_file(&weights).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&weights)
        .status()
        .unwrap();
    assert!(made.success());
    let writer = std::thread::spawn({
        let weights = weights.clone();
        move || fs::write(&weights, &bytes)
    });
    let loaded = NeuralForecast::load(dir.path());
    if loaded.is_err() {
        // A writer still waiting for a reader opens and fails, so the test fails, not hangs.
        use std::os::unix::fs::OpenOptionsExt;
        let reader = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&weights);
        drop(reader);
    }
    let written = writer.join().unwrap();
    assert_eq!(loaded.unwrap().predict(None).unwrap(), expected);
    written.unwrap();
}

#[test]
fn bit_flips_are_detected_in_weights_and_manifest() {
    let dir = tempfile::tempdir().unwrap();
    fitted(1).save(dir.path()).unwrap();
    let weights = weights_file(dir.path());
    let mut bytes = fs::read(&weights).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x10;
    fs::write(&weights, &bytes).unwrap();
    assert!(load_error(dir.path()).contains("the weights are corrupt"));

    let dir = tempfile::tempdir().unwrap();
    fitted(1).save(dir.path()).unwrap();
    let manifest = dir.path().join("manifest.json");
    let text = fs::read_to_string(&manifest).unwrap();
    // Change one digit of the horizon: still valid JSON, but not what was saved.
    let flipped = text.replacen("\"h\": 12", "\"h\": 13", 1);
    assert_ne!(text, flipped);
    fs::write(&manifest, flipped).unwrap();
    let err = load_error(dir.path());
    assert!(
        err.contains("checksum mismatch: the manifest is corrupt"),
        "{err}"
    );
}

/// The SHA-256 of `bytes` in lower-case hex, as manifests hold checksums.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Rewrites the body of the manifest in `dir` with `edit`, with a matching checksum.
fn rewrite_body(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let manifest = dir.join("manifest.json");
    let text = fs::read_to_string(&manifest).unwrap();
    let mut envelope: serde_json::Value = serde_json::from_str(&text).unwrap();
    edit(&mut envelope["body"]);
    let body = serde_json::to_string(&envelope["body"]).unwrap();
    let digest = sha256_hex(body.as_bytes());
    let rewritten = format!(
        "{{\"format\":\"neuro-divergent-checkpoint\",\"body_sha256\":\"{digest}\",\"body\":{body}}}"
    );
    fs::write(&manifest, rewritten).unwrap();
}

/// Edits the tensors of the checkpoint in `dir` and writes them back with a matching checksum.
fn rewrite_weights(
    dir: &Path,
    edit: impl FnOnce(&mut std::collections::HashMap<String, candle_core::Tensor>),
) {
    let weights = weights_file(dir);
    let mut tensors = candle_core::safetensors::load(&weights, &candle_core::Device::Cpu).unwrap();
    edit(&mut tensors);
    candle_core::safetensors::save(&tensors, &weights).unwrap();
    let sha = sha256_hex(&fs::read(&weights).unwrap());
    rewrite_body(dir, |body| body["weights_sha256"] = sha.into());
}

#[test]
fn missing_and_misshapen_parameters_are_named() {
    let nf = fitted(1);
    let dir = tempfile::tempdir().unwrap();
    nf.save(dir.path()).unwrap();
    let weights = weights_file(dir.path());
    let tensors = candle_core::safetensors::load(&weights, &candle_core::Device::Cpu).unwrap();
    // The first parameter of the first model (NHITS), as the weights file names it.
    let key = tensors
        .keys()
        .filter(|k| k.starts_with("0."))
        .min()
        .unwrap()
        .clone();
    let parameter = key.strip_prefix("0.").unwrap().to_string();
    let expected_shape = format!("{:?}", tensors[&key].dims());
    rewrite_weights(dir.path(), |tensors| {
        tensors.remove(&key);
    });
    let err = load_error(dir.path());
    assert!(
        err.contains(&format!(
            "NHITS: the weights lack the parameter '{parameter}'"
        )),
        "{err}"
    );
    assert!(err.contains(&weights.display().to_string()), "{err}");
    rewrite_weights(dir.path(), |tensors| {
        let wrong =
            candle_core::Tensor::zeros(3, candle_core::DType::F32, &candle_core::Device::Cpu);
        tensors.insert(key.clone(), wrong.unwrap());
    });
    let err = load_error(dir.path());
    assert!(
        err.contains(&format!(
            "the weights' parameter '{parameter}' has shape [3], the model expects {expected_shape}"
        )),
        "{err}"
    );
}

#[test]
fn version_mismatch_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    fitted(1).save(dir.path()).unwrap();
    rewrite_body(dir.path(), |body| {
        body["format_version"] = 99.into();
        body["library_version"] = "9.1.0".into();
    });
    let err = load_error(dir.path());
    assert!(err.contains("checkpoint format version 99"), "{err}");
    let supported = format!("reads formats 2 to {}", checkpoint::FORMAT_VERSION);
    assert!(err.contains(&supported), "{err}");
    assert!(
        err.contains("upgrade neuro-divergent to 9.1.0 or newer to read it"),
        "{err}"
    );

    // An older format than any this library reads: the models must be fitted again.
    rewrite_body(dir.path(), |body| body["format_version"] = 1.into());
    let err = load_error(dir.path());
    assert!(err.contains("checkpoint format version 1 "), "{err}");
    assert!(
        err.contains("refit the models and save them again"),
        "{err}"
    );
}

/// A checkpoint of a model type or loss this program has not registered (one from another
/// crate) is refused naming it, not reported as damaged.
#[test]
fn unregistered_model_types_and_losses_are_named() {
    let dir = tempfile::tempdir().unwrap();
    fitted(1).save(dir.path()).unwrap();
    rewrite_body(dir.path(), |body| {
        body["models"][0]["model"] = "ForeignModel".into()
    });
    let err = load_error(dir.path());
    assert!(err.contains("the manifest cannot be read here"), "{err}");
    assert!(
        err.contains("model type 'ForeignModel' is not registered"),
        "{err}"
    );
    assert!(!err.contains("corrupt"), "{err}");
    rewrite_body(dir.path(), |body| {
        body["models"][0]["model"] = "NHITS".into();
        body["models"][0]["train"]["loss"] = "foreign_loss:2".into();
    });
    let err = load_error(dir.path());
    assert!(err.contains("unknown loss 'foreign_loss:2'"), "{err}");
    assert!(err.contains("register_loss"), "{err}");
}

#[test]
fn series_tails_live_in_the_weights_and_version_2_manifests_still_load() {
    let nf = fitted(1);
    let expected = nf.predict(None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    nf.save(dir.path()).unwrap();
    let manifest = fs::read_to_string(dir.path().join("manifest.json")).unwrap();
    assert!(
        !manifest.contains("\"values\""),
        "values are not written as text"
    );
    let tensors =
        candle_core::safetensors::load(weights_file(dir.path()), &candle_core::Device::Cpu)
            .unwrap();
    let values: Vec<f64> = tensors["tails.values"].to_vec1().unwrap();
    let lengths: Vec<u32> = tensors["tails.lengths"].to_vec1().unwrap();
    assert_eq!(lengths, [values.len() as u32]);
    let air = common::air_passengers();
    assert_eq!(
        values,
        air.series()[0].y[air.series()[0].len() - values.len()..]
    );
    // The layout of version 2: the values in the manifest.
    rewrite_body(dir.path(), |body| {
        body["format_version"] = 2.into();
        body["series"][0]["values"] = serde_json::json!(values);
    });
    let loaded = NeuralForecast::load(dir.path()).unwrap();
    assert_eq!(loaded.predict(None).unwrap(), expected);
    // Version 3 without the tensors is refused, naming what is missing.
    rewrite_body(dir.path(), |body| body["format_version"] = 3.into());
    rewrite_weights(dir.path(), |tensors| {
        tensors.retain(|name, _| !name.starts_with("tails."))
    });
    let err = load_error(dir.path());
    assert!(
        err.contains("the weights lack the series tails' tensor 'tails.lengths'"),
        "{err}"
    );
}

#[test]
fn foreign_and_missing_checkpoints_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    assert!(load_error(&dir.path().join("absent")).contains("no such checkpoint directory"));
    assert!(load_error(dir.path()).contains("manifest.json is missing"));
    fs::write(dir.path().join("manifest.json"), b"\x89PNG\r\n\x1a\n\0\0").unwrap();
    assert!(load_error(dir.path()).contains("not a neuro-divergent checkpoint"));
    fs::write(
        dir.path().join("manifest.json"),
        b"{\"name\": \"other tool\"}",
    )
    .unwrap();
    assert!(load_error(dir.path()).contains("not a neuro-divergent checkpoint"));
    fs::write(
        dir.path().join("manifest.json"),
        b"{\"format\":\"something-else\",\"body_sha256\":\"\",\"body\":{}}",
    )
    .unwrap();
    assert!(load_error(dir.path()).contains("format 'something-else'"));
    let file = dir.path().join("plain-file");
    fs::write(&file, b"x").unwrap();
    assert!(load_error(&file).contains("no such checkpoint directory"));
}

#[test]
fn unfitted_models_cannot_be_saved_or_used() {
    let nf = NeuralForecast::new(vec![common::small("MLP", 2, 4, 1)], None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    assert!(nf
        .save(dir.path())
        .unwrap_err()
        .to_string()
        .contains("not fitted"));
    assert!(nf
        .predict(None)
        .unwrap_err()
        .to_string()
        .contains("not fitted"));
}

#[test]
fn quantile_models_round_trip() {
    let frame = common::air_passengers();
    let mut spec = common::small("NHITS", 12, 24, 10);
    spec.set_param("loss", "mqloss:80").unwrap();
    let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
    nf.fit(&frame, FitOptions::default(), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    nf.save(dir.path()).unwrap();
    let loaded = NeuralForecast::load(dir.path()).unwrap();
    let before = nf.predict(None).unwrap();
    assert_eq!(
        before.columns,
        ["NHITS-median", "NHITS-lo-80", "NHITS-hi-80"]
    );
    assert_eq!(before, loaded.predict(None).unwrap());
}

#[test]
fn a_checkpoint_directory_given_as_a_link_keeps_the_link() {
    let nf = fitted(1);
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("models-v1");
    fs::create_dir(&real).unwrap();
    let link = dir.path().join("current");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    nf.save(&link).unwrap();
    nf.save(&link).unwrap(); // a second save replaces files inside the target
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(real.join("manifest.json").is_file());
    let loaded = NeuralForecast::load(&link).unwrap();
    assert_eq!(loaded.predict(None).unwrap(), nf.predict(None).unwrap());
    // Through the link or not, the checkpoint is one manifest and one weights file.
    let names: Vec<_> = fs::read_dir(&real).unwrap().collect();
    assert_eq!(names.len(), 2);
}

#[test]
fn a_manifest_that_is_a_link_stays_a_link_and_its_target_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    let shared = dir.path().join("shared");
    fs::create_dir_all(&model).unwrap();
    fs::create_dir_all(&shared).unwrap();
    let target = shared.join("manifest.json");
    fs::write(&target, b"placeholder").unwrap();
    std::os::unix::fs::symlink(&target, model.join("manifest.json")).unwrap();
    let nf = fitted(1);
    nf.save(&model).unwrap();
    let link = fs::symlink_metadata(model.join("manifest.json")).unwrap();
    assert!(
        link.file_type().is_symlink(),
        "the manifest link was replaced"
    );
    assert_ne!(fs::read(&target).unwrap(), b"placeholder");
    let loaded = NeuralForecast::load(&model).unwrap();
    assert_eq!(loaded.predict(None).unwrap(), nf.predict(None).unwrap());
}

#[test]
fn save_directories_are_checked_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    fs::write(&file, b"x").unwrap();
    let message = checkpoint::check_save_dir(&file).unwrap_err().to_string();
    assert!(
        message.contains("exists and is not a directory"),
        "{message}"
    );
    let under = file.join("model");
    let message = checkpoint::check_save_dir(&under).unwrap_err().to_string();
    assert!(
        message.contains(&format!("{} is not a directory", file.display())),
        "{message}"
    );
    checkpoint::check_save_dir(&dir.path().join("new").join("model")).unwrap();
    checkpoint::check_save_dir(dir.path()).unwrap();
    checkpoint::check_save_dir(Path::new("relative-model")).unwrap();
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("gone"), &dangling).unwrap();
    let message = checkpoint::check_save_dir(&dangling)
        .unwrap_err()
        .to_string();
    assert!(message.contains("is a link to nothing"), "{message}");
    assert_eq!(fs::read(&file).unwrap(), b"x");
    assert!(!dir.path().join("new").exists());
    let mut names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["dangling", "plain-file"],
        "the check left files behind"
    );
}

#[test]
fn dilated_rnn_with_neuralforecast_cells_round_trips() {
    let frame = common::air_passengers();
    let mut forecasts = Vec::new();
    for cell in ["ResLSTM", "AttentiveLSTM"] {
        let mut spec = common::small("DilatedRNN", 12, 24, 5);
        spec.set_param("cell_type", cell).unwrap();
        spec.set_param("encoder_hidden_size", "16").unwrap();
        spec.set_param("dilations", "[[1, 2], [4]]").unwrap();
        let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
        nf.fit(&frame, FitOptions::default(), None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        nf.save(dir.path()).unwrap();
        let before = nf.predict(None).unwrap();
        assert_eq!(
            before,
            NeuralForecast::load(dir.path())
                .unwrap()
                .predict(None)
                .unwrap()
        );
        let values = before.column("DilatedRNN").unwrap().to_vec();
        assert!(values.iter().all(|v| v.is_finite()), "{cell}: {values:?}");
        forecasts.push(values);
    }
    assert_ne!(forecasts[0], forecasts[1], "the cell type is used");
}

#[test]
fn patchtst_round_trips_with_its_batch_norm_running_statistics() {
    let frame = common::air_passengers();
    let mut spec = common::small("PatchTST", 12, 24, 5);
    for (key, value) in [
        ("hidden_size", "16"),
        ("n_heads", "4"),
        ("linear_hidden_size", "32"),
        ("encoder_layers", "1"),
    ] {
        spec.set_param(key, value).unwrap();
    }
    let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
    nf.fit(&frame, FitOptions::default(), None).unwrap();
    // W_P 16x16+16, W_pos 3x16, four 16x16+16 projections, two batch norms of 16+16, the
    // feed-forward pair 16x32+32 and 32x16+16, the head 48x12+12; running statistics not counted.
    assert_eq!(nf.parameter_counts(), [3132]);
    let dir = tempfile::tempdir().unwrap();
    nf.save(dir.path()).unwrap();
    let weights = fs::read(weights_file(dir.path())).unwrap();
    let header = String::from_utf8_lossy(&weights[..weights.len().min(8192)]);
    assert!(header.contains("norm_attn.running_var"), "{header}");
    let before = nf.predict(None).unwrap();
    let after = NeuralForecast::load(dir.path())
        .unwrap()
        .predict(None)
        .unwrap();
    assert_eq!(before, after);
}

/// `model` (h=12, input 24, 5 steps, `common::small`'s sizes, then `params`) fitted on
/// AirPassengers.
fn fitted_small(model: &str, params: &[(&str, &str)]) -> NeuralForecast {
    let mut spec = common::small(model, 12, 24, 5);
    for (key, value) in params {
        spec.set_param(key, value).unwrap();
    }
    let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
    nf.fit(&common::air_passengers(), FitOptions::default(), None)
        .unwrap();
    nf
}

/// Saves `nf`, checks that it forecasts the same on every call and that the loaded copy
/// forecasts exactly as it does, and that `column`'s forecasts are finite.
fn assert_round_trips(nf: &NeuralForecast, column: &str) {
    let dir = tempfile::tempdir().unwrap();
    nf.save(dir.path()).unwrap();
    let before = nf.predict(None).unwrap();
    assert_eq!(before, nf.predict(None).unwrap());
    let after = NeuralForecast::load(dir.path())
        .unwrap()
        .predict(None)
        .unwrap();
    assert_eq!(before, after);
    let values = before.column(column).unwrap();
    assert!(values.iter().all(|v| v.is_finite()), "{values:?}");
}

/// The sizes the Transformer checkpoint tests use.
const SMALL_TRANSFORMER: [(&str, &str); 3] = [
    ("hidden_size", "16"),
    ("n_head", "2"),
    ("conv_hidden_size", "8"),
];

#[test]
fn vanilla_transformer_round_trips_and_counts_its_parameters() {
    let params = [SMALL_TRANSFORMER.as_slice(), &[("encoder_layers", "1")]].concat();
    let nf = fitted_small("VanillaTransformer", &params);
    // Two value convolutions 16x3; the encoder layer's four 16x16+16 projections, its
    // feed-forward pair 16x8+8 and 8x16+16 and two layer norms of 16+16; the encoder's norm;
    // the decoder layer's eight projections, feed-forward pair and three norms; the decoder's
    // norm; the projection 16+1.
    assert_eq!(nf.parameter_counts(), [96 + 1432 + 32 + 2552 + 32 + 17]);
    assert_round_trips(&nf, "VanillaTransformer");
}

#[test]
fn autoformer_round_trips_and_counts_its_bias_free_layers() {
    let params = [SMALL_TRANSFORMER.as_slice(), &[("MovingAvg_window", "7")]].concat();
    let nf = fitted_small("Autoformer", &params);
    // Two value convolutions 16x1x3; per encoder layer four 16x16 projections with bias and
    // the bias-free 16x8 and 8x16 maps; the decoder layer's two auto-correlations, maps and
    // its bias-free 1x16x3 trend projection; two norms; the seasonal projection 16 + 1.
    assert_eq!(
        nf.parameter_counts(),
        [2 * 48 + 2 * (4 * 272 + 256) + 32 + (8 * 272 + 256 + 48) + 32 + 17]
    );
    assert_round_trips(&nf, "Autoformer");
}

#[test]
fn fedformer_round_trips_with_its_shared_frequency_weights() {
    let params = [
        ("hidden_size", "16"),
        ("conv_hidden_size", "8"),
        ("MovingAvg_window", "7"),
    ];
    let nf = fitted_small("FEDformer", &params);
    // Two value convolutions 16x1x3; three shared blocks of complex weights [8, 2, 2, 12]
    // (12 modes: half the encoder's 24 steps and of the 12 + 12 steps the decoder's blocks
    // are sized for); per encoder layer four 16x16 projections with bias and the bias-free
    // 16x8 and 8x16 maps; the decoder layer's eight projections, maps and its bias-free
    // 1x16x3 trend projection; two norms; the seasonal projection 16 + 1. Loading rebuilds
    // the randomly chosen modes from the seed, so the forecasts are the same.
    assert_eq!(
        nf.parameter_counts(),
        [2 * 48 + 3 * 768 + 2 * (4 * 272 + 256) + 32 + (8 * 272 + 256 + 48) + 32 + 17]
    );
    assert_round_trips(&nf, "FEDformer");
}

#[test]
fn timesnet_round_trips_with_its_inception_kernels() {
    let params = [
        ("hidden_size", "8"),
        ("conv_hidden_size", "4"),
        ("num_kernels", "2"),
        ("top_k", "2"),
    ];
    let nf = fitted_small("TimesNet", &params);
    // Per block two Inception blocks of a 1x1 and a 3x3 kernel with biases (8 to 4 channels
    // and back); the value convolution 8x1x3; the layer norm 8 + 8; the map along time 24 to
    // 36 with bias; the projection 8 + 1.
    let inception = (4 * 8 + 4) + (4 * 8 * 9 + 4);
    let back = (8 * 4 + 8) + (8 * 4 * 9 + 8);
    assert_eq!(
        nf.parameter_counts(),
        [2 * (inception + back) + 24 + 16 + (24 * 36 + 36) + 9]
    );
    assert_round_trips(&nf, "TimesNet");
}

#[test]
fn itransformer_round_trips() {
    let params = [
        ("n_series", "1"),
        ("hidden_size", "8"),
        ("n_heads", "2"),
        ("e_layers", "1"),
        ("d_ff", "16"),
    ];
    let nf = fitted_small("iTransformer", &params);
    // The window's embedding 24 to 8 with bias; the layer's four 8x8 projections with bias,
    // its feed-forward maps 8 to 16 and back and two norms; the encoder's norm; the
    // projection 8 to 12.
    let layer = 4 * 72 + (8 * 16 + 16) + (16 * 8 + 8) + 2 * 16;
    assert_eq!(
        nf.parameter_counts(),
        [(24 * 8 + 8) + layer + 16 + (8 * 12 + 12)]
    );
    assert_round_trips(&nf, "iTransformer");
}

#[test]
fn tsmixer_round_trips_with_its_batch_statistics() {
    let params = [("n_series", "1"), ("n_block", "1"), ("ff_dim", "4")];
    let nf = fitted_small("TSMixer", &params);
    // RevIN's weight and bias for the one series; per block two batch norms over the 24 x 1
    // values (their running statistics are buffers, saved but not counted), the map along time
    // 24 to 24 and the feature MLP 1 to 4 to 1; the output map 24 to 12.
    assert_eq!(
        nf.parameter_counts(),
        [2 + 2 * 48 + (24 * 24 + 24) + (4 + 4) + (4 + 1) + (24 * 12 + 12)]
    );
    assert_round_trips(&nf, "TSMixer");
}

#[test]
fn tsmixerx_round_trips() {
    let params = [("n_series", "1"), ("n_block", "1"), ("ff_dim", "4")];
    let nf = fitted_small("TSMixerx", &params);
    // RevIN's weight and bias; the map along time 24 to 12; the target's feature mixer 1 to
    // 4 to 4 with a residual projection 1 to 4 and a norm over 12 x 4 values; the first block
    // and the one block, each a map along time 12 to 12 with a norm over 12 x 4 values and a
    // feature mixer 4 to 4 to 4 with its norm; the output map 4 to 1.
    let norm = 2 * 12 * 4;
    let feature = |inputs: usize| {
        let projection = if inputs == 4 { 0 } else { inputs * 4 + 4 };
        (inputs * 4 + 4) + (4 * 4 + 4) + projection + norm
    };
    let block = (12 * 12 + 12) + norm + feature(4);
    assert_eq!(
        nf.parameter_counts(),
        [2 + (24 * 12 + 12) + feature(1) + 2 * block + (4 + 1)]
    );
    assert_round_trips(&nf, "TSMixerx");
}

#[test]
fn informer_round_trips_with_its_distilling_statistics_and_key_sample() {
    // The default sampling factor (3) on a 24-step window keeps 12 of 24 queries, so the
    // forecasts depend on the key sample, which forecasting draws the same way every call.
    let nf = fitted_small("Informer", &SMALL_TRANSFORMER);
    // As VanillaTransformer's with two encoder layers (2 x 1432), plus the distilling
    // convolution 16x16x3+16 and its batch norm's 16+16 (running statistics not counted).
    assert_eq!(
        nf.parameter_counts(),
        [96 + 2 * 1432 + 816 + 32 + 2552 + 32 + 17]
    );
    assert_round_trips(&nf, "Informer");
}

#[test]
fn tft_round_trips_with_its_encoders_and_selection_networks() {
    let params = [("hidden_size", "8"), ("n_head", "2")];
    let nf = fitted_small("TFT", &params);
    // A gated residual network of 8 units: lin_a, lin_i (8x8+8 each), the gate 8 to 16
    // (8x16+16) and the norm 8+8; with a context, lin_c 8x8 without bias.
    let grn = 2 * 72 + 144 + 16;
    let with_context = grn + 64;
    // Embeddings (vector and bias per variable) of the repeated last value and the target.
    let embeddings = 2 * 16;
    // The past selection over 2 variables: the joint network 16 to 8 to 2 with its context,
    // its residual projection 16x2+2 and norm 2+2; a network per variable.
    let past = (16 * 8 + 8) + 64 + 72 + (8 * 4 + 4) + (16 * 2 + 2) + 4 + 2 * grn;
    // The future selection over 1 variable: no norm on the joint network's single output.
    let future = 72 + 64 + 72 + (8 * 2 + 2) + (8 + 1) + grn;
    // Two LSTM layers of 8 units (weights 32x8 twice, biases 32 twice).
    let lstm = 2 * (2 * 256 + 2 * 32);
    // The encoders' gate and norm; the decoder's enrichment, attention (queries and keys of
    // two heads and the shared values, 8 to 20, and the output map 4 to 8, without biases),
    // two gates with norms and the position-wise network; the output 8+1.
    let decoder = with_context + (8 * 20 + 4 * 8) + 2 * (144 + 16) + grn;
    assert_eq!(
        nf.parameter_counts(),
        [embeddings + past + future + lstm + (144 + 16) + decoder + 9]
    );
    assert_round_trips(&nf, "TFT");
}
