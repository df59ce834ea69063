//! `bench`: training throughput with the achieved GEMM-equivalent rate next to a GEMM rate
//! measured in the same run, single-series prediction latency, and peak memory.

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use neuro_divergent::data::{read_frame, TimeSeriesFrame};
use neuro_divergent::nn::RecurrentKernel;
use neuro_divergent::{threads, ComputeDevice, FitOptions, ModelSpec, NeuralForecast, Result};

use crate::args::{BenchArgs, RecurrentKernelArg};

/// Training steps left out of the steady-state rate: the first steps fault in the memory the
/// later ones reuse.
const WARM_UP_STEPS: usize = 4;

/// Runs the benchmark and prints one `key: value` line per figure.
pub fn run(args: &BenchArgs) -> Result<()> {
    let kernel = match args.recurrent_kernel {
        RecurrentKernelArg::Fused => RecurrentKernel::Fused,
        RecurrentKernelArg::Generic => RecurrentKernel::Generic,
    };
    RecurrentKernel::set_default(kernel);
    let frame = read_frame(&args.data, None, None)?;
    let input_size = crate::commands::input_size(&args.model, args.horizon, args.input_size)?;
    let mut spec = ModelSpec::new(&args.model, args.horizon, input_size)?;
    spec.train.max_steps = args.steps;
    spec.train.batch_size = args.batch_size.unwrap_or(spec.train.batch_size);
    spec.train.windows_batch_size = args
        .windows_batch_size
        .unwrap_or(spec.train.windows_batch_size);
    for param in &args.params {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        spec.set_param(key.trim(), value.trim())?;
    }
    let windows = spec.train.windows_batch_size;
    // A multivariate model's window is one row per series.
    let multivariate = spec.multivariate_series();
    let rows_per_step = windows * multivariate.unwrap_or(1);
    let name = spec.display_name().to_string();
    let mut nf = NeuralForecast::new(vec![spec], None)?.with_device(args.device)?;

    // When each step ended, to time the steady state after the warm-up steps.
    let step_ends = std::sync::Mutex::new(Vec::with_capacity(args.steps));
    let record = |_: &neuro_divergent::train::ProgressEvent| {
        step_ends
            .lock()
            .expect("step times lock")
            .push(Instant::now());
    };
    let started = Instant::now();
    nf.fit(&frame, FitOptions::default(), Some(&record))?;
    let fit_seconds = started.elapsed().as_secs_f64();
    let params = nf.parameter_counts()[0];
    let steps_per_second = args.steps as f64 / fit_seconds;
    let steady = steady_rate(&step_ends.into_inner().expect("step times lock"));
    let flop_per_step = nf.specs()[0].training_flops_per_window(params) * rows_per_step as f64;
    // At the steady rate when there is one.
    let achieved = flop_per_step * steady.unwrap_or(steps_per_second) / 1e9;

    // One series alone, for models that forecast series on their own (a multivariate model's
    // one window forecasts every series: that is `predict_all_series_ms`).
    let predict_ms = match multivariate {
        Some(_) => None,
        None => Some(predict_one_series_ms(&nf, &frame)?),
    };
    let all_ms = median_ms(10, || nf.predict(None).map(drop))?;

    println!("model: {name}");
    crate::machine::print();
    println!("parameters: {params}");
    println!("recurrent_kernel: {}", format!("{kernel:?}").to_lowercase());
    println!("windows_per_step: {windows}");
    println!("rows_per_step: {rows_per_step}");
    println!("steps: {}", args.steps);
    println!("fit_seconds: {fit_seconds:.3}");
    println!("steps_per_second: {steps_per_second:.3}");
    if let Some(rate) = steady {
        println!("steady_steps_per_second: {rate:.3}");
    }
    println!("device: {}", nf.device());
    println!("achieved_gflops: {achieved:.1}");
    // The CPU's GEMM rate is the yardstick of CPU runs only.
    let gemm = match nf.device() {
        ComputeDevice::Cpu => Some(gemm_rate()?),
        _ => None,
    };
    if let Some(gemm) = gemm {
        println!("gemm_gflops: {gemm:.1}");
        println!("achieved_over_gemm: {:.3}", achieved / gemm);
    }
    if let Some(ms) = predict_ms {
        println!("predict_one_series_ms: {ms:.3}");
    }
    println!("predict_all_series: {}", frame.series().len());
    // Forecasting every series seen at fit time (`predict(None)`).
    println!("predict_all_series_ms: {all_ms:.3}");
    // The forward pass is a third of a training pass's work (backward takes two passes' worth).
    let forward_flop_per_row = nf.specs()[0].training_flops_per_window(params) / 3.0;
    println!(
        "forward_mflop_per_series: {:.3}",
        forward_flop_per_row / 1e6
    );
    if let Some(gemm) = gemm {
        // Forecasting every series can go no faster than its products at the GEMM rate.
        let limit_ms = frame.series().len() as f64 * forward_flop_per_row / (gemm * 1e9) * 1e3;
        println!("predict_all_series_limit_ms: {limit_ms:.3}");
        println!("predict_all_over_limit: {:.3}", all_ms / limit_ms);
    }
    println!("peak_rss_mb: {:.1}", peak_rss_mb());
    Ok(())
}

/// Mean latency of forecasting the first series of `frame` alone, over 200 calls after one.
fn predict_one_series_ms(nf: &NeuralForecast, frame: &TimeSeriesFrame) -> Result<f64> {
    let one = frame.series()[0].clone();
    let single = neuro_divergent::data::TimeSeriesFrame::from_rows(
        "one series",
        one.ds
            .iter()
            .zip(&one.y)
            .enumerate()
            .map(|(i, (ds, &y))| neuro_divergent::data::Row {
                line: i as u64 + 2,
                id: one.id.clone(),
                ds,
                y,
                extra: Vec::new(),
            })
            .collect(),
        Vec::new(),
        Some(frame.freq()),
    )?;
    nf.predict(Some(&single))?;
    let repeats = 200;
    let started = Instant::now();
    for _ in 0..repeats {
        nf.predict(Some(&single))?;
    }
    Ok(started.elapsed().as_secs_f64() * 1e3 / repeats as f64)
}

/// Steps after the first [`WARM_UP_STEPS`] over the time from the end of the last warm-up step
/// to the end of the last step, as NeuralForecast's speed comparison times its steps
/// (`benches/longhorizon_speed.py`); `None` without at least two steps after the warm-up.
fn steady_rate(step_ends: &[Instant]) -> Option<f64> {
    let timed = step_ends.len().checked_sub(WARM_UP_STEPS)?;
    if timed < 2 {
        return None;
    }
    let (from, to) = (step_ends[WARM_UP_STEPS - 1], step_ends[step_ends.len() - 1]);
    Some(timed as f64 / (to - from).as_secs_f64())
}

/// Median wall time of `repeats` runs of `work`, in milliseconds.
fn median_ms(repeats: usize, mut work: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut times = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let started = Instant::now();
        work()?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[repeats / 2])
}

/// f32 GEMM rate of a 1024x512 by 512x512 product, the shape of a wide layer on a full batch,
/// with every worker multiplying at once (as training runs its chunks): the machine's rate for
/// this work at the configured thread count.
fn gemm_rate() -> Result<f64> {
    let a = Tensor::rand(-1f32, 1f32, (1024, 512), &Device::Cpu)?;
    let b = Tensor::rand(-1f32, 1f32, (512, 512), &Device::Cpu)?.t()?;
    a.matmul(&b)?.to_dtype(DType::F32)?;
    let repeats = 50;
    let started = Instant::now();
    let products = threads::broadcast(|_| -> Result<usize> {
        for _ in 0..repeats {
            a.matmul(&b)?;
        }
        Ok(repeats)
    })
    .into_iter()
    .sum::<Result<usize>>()?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(2.0 * 1024.0 * 512.0 * 512.0 * products as f64 / seconds / 1e9)
}

/// Peak resident memory of this process (Linux `VmHWM`), in MiB; 0 where unavailable.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
