//! The optimizers NeuralForecast users pick with `optimizer` and `optimizer_kwargs` (Adam, its
//! default, AdamW, SGD, RMSprop), each fused into one pass per parameter: the state lives in
//! plain buffers and each parameter is updated in place. candle-nn's optimiser makes about a
//! dozen full-size temporaries per parameter per step, which measured here as a third of an
//! NHITS training step. The fused pass is a CPU kernel: parameters on other devices (CUDA) keep
//! their state there and are updated with Candle's generic ops.

use std::cell::RefCell;

use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, InplaceOp2, Layout, Tensor, Var};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::update_rule::{StepHyper, UpdateRule};
use crate::error::Result;
use crate::nn::kernels;
use crate::threads;

/// An optimizer by its NeuralForecast (PyTorch) class, written in lower case in parameters
/// (`adam`, `adamw`, `sgd`, `rmsprop`; any case is read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum OptimizerName {
    /// `torch.optim.Adam`, NeuralForecast's default.
    #[default]
    Adam,
    /// `torch.optim.AdamW`: Adam with decoupled weight decay.
    AdamW,
    /// `torch.optim.SGD`, with optional (Nesterov) momentum.
    Sgd,
    /// `torch.optim.RMSprop`.
    RmsProp,
}

super::names::word_choices!(OptimizerName, "optimizer", "optimizers", {
    Adam => "adam",
    AdamW => "adamw",
    Sgd => "sgd",
    RmsProp => "rmsprop",
});

/// One optimizer over a fixed set of parameters.
pub(crate) struct Optimizer {
    vars: Vec<Var>,
    states: Vec<State>,
    rule: UpdateRule,
    steps: i32,
    learning_rate: f64,
}

/// One parameter's state buffers: plain buffers updated by the fused CPU op, or tensors on the
/// parameter's device (CUDA), updated with Candle's generic ops.
enum State {
    Host(Vec<Vec<f32>>),
    Device(Vec<Tensor>),
}

impl State {
    /// `count` zero buffers for `var`, where its updates will run.
    fn zeros(var: &Var, count: usize) -> Result<State> {
        Ok(if kernels::fused(var.device()) {
            State::Host(vec![vec![0.0; var.elem_count()]; count])
        } else {
            State::Device(
                (0..count)
                    .map(|_| var.zeros_like())
                    .collect::<candle_core::Result<_>>()?,
            )
        })
    }
}

impl Optimizer {
    /// Prepares zero state for every parameter.
    pub(crate) fn new(vars: Vec<Var>, rule: UpdateRule, learning_rate: f64) -> Result<Optimizer> {
        Ok(Optimizer {
            states: vars
                .iter()
                .map(|v| State::zeros(v, rule.state_buffers()))
                .collect::<Result<_>>()?,
            vars,
            rule,
            steps: 0,
            learning_rate,
        })
    }

    /// Changes the learning rate used by the next steps.
    pub(crate) fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    /// Changes the momentum (Adam's first beta) used by the next steps.
    pub(crate) fn set_momentum(&mut self, momentum: f64) {
        self.rule = self.rule.with_momentum(momentum as f32);
    }

    /// Applies one update from `grads`; parameters without a gradient are left alone. Parameters
    /// in host memory are updated side by side on the chunk workers (`crate::threads`); each
    /// one's update is independent of the others, so the result does not depend on scheduling.
    pub(crate) fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.steps += 1;
        let hyper = StepHyper {
            learning_rate: self.learning_rate as f32,
            step: self.steps,
        };
        let rule = self.rule;
        let mut host = Vec::new();
        for ((var, state), grad) in self
            .vars
            .iter()
            .zip(self.states.iter_mut())
            .filter_map(|(var, s)| Some(((var, s), grads.get(var.as_tensor())?)))
        {
            match state {
                State::Host(buffers) => host.push((var, grad, buffers)),
                State::Device(buffers) => rule.update_device(hyper, var, grad, buffers)?,
            }
        }
        threads::install(|| {
            host.into_par_iter().try_for_each(|(var, grad, buffers)| {
                let update = FusedUpdate {
                    rule,
                    hyper,
                    state: RefCell::new(buffers),
                };
                Ok(var.as_tensor().inplace_op2(&grad.contiguous()?, &update)?)
            })
        })
    }
}

/// One in-place update of one parameter from its gradient.
struct FusedUpdate<'a> {
    rule: UpdateRule,
    hyper: StepHyper,
    state: RefCell<&'a mut Vec<Vec<f32>>>,
}

impl InplaceOp2 for FusedUpdate<'_> {
    fn name(&self) -> &'static str {
        "optimizer-update"
    }

    fn cpu_fwd(
        &self,
        param: &mut CpuStorage,
        param_layout: &Layout,
        grad: &CpuStorage,
        grad_layout: &Layout,
    ) -> candle_core::Result<()> {
        let (CpuStorage::F32(param), CpuStorage::F32(grad)) = (param, grad) else {
            candle_core::bail!("optimizer-update: parameters and gradients must be f32");
        };
        let (Some((p0, p1)), Some((g0, g1))) = (
            param_layout.contiguous_offsets(),
            grad_layout.contiguous_offsets(),
        ) else {
            candle_core::bail!("optimizer-update: parameters and gradients must be contiguous");
        };
        let param = &mut param[p0..p1];
        let grad = &grad[g0..g1];
        let mut state = self.state.borrow_mut();
        if param.len() != grad.len() || state.iter().any(|b| b.len() != param.len()) {
            candle_core::bail!("optimizer-update: size mismatch");
        }
        self.rule.update_host(self.hyper, param, grad, &mut state);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::kwargs::Kwargs;
    use candle_core::{Device, Tensor};

    fn rule(name: &str, kwargs: &str) -> UpdateRule {
        let kwargs: Kwargs = serde_json::from_str(kwargs).unwrap();
        UpdateRule::new(name.parse().unwrap(), &kwargs).unwrap()
    }

    /// Gradients of f(x) = sum(x² sin x), a loss whose gradient changes sign and size.
    fn grads_of(x: &Var) -> GradStore {
        let t = x.as_tensor();
        (t.sqr().unwrap() * t.sin().unwrap())
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap()
    }

    /// Runs `steps` steps of `rule` from `start`, with learning rate `lr`.
    fn run(rule: UpdateRule, lr: f64, start: &[f32], steps: usize) -> Vec<f32> {
        let x = Var::from_tensor(&Tensor::new(start, &Device::Cpu).unwrap()).unwrap();
        let mut optimizer = Optimizer::new(vec![x.clone()], rule, lr).unwrap();
        for _ in 0..steps {
            optimizer.step(&grads_of(&x)).unwrap();
        }
        x.as_tensor().to_vec1().unwrap()
    }

    fn assert_close(got: &[f32], want: &[f64], tolerance: f64, what: &str) {
        for (g, w) in got.iter().zip(want) {
            assert!(
                (f64::from(*g) - w).abs() < tolerance,
                "{what}: {got:?} vs {want:?}"
            );
        }
    }

    /// Two Adam steps on f(x) = sum(x^2) from x = [1, -2] with lr 0.1, against PyTorch's update
    /// rule evaluated in f64: the first step moves each coordinate by lr * sign(g).
    #[test]
    fn matches_pytorch_adam() {
        let x = Var::from_tensor(&Tensor::new(&[1.0f32, -2.0], &Device::Cpu).unwrap()).unwrap();
        let mut adam = Optimizer::new(vec![x.clone()], rule("adam", "{}"), 0.1).unwrap();
        for _ in 0..2 {
            let loss = x.as_tensor().sqr().unwrap().sum_all().unwrap();
            adam.step(&loss.backward().unwrap()).unwrap();
        }
        let got = x.as_tensor().to_vec1::<f32>().unwrap();
        assert_close(&got, &[0.800_412_2, -1.800_166_5], 1e-6, "adam");
    }

    // `benches/torch_optimizers.py`'s output (torch.optim 2.15, float64).
    const TORCH_ADAM: [f64; 4] = [0.072276417764, -1.948745923181, 2.750291629511, 0.0];
    const TORCH_ADAM_L2: [f64; 4] = [0.077711137193, -1.947428590879, 2.754490657637, 0.0];
    const TORCH_ADAMW: [f64; 4] = [0.071861136045, -1.944287970571, 2.743863393534, 0.0];
    const TORCH_ADAMW_HALF: [f64; 4] = [0.052940995391, -1.735571286454, 2.438540050182, 0.0];
    const TORCH_SGD: [f64; 4] = [0.243991795346, -2.209321939621, 4.064283873688, 0.0];
    const TORCH_SGD_NESTEROV: [f64; 4] = [0.135472714149, -2.38341463758, 3.564626226318, 0.0];
    const TORCH_SGD_DAMPENED: [f64; 4] = [0.181180017398, -2.658645564019, 5.065959000052, 0.0];
    const TORCH_RMSPROP_CENTERED: [f64; 4] = [0.001112559578, -2.192616558379, 3.178050961602, 0.0];
    const TORCH_RMSPROP: [f64; 4] = [0.102308205192, -2.003030071536, 2.887806892359, 0.0];

    /// Five steps of each optimizer on f(x) = sum(x² sin x) from x = [0.3, -1.7, 2.5, 0.0],
    /// against `torch.optim` 2.15 run with the same settings (the constants above).
    #[test]
    fn each_optimizer_matches_torch() {
        let start = [0.3f32, -1.7, 2.5, 0.0];
        let cases: [(&str, &str, f64, [f64; 4]); 8] = [
            ("adam", "{}", 0.05, TORCH_ADAM),
            (
                "adam",
                r#"{"weight_decay":0.1,"betas":[0.8,0.99],"eps":1e-6}"#,
                0.05,
                TORCH_ADAM_L2,
            ),
            ("adamw", "{}", 0.05, TORCH_ADAMW),
            ("adamw", r#"{"weight_decay":0.5}"#, 0.05, TORCH_ADAMW_HALF),
            ("sgd", "{}", 0.05, TORCH_SGD),
            (
                "sgd",
                r#"{"momentum":0.9,"nesterov":true,"weight_decay":0.01}"#,
                0.05,
                TORCH_SGD_NESTEROV,
            ),
            (
                "sgd",
                r#"{"momentum":0.9,"dampening":0.3}"#,
                0.05,
                TORCH_SGD_DAMPENED,
            ),
            (
                "rmsprop",
                r#"{"momentum":0.5,"centered":true,"weight_decay":0.01}"#,
                0.01,
                TORCH_RMSPROP_CENTERED,
            ),
        ];
        for (name, kwargs, lr, want) in cases {
            let got = run(rule(name, kwargs), lr, &start, 5);
            assert_close(&got, &want, 2e-5, &format!("{name} {kwargs}"));
        }
        let plain = run(rule("rmsprop", "{}"), 0.01, &start, 5);
        assert_close(&plain, &TORCH_RMSPROP, 2e-5, "rmsprop");
    }

    /// Parameters on another device follow the fused update step for step, for every rule.
    #[test]
    fn device_updates_match_the_fused_ones() {
        let start = Tensor::new(&[0.3f32, -1.7, 2.5, 0.0], &Device::Cpu).unwrap();
        let rules = [
            rule("adam", r#"{"weight_decay":0.1}"#),
            rule("adamw", "{}"),
            rule(
                "sgd",
                r#"{"momentum":0.9,"nesterov":true,"weight_decay":0.01}"#,
            ),
            rule("sgd", "{}"),
            rule("rmsprop", r#"{"momentum":0.5,"centered":true}"#),
            rule("rmsprop", "{}"),
        ];
        for rule in rules {
            let (fused, generic) = (
                Var::from_tensor(&start).unwrap(),
                Var::from_tensor(&start).unwrap(),
            );
            let mut fused_opt = Optimizer::new(vec![fused.clone()], rule, 0.05).unwrap();
            let mut generic_opt =
                kernels::with_generic_ops(|| Optimizer::new(vec![generic.clone()], rule, 0.05))
                    .unwrap();
            assert!(matches!(generic_opt.states[0], State::Device(_)));
            for _ in 0..5 {
                fused_opt.step(&grads_of(&fused)).unwrap();
                generic_opt.step(&grads_of(&generic)).unwrap();
            }
            let (a, b) = (
                fused.as_tensor().to_vec1::<f32>().unwrap(),
                generic.as_tensor().to_vec1::<f32>().unwrap(),
            );
            assert!(
                a != start.to_vec1::<f32>().unwrap(),
                "{rule:?} moved nothing"
            );
            for (p, q) in a.iter().zip(&b) {
                assert!((p - q).abs() < 1e-6, "{rule:?}: {a:?} vs {b:?}");
            }
        }
    }

    /// A one-cycle schedule's momentum reaches the rule: SGD with momentum set to 0 after the
    /// first step moves like plain SGD from then on.
    #[test]
    fn momentum_can_change_between_steps() {
        let start = [0.3f32, -1.7, 2.5, 0.0];
        let x = Var::from_tensor(&Tensor::new(&start[..], &Device::Cpu).unwrap()).unwrap();
        let mut optimizer =
            Optimizer::new(vec![x.clone()], rule("sgd", r#"{"momentum":0.9}"#), 0.05).unwrap();
        optimizer.step(&grads_of(&x)).unwrap();
        optimizer.set_momentum(0.0);
        let before = x.as_tensor().to_vec1::<f32>().unwrap();
        let grads = grads_of(&x);
        let g = grads.get(x.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
        optimizer.step(&grads).unwrap();
        let after = x.as_tensor().to_vec1::<f32>().unwrap();
        for ((a, b), g) in after.iter().zip(&before).zip(&g) {
            assert!((a - (b - 0.05 * g)).abs() < 1e-7);
        }
    }

    #[test]
    fn names_parse_in_any_case_and_unknown_ones_are_listed() {
        assert_eq!(
            "AdamW".parse::<OptimizerName>().unwrap(),
            OptimizerName::AdamW
        );
        assert_eq!("SGD".parse::<OptimizerName>().unwrap(), OptimizerName::Sgd);
        assert_eq!(
            "RMSprop".parse::<OptimizerName>().unwrap(),
            OptimizerName::RmsProp
        );
        let message = "lion".parse::<OptimizerName>().unwrap_err().to_string();
        assert!(
            message.contains(
                "unknown optimizer 'lion': available optimizers are adam, adamw, sgd, rmsprop"
            ),
            "{message}"
        );
        let kwargs: Kwargs = serde_json::from_str(r#"{"nesterov":true}"#).unwrap();
        let nesterov = UpdateRule::new(OptimizerName::Sgd, &kwargs)
            .unwrap_err()
            .to_string();
        assert!(
            nesterov.contains("nesterov needs a momentum above 0"),
            "{nesterov}"
        );
        // PyTorch's switches at their defaults are accepted; those that change the update are
        // refused when on.
        let kwargs: Kwargs =
            serde_json::from_str(r#"{"amsgrad":false,"foreach":true,"fused":null}"#).unwrap();
        assert!(UpdateRule::new(OptimizerName::AdamW, &kwargs).is_ok());
        let kwargs: Kwargs = serde_json::from_str(r#"{"amsgrad":true}"#).unwrap();
        let amsgrad = UpdateRule::new(OptimizerName::Adam, &kwargs)
            .unwrap_err()
            .to_string();
        assert!(
            amsgrad.contains("amsgrad=true is not supported"),
            "{amsgrad}"
        );
        let kwargs: Kwargs = serde_json::from_str(r#"{"maximize":true}"#).unwrap();
        let maximize = UpdateRule::new(OptimizerName::RmsProp, &kwargs)
            .unwrap_err()
            .to_string();
        assert!(
            maximize.contains("maximize=true is not supported"),
            "{maximize}"
        );
        let kwargs: Kwargs = serde_json::from_str(r#"{"betas":[0.9,1.0]}"#).unwrap();
        let betas = UpdateRule::new(OptimizerName::Adam, &kwargs)
            .unwrap_err()
            .to_string();
        assert!(betas.contains("betas[1] must be between 0 and"), "{betas}");
    }
}
