//! Parameter creation with seeded, PyTorch-identical initialisation.

use candle_core::{Device, Tensor, Var};
use candle_nn::VarMap;

use crate::error::Result;
use crate::random::TorchGenerator;

/// Creates a model's parameters inside one [`VarMap`], drawing initial values from PyTorch's
/// random stream for `seed`: parameters created in the order NeuralForecast's modules create
/// theirs get the values NeuralForecast's get.
pub struct ParamStore {
    varmap: VarMap,
    rng: TorchGenerator,
    device: Device,
}

impl ParamStore {
    /// An empty store whose initial values come from `seed`.
    pub fn new(seed: u64, device: &Device) -> ParamStore {
        ParamStore {
            varmap: VarMap::new(),
            rng: TorchGenerator::new(seed),
            device: device.clone(),
        }
    }

    /// A parameter of `shape` drawn uniformly from `[-bound, bound)` in row-major order,
    /// registered as `name`.
    pub fn uniform(&mut self, name: &str, shape: &[usize], bound: f64) -> Result<Tensor> {
        let count: usize = shape.iter().product();
        let (from, to) = (-bound as f32, bound as f32);
        let values: Vec<f32> = (0..count).map(|_| self.rng.uniform(from, to)).collect();
        self.register(name, shape, values)
    }

    /// A parameter of `shape` drawn from the standard normal as `torch.randn(shape)` draws it,
    /// registered as `name`.
    pub fn normal(&mut self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let values = self.rng.normal(shape.iter().product());
        self.register(name, shape, values)
    }

    fn register(&mut self, name: &str, shape: &[usize], values: Vec<f32>) -> Result<Tensor> {
        let var = Var::from_tensor(&Tensor::from_vec(values, shape, &self.device)?)?;
        let tensor = var.as_tensor().clone();
        self.varmap
            .data()
            .lock()
            .expect("parameter map lock poisoned")
            .insert(name.to_string(), var);
        Ok(tensor)
    }

    /// The device parameters live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Hands over the parameters.
    pub fn into_varmap(self) -> VarMap {
        self.varmap
    }
}
