//! Quantized matrix kernels for SmolLM2's linear layers, with one fixed summation order.
//!
//! Weights stay in the GGUF's 4-bit (Q4_1) and 8-bit (Q8_0) blocks of 32 values; activations are
//! quantized to 8 bits per block of 32 ([`QuantizedRows`]). Every output value is
//!
//! ```text
//! acc = 0
//! for each block b, in order:
//!     sumi = Σ w_q[j] · x_q[j]                 (exact, in i32)
//!     Q4_1: acc = acc + ((sumi · d_w) · d_x + m_w · s_x)
//!     Q8_0: acc = acc + (sumi · d_w) · d_x
//! ```
//!
//! with each `·` and `+` one IEEE f32 operation (no FMA). The integer part is exact whatever the
//! instruction set, and the SIMD paths run the f32 part with one output row per vector lane, so
//! the scalar, AVX2 and AVX-512 VNNI paths give the same bits (tests below check it on random
//! data). The kernel that runs therefore does not change a result: a worker with AVX2 only
//! reproduces a worker with AVX-512.
//!
//! Weights are repacked at load time into groups of [`GROUP`] rows, so that one SIMD lane holds
//! one row: for each block, 4-byte runs of every row sit side by side, and one broadcast of 4
//! activation bytes multiplies all 16 rows at once (`vpdpbusd` / `vpmaddubsw`).

mod activations;
mod matrix;
mod scalar;
#[cfg(test)]
mod tests;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use activations::{QuantizedPiece, QuantizedRows};
pub use matrix::{QMatrix, WeightFormat};

/// Values per quantization block (Q4_1, Q8_0 and the activations).
pub const BLOCK: usize = 32;
/// Rows per repacked group: one AVX-512 register of f32, two AVX2 registers.
pub const GROUP: usize = 16;

/// The instruction set the matrix kernels use. Every kernel gives the same bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
	/// Portable Rust.
	Scalar,
	/// x86-64 AVX2 with F16C and FMA (`vpmaddubsw`).
	Avx2,
	/// x86-64 AVX-512 F/BW with VNNI (`vpdpbusd`).
	Avx512Vnni,
}

impl Kernel {
	/// The fastest kernel this CPU runs; `VERITY_KERNEL=scalar|avx2|avx512vnni` picks one (a
	/// kernel the CPU lacks falls back to the best it has).
	pub fn detect() -> Self {
		let best = Self::best_available();
		match std::env::var("VERITY_KERNEL").ok().as_deref() {
			Some("scalar") => Self::Scalar,
			Some("avx2") if best != Self::Scalar => Self::Avx2,
			_ => best,
		}
	}

	/// The fastest kernel this CPU runs.
	pub fn best_available() -> Self {
		#[cfg(target_arch = "x86_64")]
		{
			if std::arch::is_x86_feature_detected!("avx512f")
				&& std::arch::is_x86_feature_detected!("avx512bw")
				&& std::arch::is_x86_feature_detected!("avx512vnni")
				&& std::arch::is_x86_feature_detected!("fma")
			{
				return Self::Avx512Vnni;
			}
			if std::arch::is_x86_feature_detected!("avx2")
				&& std::arch::is_x86_feature_detected!("f16c")
				&& std::arch::is_x86_feature_detected!("fma")
			{
				return Self::Avx2;
			}
		}
		Self::Scalar
	}

	/// Every kernel this CPU can run (for tests).
	pub fn available() -> Vec<Self> {
		let mut kernels = vec![Self::Scalar];
		let best = Self::best_available();
		if best != Self::Scalar {
			kernels.push(Self::Avx2);
		}
		if best == Self::Avx512Vnni {
			kernels.push(Self::Avx512Vnni);
		}
		kernels
	}

	/// The kernel's name.
	pub fn name(self) -> &'static str {
		match self {
			Self::Scalar => "scalar",
			Self::Avx2 => "avx2",
			Self::Avx512Vnni => "avx512vnni",
		}
	}
}

/// Checks a test's coverage: `compared` are the kernels whose bits it compared. An error if this
/// CPU offers AVX2 (with F16C and FMA) or AVX-512 VNNI (with F and BW) and that kernel is not
/// among them (the genesis reference outputs were computed on AVX-512 VNNI, so a machine that
/// has it must compare it); otherwise a line for the test's output naming the kernels compared
/// and those this CPU lacks.
pub fn check_coverage(compared: &[Kernel]) -> std::result::Result<String, String> {
	let mut offered = vec![Kernel::Scalar];
	#[cfg(target_arch = "x86_64")]
	{
		use std::arch::is_x86_feature_detected as has;
		if has!("avx2") && has!("f16c") && has!("fma") {
			offered.push(Kernel::Avx2);
		}
		if has!("avx512f") && has!("avx512bw") && has!("avx512vnni") && has!("fma") {
			offered.push(Kernel::Avx512Vnni);
		}
	}
	let missing: Vec<&str> = offered
		.iter()
		.filter(|k| !compared.contains(k))
		.map(|k| k.name())
		.collect();
	if !missing.is_empty() {
		return Err(format!(
			"this CPU offers the {missing:?} kernels and they were not compared"
		));
	}
	let lacking: Vec<&str> = [Kernel::Avx2, Kernel::Avx512Vnni]
		.iter()
		.filter(|k| !offered.contains(k))
		.map(|k| k.name())
		.collect();
	let names: Vec<&str> = compared.iter().map(|k| k.name()).collect();
	Ok(if lacking.is_empty() {
		format!("kernels compared: {names:?} (every kernel)")
	} else {
		format!(
			"kernels compared: {names:?}; this CPU lacks {lacking:?}, which were NOT compared here"
		)
	})
}

/// IEEE half to f32 (exact).
pub fn f16_to_f32(bits: u16) -> f32 {
	let sign = u32::from(bits >> 15) << 31;
	let exponent = u32::from((bits >> 10) & 0x1f);
	let mantissa = u32::from(bits & 0x3ff);
	let magnitude = match (exponent, mantissa) {
		(0, 0) => 0,
		(0, m) => {
			// Subnormal: m · 2^-24, exact in f32.
			let value = m as f32 * f32::from_bits(0x3380_0000);
			return if sign == 0 { value } else { -value };
		}
		(0x1f, m) => 0x7f80_0000 | (m << 13),
		(e, m) => ((e + 112) << 23) | (m << 13),
	};
	f32::from_bits(sign | magnitude)
}
