//! The scalar numerics of SmolLM2's forward pass outside the matrix kernels: sums in a fixed
//! order, `e^x`, RoPE's angles, fused multiply-adds, SiLU, RMS norm. None of them calls the
//! platform's libm: an output bit must not depend on the C library of the machine it ran on.
//! - [`sum16`]: 16 strided partial sums, then a fixed pairwise tree;
//! - [`exp_f32`]: a polynomial in basic f32 operations;
//! - RoPE's inverse frequencies and `sin`/`cos` ([`rope_inverse_frequencies`],
//!   [`rope_sin_cos`]): computed in f64 by the pinned pure-Rust `libm` crate (a port of musl's,
//!   the same code on every machine) and rounded once to f32; a test shows that every value the
//!   engine can use lies far enough from an f32 rounding boundary that the f32 is the correctly
//!   rounded value of the exact function;
//! - fused multiply-adds ([`Fma`]): one IEEE operation, exactly specified, so the instruction
//!   (where the code is compiled for FMA) and the pinned `libm::fmaf` (a baseline x86-64 build,
//!   where `f32::mul_add` would call the C library's `fmaf`) give the same bits.

/// A fused multiply-add `a · b + c` with one rounding: the same bits however it is computed.
pub trait Fma {
	/// `a · b + c`, rounded once.
	fn fma(a: f32, b: f32, c: f32) -> f32;
}

/// The FMA instruction (code compiled with the `fma` target feature, or AArch64).
pub struct FmaInstruction;

impl Fma for FmaInstruction {
	#[inline(always)]
	fn fma(a: f32, b: f32, c: f32) -> f32 {
		a.mul_add(b, c)
	}
}

/// The pinned `libm` crate's `fmaf`, for code compiled without FMA (where `f32::mul_add` would
/// call the C library's `fmaf`): the FMA instruction when the CPU has one (libm checks at run
/// time), else libm's software fma (f64 arithmetic with a correction for double rounding). The
/// same bits either way; the tests compare the software path with the instruction.
pub struct FmaSoftware;

impl Fma for FmaSoftware {
	#[inline(always)]
	fn fma(a: f32, b: f32, c: f32) -> f32 {
		libm::fmaf(a, b, c)
	}
}

/// The FMA of baseline code: the instruction where the baseline has one, else [`FmaSoftware`].
#[cfg(any(
	target_arch = "aarch64",
	all(target_arch = "x86_64", target_feature = "fma")
))]
pub type FmaBaseline = FmaInstruction;
/// The FMA of baseline code: the instruction where the baseline has one, else [`FmaSoftware`].
#[cfg(not(any(
	target_arch = "aarch64",
	all(target_arch = "x86_64", target_feature = "fma")
)))]
pub type FmaBaseline = FmaSoftware;

/// `out = x / sqrt(mean(x²) + eps) · weight`, row by row.
pub(super) fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
	let dim = weight.len();
	for (row, out) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
		let sum = sum16(row, |v| v * v);
		let scale = (sum / dim as f32 + eps).sqrt();
		for ((o, &v), &w) in out.iter_mut().zip(row).zip(weight) {
			*o = (v / scale) * w;
		}
	}
}

/// `x += y`, element-wise.
pub(super) fn add_in_place(x: &mut [f32], y: &[f32]) {
	for (a, &b) in x.iter_mut().zip(y) {
		*a += b;
	}
}

/// Σ f(v) in a fixed order: 16 strided partial sums (lane i takes values i, i+16, ...), then
/// the pairwise tree 8, 4, 2, 1.
#[inline(always)]
pub fn sum16(values: &[f32], f: impl Fn(f32) -> f32) -> f32 {
	let mut lanes = [0f32; 16];
	let mut chunks = values.chunks_exact(16);
	for chunk in &mut chunks {
		for (lane, &v) in lanes.iter_mut().zip(chunk) {
			*lane += f(v);
		}
	}
	for (lane, &v) in lanes.iter_mut().zip(chunks.remainder()) {
		*lane += f(v);
	}
	for width in [8, 4, 2, 1] {
		for i in 0..width {
			lanes[i] += lanes[i + width];
		}
	}
	lanes[0]
}

/// `e^x` from basic f32 operations (Cephes' `expf` polynomial, relative error about 2e-7), the
/// same bits on every machine; inputs are clamped to [-87, 88].
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
	const MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23: adding it rounds to an integer
	let x = x.clamp(-87.0, 88.0);
	let shifted = x * std::f32::consts::LOG2_E + MAGIC;
	let n = shifted - MAGIC;
	let exponent = (shifted.to_bits() as i32).wrapping_sub(0x4b40_0000);
	let r = x - n * 0.693_359_4;
	let r = r - n * -2.121_944_4e-4;
	let mut p = 1.987_569_1e-4f32;
	p = p * r + 1.398_199_9e-3;
	p = p * r + 8.333_452e-3;
	p = p * r + 4.166_579_6e-2;
	p = p * r + 1.666_666_5e-1;
	p = p * r + 0.5; // Cephes' 5.0000001e-1, which rounds to 0.5 in f32
	let e = p * (r * r) + r + 1.0;
	e * f32::from_bits(((exponent + 127) << 23) as u32)
}

/// RoPE's inverse frequencies `1 / base^(2i / head_dim)` for each pair `i`, in f64 by the pinned
/// `libm`, rounded to f32.
pub fn rope_inverse_frequencies(base: f32, head_dim: usize) -> Vec<f32> {
	(0..head_dim / 2)
		.map(|i| (1.0 / libm::pow(f64::from(base), 2.0 * i as f64 / head_dim as f64)) as f32)
		.collect()
}

/// `(sin, cos)` of `position · f` (an f32 product) for each inverse frequency `f`, in f64 by
/// the pinned `libm`, rounded to f32.
pub fn rope_sin_cos(position: usize, inverse_frequencies: &[f32]) -> Vec<(f32, f32)> {
	inverse_frequencies
		.iter()
		.map(|&f| {
			let angle = f64::from(position as f32 * f);
			(libm::sin(angle) as f32, libm::cos(angle) as f32)
		})
		.collect()
}

multiversion! {
	/// `out = silu(gate) · up`, `silu(g) = g / (1 + e^-g)`.
	pub(super) fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
		for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
			*o = (g / (1.0 + exp_f32(-g))) * u;
		}
	}
}

#[cfg(test)]
mod tests {
	use super::{super::kernels::Kernel, *};

	/// Whether every real number within `ulps` f64 ulps of `x` rounds to the same f32 as `x`:
	/// then, if `x` is within `ulps` of the exact value, `x as f32` is the exact value correctly
	/// rounded.
	fn rounds_safely(x: f64, ulps: f64) -> bool {
		let margin = (x.abs() * f64::EPSILON).max(f64::MIN_POSITIVE) * ulps;
		let r = x as f32;
		(x - margin) as f32 == r && (x + margin) as f32 == r
	}

	#[test]
	fn rope_values_are_correctly_rounded_at_every_position_of_the_context() {
		// musl's sin, cos and pow are within 1 ulp; the inverse frequency adds a division.
		// SmolLM2's base (100,000) and llama's usual one, over a context of 8,192 positions.
		let mut unsafe_values = Vec::new();
		for base in [100_000.0f32, 10_000.0] {
			for i in 0..32 {
				let exact = 1.0 / libm::pow(f64::from(base), 2.0 * i as f64 / 64.0);
				if !rounds_safely(exact, 4.0) {
					unsafe_values.push(format!("inv_freq {base} {i}"));
				}
			}
			let inverse = rope_inverse_frequencies(base, 64);
			for position in 0..8192usize {
				for &f in &inverse {
					let angle = f64::from(position as f32 * f);
					for (what, value) in [("sin", libm::sin(angle)), ("cos", libm::cos(angle))] {
						if !rounds_safely(value, 2.0) {
							unsafe_values.push(format!("{what}({angle}) at position {position}"));
						}
					}
				}
			}
			let table = rope_sin_cos(77, &inverse);
			assert_eq!(table.len(), 32);
			assert_eq!(table[0], (libm::sin(77.0) as f32, libm::cos(77.0) as f32));
		}
		assert!(
			unsafe_values.is_empty(),
			"values whose f32 rounding the f64 error could change: {unsafe_values:?}"
		);
	}

	#[test]
	fn software_fma_is_the_fused_instruction_bit_for_bit() {
		if !(cfg!(target_arch = "aarch64")
			|| cfg!(target_arch = "x86_64") && std::arch::is_x86_feature_detected!("fma"))
		{
			eprintln!("this CPU has no FMA instruction: libm::fmaf not compared with it");
			return;
		}
		// Random bit patterns (NaN, infinities and subnormals included), near-cancellations
		// and products in the subnormal range.
		let mut state = 0x9e37_79b9_7f4a_7c15u64;
		let mut next = || {
			state ^= state << 13;
			state ^= state >> 7;
			state ^= state << 17;
			state
		};
		let mut checked = 0;
		for round in 0..2_000_000u32 {
			let bits = next();
			let (a, b) = (
				f32::from_bits(bits as u32),
				f32::from_bits((bits >> 32) as u32),
			);
			let c = match round % 4 {
				0 => f32::from_bits(next() as u32),
				1 => -(a * b),
				2 => f32::from_bits((next() as u32) & 0x807f_ffff),
				_ => -(a * b) * (1.0 + f32::EPSILON),
			};
			let (a, b) = if round % 8 == 5 {
				(a * 1e-20, b * 1e-20)
			} else {
				(a, b)
			};
			let hardware = hardware_fma(a, b, c);
			// libm's software path, which `libm::fmaf` takes on a CPU without FMA.
			let software =
				libm::generic::fma_wide_round(a, b, c, libm::support::Round::Nearest).val;
			assert_eq!(FmaSoftware::fma(a, b, c).to_bits(), hardware.to_bits());
			assert!(
				hardware.to_bits() == software.to_bits() || hardware.is_nan() && software.is_nan(),
				"fma({a:e}, {b:e}, {c:e}): instruction {hardware:e}, libm {software:e}"
			);
			checked += 1;
		}
		assert_eq!(checked, 2_000_000);
	}

	/// The FMA instruction, whatever the baseline.
	fn hardware_fma(a: f32, b: f32, c: f32) -> f32 {
		#[cfg(target_arch = "x86_64")]
		{
			#[target_feature(enable = "fma")]
			fn fused(a: f32, b: f32, c: f32) -> f32 {
				use std::arch::x86_64::*;
				_mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)))
			}
			// SAFETY: the caller checked that the CPU has FMA.
			unsafe { fused(a, b, c) }
		}
		#[cfg(not(target_arch = "x86_64"))]
		FmaInstruction::fma(a, b, c)
	}

	#[test]
	fn exp_is_close_to_libm() {
		let mut worst = 0f64;
		let mut x = -87.0f32;
		while x < 88.0 {
			let ours = f64::from(exp_f32(x));
			let exact = libm::exp(f64::from(x));
			worst = worst.max(((ours - exact) / exact).abs());
			x += 0.0137;
		}
		assert!(worst < 5e-7, "relative error {worst}");
		assert_eq!(exp_f32(0.0), 1.0);
		assert!(exp_f32(-1000.0) < 1e-37 && exp_f32(1000.0) > 1e38);
	}

	#[test]
	fn sum16_is_a_fixed_tree() {
		let values: Vec<f32> = (0..37).map(|i| 1.0 / (i as f32 + 1.0)).collect();
		let mut lanes = [0f32; 16];
		for (i, v) in values.iter().enumerate() {
			lanes[i % 16] += v;
		}
		for width in [8, 4, 2, 1] {
			for i in 0..width {
				lanes[i] += lanes[i + width];
			}
		}
		assert_eq!(sum16(&values, |v| v).to_bits(), lanes[0].to_bits());
	}

	#[test]
	fn silu_gives_the_same_bits_on_every_kernel() {
		let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
		let gate: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.037).collect();
		let up: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.91).sin()).collect();
		let mut scalar = vec![0f32; 1000];
		swiglu(Kernel::Scalar, &gate, &up, &mut scalar);
		for kernel in Kernel::available() {
			let mut act = vec![0f32; 1000];
			swiglu(kernel, &gate, &up, &mut act);
			assert_eq!(bits(&act), bits(&scalar), "SiLU on {kernel:?}");
		}
	}
}
