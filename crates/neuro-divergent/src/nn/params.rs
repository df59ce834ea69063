//! Parameter creation with seeded, PyTorch-like initialisation.

use candle_core::{Device, Tensor, Var};
use candle_nn::VarMap;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::Result;

/// Creates a model's parameters inside one [`VarMap`], drawing initial values from a seeded RNG so
/// that the same `random_seed` builds the same model.
pub struct ParamStore {
    varmap: VarMap,
    rng: StdRng,
    device: Device,
}

impl ParamStore {
    /// An empty store whose initial values come from `seed`.
    pub fn new(seed: u64, device: &Device) -> ParamStore {
        ParamStore {
            varmap: VarMap::new(),
            rng: StdRng::seed_from_u64(seed),
            device: device.clone(),
        }
    }

    /// A parameter of `shape` drawn uniformly from `[-bound, bound]`, registered as `name`.
    pub fn uniform(&mut self, name: &str, shape: &[usize], bound: f64) -> Result<Tensor> {
        let count: usize = shape.iter().product();
        let bound = bound as f32;
        let values: Vec<f32> = (0..count)
            .map(|_| self.rng.random_range(-bound..=bound))
            .collect();
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
