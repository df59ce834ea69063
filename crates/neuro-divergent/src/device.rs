//! Where models train and forecast: the CPU (always), or a CUDA GPU in builds with the `cuda`
//! feature.
//!
//! Parameters and every batch live on the chosen device. The CPU runs the library's fused
//! kernels and splits batches into chunks across its cores (`chunks.rs`); a GPU runs each batch
//! as one pass of Candle's generic ops, which all have CUDA kernels (the fused ops fall back to
//! them there). Checkpoints hold host copies of the weights, so a model saved on one device
//! loads on the other.

use std::fmt;
use std::str::FromStr;

use candle_core::Device;

use crate::error::{Error, Result};

/// A device to train and forecast on, as users name it: `cpu`, `cuda` (GPU 0) or `cuda:N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ComputeDevice {
    /// The CPU (the default).
    #[default]
    Cpu,
    /// The CUDA GPU of this ordinal.
    Cuda(usize),
}

impl ComputeDevice {
    /// Whether this build can run on CUDA GPUs (built with the `cuda` feature).
    pub fn cuda_compiled() -> bool {
        candle_core::utils::cuda_is_available()
    }

    /// Opens the device. A CUDA device needs a build with the `cuda` feature and a GPU of that
    /// ordinal with a working driver; otherwise the error says which is missing.
    pub fn open(self) -> Result<Device> {
        match self {
            ComputeDevice::Cpu => Ok(Device::Cpu),
            ComputeDevice::Cuda(_) if !Self::cuda_compiled() => Err(Error::Config(format!(
                "device {self}: this build has no CUDA support; build with `--features cuda` \
                 (see scripts/cuda-toolkit.sh) or use --device cpu"
            ))),
            ComputeDevice::Cuda(ordinal) => Device::new_cuda(ordinal)
                .map_err(|e| Error::Config(format!("device {self} could not be opened: {e}"))),
        }
    }

    /// The device a tensor or parameter lives on.
    pub fn of(device: &Device) -> ComputeDevice {
        match device.location() {
            candle_core::DeviceLocation::Cuda { gpu_id } => ComputeDevice::Cuda(gpu_id),
            _ => ComputeDevice::Cpu,
        }
    }
}

impl fmt::Display for ComputeDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComputeDevice::Cpu => f.write_str("cpu"),
            ComputeDevice::Cuda(ordinal) => write!(f, "cuda:{ordinal}"),
        }
    }
}

impl FromStr for ComputeDevice {
    type Err = Error;

    fn from_str(text: &str) -> Result<ComputeDevice> {
        let name = text.trim().to_ascii_lowercase();
        let invalid = || {
            Error::Config(format!(
                "unknown device '{text}': use cpu, cuda or cuda:N (N the GPU's ordinal)"
            ))
        };
        match name.as_str() {
            "cpu" => Ok(ComputeDevice::Cpu),
            "cuda" | "gpu" => Ok(ComputeDevice::Cuda(0)),
            _ => name
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(ComputeDevice::Cuda)
                .ok_or_else(invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::ModelInput;
    use crate::nn::kernels::with_generic_ops;
    use crate::windows::WindowScale;
    use crate::ModelSpec;
    use candle_core::{DType, Tensor};

    #[test]
    fn device_names_parse_and_print() {
        for (text, device) in [
            ("cpu", ComputeDevice::Cpu),
            ("CUDA", ComputeDevice::Cuda(0)),
            ("cuda:3", ComputeDevice::Cuda(3)),
        ] {
            assert_eq!(text.parse::<ComputeDevice>().unwrap(), device);
        }
        assert_eq!(ComputeDevice::Cuda(1).to_string(), "cuda:1");
        for bad in ["tpu", "cuda:", "cuda:-1", "cuda:x"] {
            let err = bad.parse::<ComputeDevice>().unwrap_err().to_string();
            assert!(err.contains(&format!("unknown device '{bad}'")), "{err}");
        }
    }

    /// The generic ops a GPU runs give the fused CPU kernels' outputs and parameter gradients
    /// for every family of model: dense, recurrent, attention with batch and layer norms,
    /// auto-correlation with its delay aggregation, and a likelihood with `ln Γ` (DeepAR's
    /// Student-t).
    #[test]
    fn generic_ops_give_the_outputs_and_gradients_of_the_fused_kernels() {
        let models = [
            "NHITS",
            "NBEATS",
            "MLP",
            "LSTM",
            "PatchTST",
            "VanillaTransformer",
            "Autoformer",
            "FEDformer",
            "TimesNet",
            "TiDE",
            "DeepAR",
            "iTransformer",
            "TSMixer",
            "TSMixerx",
        ];
        let device = Device::Cpu;
        for model in models {
            let mut spec = ModelSpec::new(model, 12, 24).unwrap();
            if spec.has_param("n_series") {
                // Multivariate: the 80 rows are 20 windows of 4 series.
                spec.set_param("n_series", "4").unwrap();
            }
            for name in spec.param_names() {
                if name.contains("dropout") {
                    spec.set_param(&name, "0").unwrap();
                }
            }
            let built = spec.build(&device).unwrap();
            // Training windows (DeepAR's are teacher-forced: longer input, h_train steps).
            let shape = spec.window_shapes().train;
            let rows = 80;
            let insample = Tensor::randn(0f32, 1f32, (rows, shape.input_size), &device).unwrap();
            let target = Tensor::randn(0f32, 1f32, (rows, shape.horizon), &device).unwrap();
            let mut input =
                ModelInput::target_only(insample.clone(), insample.ones_like().unwrap());
            if built.model.autoregressive().is_some() {
                input.teacher = Some(target.clone());
            }
            let pass = || {
                let loss_of = |out: &Tensor| {
                    let window = WindowScale {
                        shift: Tensor::zeros((rows, 1), DType::F32, &device)?,
                        scale: Tensor::ones((rows, 1), DType::F32, &device)?,
                    };
                    spec.train.loss.compute(
                        &target,
                        out,
                        &target.ones_like()?,
                        &input.insample,
                        &input.insample_mask,
                        &window,
                    )
                };
                let (loss, grads) =
                    crate::chunks::loss_and_gradients(built.model.as_ref(), &input, 0, loss_of)
                        .unwrap_or_else(|e| panic!("{model}: {e}"));
                let mut values = vec![loss.to_scalar::<f32>().unwrap()];
                for var in built.varmap.all_vars() {
                    if let Some(g) = grads.get(var.as_tensor()) {
                        values.extend(g.flatten_all().unwrap().to_vec1::<f32>().unwrap());
                    }
                }
                values
            };
            let fused = pass();
            let generic = with_generic_ops(pass);
            assert_eq!(fused.len(), generic.len(), "{model}");
            let largest = fused.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (a, b) in fused.iter().zip(&generic) {
                assert!(
                    (a - b).abs() <= 1e-4 * largest.max(1.0),
                    "{model}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn the_cpu_opens_and_cuda_says_what_is_missing() {
        assert!(ComputeDevice::Cpu.open().unwrap().is_cpu());
        assert_eq!(ComputeDevice::of(&Device::Cpu), ComputeDevice::Cpu);
        if !ComputeDevice::cuda_compiled() {
            let err = ComputeDevice::Cuda(0).open().unwrap_err().to_string();
            assert!(err.contains("this build has no CUDA support"), "{err}");
        }
    }
}
