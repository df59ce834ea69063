//! Parameter creation with seeded, PyTorch-identical initialisation.

use std::collections::HashMap;

use candle_core::{Device, Tensor, Var};
use candle_nn::VarMap;

use crate::error::{Error, Result};
use crate::random::TorchGenerator;

/// Name endings of the values a model updates itself ([`ParamStore::buffer`]), as PyTorch names
/// batch normalisation's running statistics.
pub const BUFFER_SUFFIXES: &[&str] = &[".running_mean", ".running_var"];

/// True when the stored value called `name` is a buffer ([`ParamStore::buffer`]), not a
/// trained parameter.
pub fn is_buffer(name: &str) -> bool {
    BUFFER_SUFFIXES.iter().any(|suffix| name.ends_with(suffix))
}

/// Creates a model's parameters inside one [`VarMap`], drawing initial values from PyTorch's
/// random stream for `seed`: parameters created in the order NeuralForecast's modules create
/// theirs get the values NeuralForecast's get.
pub struct ParamStore {
    varmap: VarMap,
    rng: TorchGenerator,
    device: Device,
    /// Values to take instead of drawing (pretrained weights, a saved model), by name.
    preset: Option<HashMap<String, Tensor>>,
    /// Parameters drawn although values were preset: the values lacked them.
    drawn: Vec<String>,
    /// Hand out preset parameters detached from autograd (see [`ParamStore::frozen`]).
    frozen: bool,
}

impl ParamStore {
    /// An empty store whose initial values come from `seed`.
    pub fn new(seed: u64, device: &Device) -> ParamStore {
        ParamStore {
            varmap: VarMap::new(),
            rng: TorchGenerator::new(seed),
            device: device.clone(),
            preset: None,
            drawn: Vec::new(),
            frozen: false,
        }
    }

    /// A store whose parameters take the given `values` by name (pretrained weights, a saved
    /// model), without drawing; a parameter they lack is drawn from `seed` and listed by
    /// [`ParamStore::drawn_without_value`].
    pub fn with_values(seed: u64, device: &Device, values: HashMap<String, Tensor>) -> ParamStore {
        ParamStore {
            preset: Some(values),
            ..ParamStore::new(seed, device)
        }
    }

    /// A store for a model that only forecasts: its parameters take the values of `trained`
    /// (a fitted model's variables, shared, not copied — except the dense weights `Dense` lays
    /// out anew, see [`crate::nn::Dense`]) detached from autograd, so that its forward passes
    /// record no graph and free each intermediate tensor as soon as it is used. The store's
    /// device is theirs (the CPU when there are none).
    pub fn frozen(trained: &VarMap) -> ParamStore {
        let values: HashMap<String, Tensor> = trained
            .data()
            .lock()
            .expect("parameter map lock")
            .iter()
            .map(|(name, var)| (name.clone(), var.as_tensor().clone()))
            .collect();
        let device = values
            .values()
            .next()
            .map_or(Device::Cpu, |t| t.device().clone());
        ParamStore {
            frozen: true,
            ..ParamStore::with_values(0, &device, values)
        }
    }

    /// Whether this store serves a model that only forecasts ([`ParamStore::frozen`]).
    pub(crate) fn is_frozen(&self) -> bool {
        self.frozen
    }

    /// The parameters drawn although values were given (none for [`ParamStore::new`]).
    pub fn drawn_without_value(&self) -> &[String] {
        &self.drawn
    }

    /// The given value of `name`, registered, when there is one; an error when its shape is
    /// not `shape`.
    fn preset(&mut self, name: &str, shape: &[usize]) -> Result<Option<Var>> {
        let Some(value) = self.preset.as_mut().and_then(|values| values.remove(name)) else {
            return Ok(None);
        };
        if value.dims() != shape {
            return Err(Error::Config(format!(
                "the weights' parameter '{name}' has shape {:?}, the model expects {shape:?}",
                value.dims()
            )));
        }
        let var = Var::from_tensor(&value.to_device(&self.device)?)?;
        self.insert(name, var.clone());
        Ok(Some(var))
    }

    /// A parameter of `shape` drawn uniformly from `[-bound, bound)` in row-major order,
    /// registered as `name`.
    pub fn uniform(&mut self, name: &str, shape: &[usize], bound: f64) -> Result<Tensor> {
        if let Some(given) = self.preset(name, shape)? {
            return Ok(self.handed_out(&given));
        }
        let count: usize = shape.iter().product();
        let (from, to) = (-bound as f32, bound as f32);
        let values: Vec<f32> = (0..count).map(|_| self.rng.uniform(from, to)).collect();
        Ok(self.register(name, shape, values)?.as_tensor().clone())
    }

    /// A parameter of `shape` drawn as `scale * torch.rand(shape)` draws it (uniform in
    /// `[0, 1)`, times `scale` in `f32`), registered as `name`.
    pub fn unit_uniform_scaled(
        &mut self,
        name: &str,
        shape: &[usize],
        scale: f64,
    ) -> Result<Tensor> {
        if let Some(given) = self.preset(name, shape)? {
            return Ok(self.handed_out(&given));
        }
        let scale = scale as f32;
        let count: usize = shape.iter().product();
        let values: Vec<f32> = (0..count)
            .map(|_| self.rng.uniform(0.0, 1.0) * scale)
            .collect();
        Ok(self.register(name, shape, values)?.as_tensor().clone())
    }

    /// A parameter of `shape` drawn from the standard normal as `torch.randn(shape)` draws it,
    /// registered as `name`.
    pub fn normal(&mut self, name: &str, shape: &[usize]) -> Result<Tensor> {
        if let Some(given) = self.preset(name, shape)? {
            return Ok(self.handed_out(&given));
        }
        let values = self.rng.normal(shape.iter().product());
        Ok(self.register(name, shape, values)?.as_tensor().clone())
    }

    /// A parameter of `shape` drawn from the normal distribution of mean 0 and deviation `std`,
    /// as `Tensor.normal_(0, std)` draws it (`torch.randn`'s values times `std` in `f32`),
    /// registered as `name`.
    pub fn normal_scaled(&mut self, name: &str, shape: &[usize], std: f64) -> Result<Tensor> {
        if let Some(given) = self.preset(name, shape)? {
            return Ok(self.handed_out(&given));
        }
        let std = std as f32;
        let values = self
            .rng
            .normal(shape.iter().product())
            .into_iter()
            .map(|v| v * std)
            .collect();
        Ok(self.register(name, shape, values)?.as_tensor().clone())
    }

    /// Moves the random stream past `count` uniform draws without keeping them: a PyTorch
    /// layer initialised by its constructor and then again by a second initialiser draws both
    /// times.
    pub fn discard_uniform(&mut self, count: usize) {
        for _ in 0..count {
            self.rng.uniform(0.0, 1.0);
        }
    }

    /// A parameter of `shape` with every value `value` (no random draw), registered as `name`.
    pub fn filled(&mut self, name: &str, shape: &[usize], value: f32) -> Result<Tensor> {
        if let Some(given) = self.preset(name, shape)? {
            return Ok(self.handed_out(&given));
        }
        let count = shape.iter().product();
        Ok(self
            .register(name, shape, vec![value; count])?
            .as_tensor()
            .clone())
    }

    /// A value of `shape` filled with `value` that the model updates itself rather than the
    /// optimiser (batch normalisation's running statistics): saved and restored with the
    /// parameters, never given a gradient. `name` must end in one of [`BUFFER_SUFFIXES`], so
    /// that parameter counts leave it out.
    pub fn buffer(&mut self, name: &str, shape: &[usize], value: f32) -> Result<Var> {
        debug_assert!(is_buffer(name), "buffer name {name} lacks a buffer suffix");
        if let Some(given) = self.preset(name, shape)? {
            return Ok(given);
        }
        let count = shape.iter().product();
        self.register(name, shape, vec![value; count])
    }

    /// A parameter as the model keeps it: the variable's tensor, detached in a frozen store.
    fn handed_out(&self, var: &Var) -> Tensor {
        if self.frozen {
            var.as_tensor().detach()
        } else {
            var.as_tensor().clone()
        }
    }

    fn register(&mut self, name: &str, shape: &[usize], values: Vec<f32>) -> Result<Var> {
        let var = Var::from_tensor(&Tensor::from_vec(values, shape, &self.device)?)?;
        if self.preset.is_some() {
            self.drawn.push(name.to_string());
        }
        self.insert(name, var.clone());
        Ok(var)
    }

    fn insert(&self, name: &str, var: Var) {
        self.varmap
            .data()
            .lock()
            .expect("parameter map lock poisoned")
            .insert(name.to_string(), var);
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
