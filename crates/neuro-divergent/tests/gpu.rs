//! On a CUDA GPU (a `--features cuda` build on a machine with one): models train there to the
//! CPU's forecasts up to float rounding, and their checkpoints move between the devices.
//! Elsewhere every case is skipped with a message saying why. `benches/gpu_check.sh` runs the
//! wider check (speed, NeuralForecast on the same GPU).

mod common;

use common::{air_passengers, small};
use neuro_divergent::{ComputeDevice, FitOptions, NeuralForecast};

/// GPU 0, or None with the reason printed.
fn gpu() -> Option<ComputeDevice> {
    let device = ComputeDevice::Cuda(0);
    match device.open() {
        Ok(_) => Some(device),
        Err(e) => {
            eprintln!("SKIPPED the GPU cases: {e}");
            None
        }
    }
}

/// Fails unless every forecast of `a` and `b` agrees within `tolerance`, relative.
fn assert_close(a: &[Vec<f64>], b: &[Vec<f64>], tolerance: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (x, y) in a.iter().flatten().zip(b.iter().flatten()) {
        assert!(
            (x - y).abs() <= tolerance * x.abs().max(1.0),
            "{what}: {x} vs {y}"
        );
    }
}

#[test]
fn models_train_on_the_gpu_to_the_cpus_forecasts_and_move_between_devices() {
    let Some(gpu) = gpu() else {
        return;
    };
    let frame = air_passengers();
    for model in ["NHITS", "NBEATS", "MLP", "LSTM", "PatchTST"] {
        let fit = |device: ComputeDevice| {
            let spec = small(model, 12, 24, 20);
            let mut nf = NeuralForecast::new(vec![spec], None)
                .unwrap()
                .with_device(device)
                .unwrap();
            nf.fit(&frame, FitOptions::default(), None).unwrap();
            nf
        };
        let on_cpu = fit(ComputeDevice::Cpu);
        let on_gpu = fit(gpu);
        assert_eq!(on_gpu.device(), gpu);
        let cpu_values = on_cpu.predict(None).unwrap().values;
        let gpu_values = on_gpu.predict(None).unwrap().values;
        // Training amplifies the devices' different rounding a little.
        assert_close(&cpu_values, &gpu_values, 1e-2, model);
        // The GPU's model forecast on the CPU, and the CPU's on the GPU, through checkpoints.
        let dir = tempfile::tempdir().unwrap();
        on_gpu.save(&dir.path().join("gpu")).unwrap();
        on_cpu.save(&dir.path().join("cpu")).unwrap();
        let gpu_model_on_cpu = NeuralForecast::load(&dir.path().join("gpu")).unwrap();
        let cpu_model_on_gpu = NeuralForecast::load(&dir.path().join("cpu"))
            .unwrap()
            .with_device(gpu)
            .unwrap();
        let moved = |nf: &NeuralForecast| nf.predict(None).unwrap().values;
        assert_close(&gpu_values, &moved(&gpu_model_on_cpu), 1e-4, model);
        assert_close(&cpu_values, &moved(&cpu_model_on_gpu), 1e-4, model);
    }
}
