#!/usr/bin/env python3
"""Reference figures for the optimizer and scheduler tests, from torch.optim (float64).

Prints Rust constants: the parameters after five steps of each optimizer on
f(x) = sum(x^2 sin x) from x = [0.3, -1.7, 2.5, 0.0] (crates/neuro-divergent/src/train/optimizer.rs),
and the learning rates (and momenta) of each schedule step by step
(crates/neuro-divergent/src/train/scheduler.rs).

Usage: ~/.cache/nd-peers/nf-venv/bin/python benches/torch_optimizers.py   (any Python with torch)
"""
import torch

torch.set_default_dtype(torch.float64)
O = torch.optim
S = torch.optim.lr_scheduler
START = [0.3, -1.7, 2.5, 0.0]


def run(cls, lr, steps=5, **kwargs):
    x = torch.tensor(START, requires_grad=True)
    opt = cls([x], lr=lr, **kwargs)
    for _ in range(steps):
        opt.zero_grad()
        (x * x * torch.sin(x)).sum().backward()
        opt.step()
    return [float(v) for v in x.detach()]


def schedule(cls, steps, lr=0.01, optimizer=O.SGD, losses=None, **kwargs):
    """Learning rate (and momentum) in force at each of `steps` optimisation steps."""
    x = torch.zeros(1, requires_grad=True)
    opt = optimizer([x], lr=lr, **({"momentum": 0.9} if optimizer is O.SGD else {}))
    sched = cls(opt, **kwargs)
    rates, momenta = [], []
    for i in range(steps):
        group = opt.param_groups[0]
        rates.append(group["lr"])
        momenta.append(group["betas"][0] if "betas" in group else group["momentum"])
        opt.step()
        sched.step(losses[i]) if losses is not None else sched.step()
    return rates, momenta


def const(name, values):
    body = ", ".join(repr(round(v, 12)) for v in values)
    print(f"    const {name}: [f64; {len(values)}] = [{body}];")


print("    // optimizer.rs")
const("TORCH_ADAM", run(O.Adam, 0.05))
const("TORCH_ADAM_L2", run(O.Adam, 0.05, weight_decay=0.1, betas=(0.8, 0.99), eps=1e-6))
const("TORCH_ADAMW", run(O.AdamW, 0.05))
const("TORCH_ADAMW_HALF", run(O.AdamW, 0.05, weight_decay=0.5))
const("TORCH_SGD", run(O.SGD, 0.05))
const("TORCH_SGD_NESTEROV", run(O.SGD, 0.05, momentum=0.9, nesterov=True, weight_decay=0.01))
const("TORCH_SGD_DAMPENED", run(O.SGD, 0.05, momentum=0.9, dampening=0.3))
const("TORCH_RMSPROP_CENTERED", run(O.RMSprop, 0.01, momentum=0.5, centered=True, weight_decay=0.01))
const("TORCH_RMSPROP", run(O.RMSprop, 0.01))

print("    // scheduler.rs")
const("TORCH_STEP", schedule(S.StepLR, 10, step_size=3, gamma=0.5)[0])
const("TORCH_COSINE", schedule(S.CosineAnnealingLR, 14, T_max=10, eta_min=0.001)[0])
rates, momenta = schedule(S.OneCycleLR, 20, max_lr=0.1, total_steps=20)
const("TORCH_ONECYCLE_LR", rates)
const("TORCH_ONECYCLE_MOMENTUM", momenta)
rates, momenta = schedule(S.OneCycleLR, 20, optimizer=O.Adam, max_lr=0.1, total_steps=20,
                          three_phase=True, anneal_strategy="linear", pct_start=0.25)
const("TORCH_ONECYCLE3_LR", rates)
const("TORCH_ONECYCLE3_BETA1", momenta)
PLATEAU_LOSSES = [5.0, 4.0, 4.0, 3.9999, 4.1, 3.0, 3.1, 3.2, 3.3, 3.0, 3.0, 2.0, 2.5, 2.5, 2.5, 2.5]
const("PLATEAU_LOSSES", PLATEAU_LOSSES)
const("TORCH_PLATEAU", schedule(S.ReduceLROnPlateau, len(PLATEAU_LOSSES), losses=PLATEAU_LOSSES,
                                patience=1, cooldown=1, factor=0.5, min_lr=0.0015)[0])
