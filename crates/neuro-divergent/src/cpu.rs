//! The processor this runs on and the matrix-multiplication kernels Candle uses on it, so that
//! speed figures from different machines can be read side by side.
//!
//! Candle's CPU matrix products run on the `gemm` crate, which picks its kernels once, at run
//! time, from the CPU's features: AVX-512 kernels where the CPU has AVX-512F and this library was
//! built with its `avx512` feature (the default), AVX2/FMA kernels on other x86-64 CPUs, NEON on
//! 64-bit Arm. [`KernelPath::current`] repeats that choice.

use std::fmt;

/// The family of `gemm` kernels that Candle's CPU matrix products run on in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelPath {
    /// 512-bit AVX-512F kernels.
    Avx512,
    /// 256-bit AVX2 + FMA kernels.
    Avx2Fma,
    /// 128-bit NEON kernels (64-bit Arm).
    Neon,
    /// Portable scalar kernels: no usable vector extension.
    Scalar,
}

impl KernelPath {
    /// The kernels `gemm` runs on this CPU with this build, chosen by the same test `gemm` makes.
    pub fn current() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if cfg!(feature = "avx512") && std::arch::is_x86_feature_detected!("avx512f") {
                KernelPath::Avx512
            } else if std::arch::is_x86_feature_detected!("fma") {
                KernelPath::Avx2Fma
            } else {
                KernelPath::Scalar
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            if std::arch::is_aarch64_feature_detected!("neon") {
                KernelPath::Neon
            } else {
                KernelPath::Scalar
            }
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        {
            KernelPath::Scalar
        }
    }

    /// Short name: `avx512`, `avx2-fma`, `neon` or `scalar`.
    pub fn name(self) -> &'static str {
        match self {
            KernelPath::Avx512 => "avx512",
            KernelPath::Avx2Fma => "avx2-fma",
            KernelPath::Neon => "neon",
            KernelPath::Scalar => "scalar",
        }
    }
}

impl fmt::Display for KernelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether this build can use AVX-512 kernels on CPUs that have them (the `avx512` feature).
pub fn avx512_built() -> bool {
    cfg!(feature = "avx512")
}

/// The CPU's model name as the operating system reports it (Linux `/proc/cpuinfo`: the model
/// name, or on Arm the implementer and part numbers), or `"unknown"`.
pub fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |key: &str| {
        info.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, value)| name.trim() == key && !value.trim().is_empty())
            .map(|(_, value)| value.trim().to_string())
    };
    field("model name")
        .or_else(|| field("Model"))
        .or_else(|| match (field("CPU implementer"), field("CPU part")) {
            (Some(implementer), Some(part)) => {
                Some(format!("Arm implementer {implementer} part {part}"))
            }
            _ => None,
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The vector extensions relevant to the kernels that this CPU has, in a fixed order.
pub fn simd_features() -> Vec<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        [
            ("sse4.2", has!("sse4.2")),
            ("avx", has!("avx")),
            ("avx2", has!("avx2")),
            ("fma", has!("fma")),
            ("avx512f", has!("avx512f")),
            ("avx512bw", has!("avx512bw")),
            ("avx512vl", has!("avx512vl")),
        ]
        .into_iter()
        .filter_map(|(name, present)| present.then_some(name))
        .collect()
    }
    #[cfg(target_arch = "aarch64")]
    {
        [("neon", std::arch::is_aarch64_feature_detected!("neon"))]
            .into_iter()
            .filter_map(|(name, present)| present.then_some(name))
            .collect()
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_path_follows_the_cpu_and_the_build() {
        let path = KernelPath::current();
        let features = simd_features();
        let expected = if features.contains(&"avx512f") && avx512_built() {
            KernelPath::Avx512
        } else if features.contains(&"fma") {
            KernelPath::Avx2Fma
        } else if features.contains(&"neon") {
            KernelPath::Neon
        } else {
            KernelPath::Scalar
        };
        assert_eq!(path, expected, "features {features:?}");
        assert_eq!(path.to_string(), path.name());
    }

    #[test]
    fn the_cpu_model_is_named_on_linux() {
        if std::path::Path::new("/proc/cpuinfo").exists() {
            assert_ne!(cpu_model(), "unknown");
        }
    }
}
