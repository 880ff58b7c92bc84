//! The AVX2 and AVX-512 VNNI kernels: one output row per vector lane, the f32 part in the
//! reference's order, so they give the scalar kernel's bits.
//!
//! The kernels index several register arrays (weights, accumulators) by the same chunk or token
//! number; iterators over one of them would hide the others.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;

use super::{
	matrix::{check_lengths, GroupArgs},
	QuantizedRows, WeightFormat, BLOCK, GROUP,
};

/// Runs `body` with `t` bound to each of 0, 1, …, 7 below `T`, written out: the
/// accumulator arrays indexed by `t` then live in registers (a loop over `t` was not
/// unrolled by the compiler for T = 4 and 8, which left the accumulators on the stack).
macro_rules! unrolled {
	($t:ident < $n:ident, $body:block) => {
		unrolled!(@each $t < $n, $body, 0 1 2 3 4 5 6 7)
	};
	(@each $t:ident < $n:ident, $body:block, $($i:literal)*) => {
		$(
			if $i < $n {
				let $t: usize = $i;
				$body
			}
		)*
	};
}

/// Software prefetch distance in bytes (4 blocks ahead).
const PREFETCH_Q4: usize = 4 * 256;
const PREFETCH_Q8: usize = 4 * 512;

/// Tokens computed together against one group's unpacked weights.
const TILE: usize = 4;

pub(super) fn group_avx2(format: WeightFormat, args: GroupArgs<'_>) {
	assert!(
		std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("f16c")
	);
	check_lengths(format, &args);
	let (quants, scales, x, tokens, out, stride) = args;
	let mut t = tokens.start;
	while t < tokens.end {
		let tile = TILE.min(tokens.end - t);
		let o = (t - tokens.start) * stride;
		// SAFETY: AVX2 is present (asserted above); `check_lengths` bounds every read and
		// write the kernel makes for tokens t..t+tile from output offset `o`.
		unsafe {
			match (format, tile) {
				(WeightFormat::Q4_1, 4) => q4_1_avx2::<4>(quants, scales, x, t, out, o, stride),
				(WeightFormat::Q4_1, 3) => q4_1_avx2::<3>(quants, scales, x, t, out, o, stride),
				(WeightFormat::Q4_1, 2) => q4_1_avx2::<2>(quants, scales, x, t, out, o, stride),
				(WeightFormat::Q4_1, _) => q4_1_avx2::<1>(quants, scales, x, t, out, o, stride),
				(WeightFormat::Q8_0, 4) => q8_0_avx2::<4>(quants, scales, x, t, out, o, stride),
				(WeightFormat::Q8_0, 3) => q8_0_avx2::<3>(quants, scales, x, t, out, o, stride),
				(WeightFormat::Q8_0, 2) => q8_0_avx2::<2>(quants, scales, x, t, out, o, stride),
				(WeightFormat::Q8_0, _) => q8_0_avx2::<1>(quants, scales, x, t, out, o, stride),
			}
		}
		t += tile;
	}
}

pub(super) fn group_avx512(format: WeightFormat, args: GroupArgs<'_>) {
	assert!(
		std::arch::is_x86_feature_detected!("avx512f")
			&& std::arch::is_x86_feature_detected!("avx512bw")
			&& std::arch::is_x86_feature_detected!("avx512vnni")
	);
	check_lengths(format, &args);
	let (quants, scales, x, tokens, out, stride) = args;
	let mut t = tokens.start;
	while t < tokens.end {
		let left = tokens.end - t;
		let tile = if left >= 8 {
			8
		} else if left >= 4 {
			4
		} else if left >= 2 {
			2
		} else {
			1
		};
		let o = (t - tokens.start) * stride;
		// SAFETY: AVX-512 F/BW/VNNI are present (asserted above); `check_lengths` bounds
		// every read and write the kernel makes for tokens t..t+tile from output offset `o`.
		unsafe {
			match (format, tile) {
				(WeightFormat::Q4_1, 8) => q4_1_avx512::<8>(quants, scales, x, t, out, o, stride),
				(WeightFormat::Q4_1, 4) => q4_1_avx512::<4>(quants, scales, x, t, out, o, stride),
				(WeightFormat::Q4_1, 2) => q4_1_avx512::<2>(quants, scales, x, t, out, o, stride),
				(WeightFormat::Q4_1, _) => q4_1_avx512::<1>(quants, scales, x, t, out, o, stride),
				(WeightFormat::Q8_0, 8) => q8_0_avx512::<8>(quants, scales, x, t, out, o, stride),
				(WeightFormat::Q8_0, 4) => q8_0_avx512::<4>(quants, scales, x, t, out, o, stride),
				(WeightFormat::Q8_0, 2) => q8_0_avx512::<2>(quants, scales, x, t, out, o, stride),
				(WeightFormat::Q8_0, _) => q8_0_avx512::<1>(quants, scales, x, t, out, o, stride),
			}
		}
		t += tile;
	}
}

/// 4 activation bytes (values j..j+4 of the row) broadcast to every 32-bit lane.
#[inline(always)]
///
/// # Safety
/// `q + j .. q + j + 4` must be readable.
unsafe fn broadcast4(q: *const i8, j: usize) -> i32 {
	// SAFETY: the 4 bytes are readable (this function's contract).
	unsafe { std::ptr::read_unaligned(q.add(j) as *const i32) }
}

/// Q4_1 × Q8 for 16 rows and T tokens from `t0`, AVX2: rows 0..8 and 8..16 as two halves.
///
/// # Safety
/// AVX2 must be present; lengths as checked by `check_lengths`, `t0 + T <= x.rows()`, and
/// `out` holds `o0 + (T - 1) · stride + 16` values.
#[target_feature(enable = "avx2,f16c")]
unsafe fn q4_1_avx2<const T: usize>(
	quants: &[u8],
	scales: &[u16],
	x: &QuantizedRows,
	t0: usize,
	out: &mut [f32],
	o0: usize,
	stride: usize,
) {
	// SAFETY: the caller upholds this function's contract (`# Safety`): the target features are
	// present, and every offset stays inside the slices `check_lengths` checked.
	unsafe {
		const { assert!(T >= 1 && T <= 8, "tiles of 1 to 8 tokens (`unrolled!`)") };
		let blocks = x.blocks_per_row();
		let low = _mm256_set1_epi8(0x0f);
		let ones = _mm256_set1_epi16(1);
		for half in 0..2 {
			let mut acc = [_mm256_setzero_ps(); T];
			for b in 0..blocks {
				let qp = quants.as_ptr().add(b * 256 + half * 32);
				let mut lo = [_mm256_setzero_si256(); 4];
				let mut hi = [_mm256_setzero_si256(); 4];
				for c in 0..4 {
					let v = _mm256_loadu_si256(qp.add(c * 64) as *const __m256i);
					lo[c] = _mm256_and_si256(v, low);
					hi[c] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
				}
				let sp = scales.as_ptr().add(b * 32 + half * 8);
				let dw = _mm256_cvtph_ps(_mm_loadu_si128(sp as *const __m128i));
				let mw = _mm256_cvtph_ps(_mm_loadu_si128(sp.add(GROUP) as *const __m128i));
				unrolled!(t < T, {
					let xb = (t0 + t) * blocks + b;
					let xq = x.q.as_ptr().add(xb * BLOCK);
					// |15 · 127 · 2| · 8 < 2^15: the 16-bit sums cannot overflow.
					let mut p16 = _mm256_setzero_si256();
					for c in 0..4 {
						let xl = _mm256_set1_epi32(broadcast4(xq, 4 * c));
						let xh = _mm256_set1_epi32(broadcast4(xq, 16 + 4 * c));
						p16 = _mm256_add_epi16(p16, _mm256_maddubs_epi16(lo[c], xl));
						p16 = _mm256_add_epi16(p16, _mm256_maddubs_epi16(hi[c], xh));
					}
					let sumi = _mm256_madd_epi16(p16, ones);
					let t1 = _mm256_mul_ps(
						_mm256_mul_ps(_mm256_cvtepi32_ps(sumi), dw),
						_mm256_set1_ps(*x.d.get_unchecked(xb)),
					);
					let t2 = _mm256_mul_ps(mw, _mm256_set1_ps(*x.s.get_unchecked(xb)));
					acc[t] = _mm256_add_ps(acc[t], _mm256_add_ps(t1, t2));
				});
			}
			for (t, acc) in acc.iter().enumerate() {
				_mm256_storeu_ps(out.as_mut_ptr().add(o0 + t * stride + half * 8), *acc);
			}
		}
	}
}

/// Q8_0 × Q8 for 16 rows and T tokens from `t0`, AVX2 (sign trick: |w| · sign(x, w)).
///
/// # Safety
/// As [`q4_1_avx2`]; the weights hold no -128 (checked when repacking).
#[target_feature(enable = "avx2,f16c")]
unsafe fn q8_0_avx2<const T: usize>(
	quants: &[u8],
	scales: &[u16],
	x: &QuantizedRows,
	t0: usize,
	out: &mut [f32],
	o0: usize,
	stride: usize,
) {
	// SAFETY: the caller upholds this function's contract (`# Safety`): the target features are
	// present, and every offset stays inside the slices `check_lengths` checked.
	unsafe {
		const { assert!(T >= 1 && T <= 8, "tiles of 1 to 8 tokens (`unrolled!`)") };
		let blocks = x.blocks_per_row();
		let ones = _mm256_set1_epi16(1);
		for half in 0..2 {
			let mut acc = [_mm256_setzero_ps(); T];
			for b in 0..blocks {
				let qp = quants.as_ptr().add(b * 512 + half * 32);
				let mut w = [_mm256_setzero_si256(); 8];
				let mut wabs = [_mm256_setzero_si256(); 8];
				for c in 0..8 {
					w[c] = _mm256_loadu_si256(qp.add(c * 64) as *const __m256i);
					wabs[c] = _mm256_abs_epi8(w[c]);
				}
				let dw = _mm256_cvtph_ps(_mm_loadu_si128(
					scales.as_ptr().add(b * GROUP + half * 8) as *const __m128i,
				));
				unrolled!(t < T, {
					let xb = (t0 + t) * blocks + b;
					let xq = x.q.as_ptr().add(xb * BLOCK);
					let mut sumi = _mm256_setzero_si256();
					for c in 0..8 {
						let xv = _mm256_sign_epi8(_mm256_set1_epi32(broadcast4(xq, 4 * c)), w[c]);
						// |127 · 127 · 2| < 2^15.
						sumi = _mm256_add_epi32(
							sumi,
							_mm256_madd_epi16(_mm256_maddubs_epi16(wabs[c], xv), ones),
						);
					}
					let t1 = _mm256_mul_ps(
						_mm256_mul_ps(_mm256_cvtepi32_ps(sumi), dw),
						_mm256_set1_ps(*x.d.get_unchecked(xb)),
					);
					acc[t] = _mm256_add_ps(acc[t], t1);
				});
			}
			for (t, acc) in acc.iter().enumerate() {
				_mm256_storeu_ps(out.as_mut_ptr().add(o0 + t * stride + half * 8), *acc);
			}
		}
	}
}

/// Q4_1 × Q8 for 16 rows and T tokens from `t0`, AVX-512 VNNI.
///
/// # Safety
/// AVX-512 F/BW/VNNI must be present; lengths as checked by `check_lengths`,
/// `t0 + T <= x.rows()`, and `out` holds `o0 + (T - 1) · stride + 16` values.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn q4_1_avx512<const T: usize>(
	quants: &[u8],
	scales: &[u16],
	x: &QuantizedRows,
	t0: usize,
	out: &mut [f32],
	o0: usize,
	stride: usize,
) {
	// SAFETY: the caller upholds this function's contract (`# Safety`): the target features are
	// present, and every offset stays inside the slices `check_lengths` checked.
	unsafe {
		const { assert!(T >= 1 && T <= 8, "tiles of 1 to 8 tokens (`unrolled!`)") };
		let blocks = x.blocks_per_row();
		let low = _mm512_set1_epi8(0x0f);
		let mut acc = [_mm512_setzero_ps(); T];
		for b in 0..blocks {
			let qp = quants.as_ptr().add(b * 256);
			// Prefetch hint 4 blocks ahead (addresses past the slice are never dereferenced).
			for line in 0..4 {
				_mm_prefetch::<_MM_HINT_T0>(qp.wrapping_add(PREFETCH_Q4 + line * 64) as *const i8);
			}
			let mut lo = [_mm512_setzero_si512(); 4];
			let mut hi = [_mm512_setzero_si512(); 4];
			for c in 0..4 {
				let v = _mm512_loadu_si512(qp.add(c * 64) as *const _);
				lo[c] = _mm512_and_si512(v, low);
				hi[c] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
			}
			let sp = scales.as_ptr().add(b * 32);
			let dw = _mm512_cvtph_ps(_mm256_loadu_si256(sp as *const __m256i));
			let mw = _mm512_cvtph_ps(_mm256_loadu_si256(sp.add(GROUP) as *const __m256i));
			unrolled!(t < T, {
				let xb = (t0 + t) * blocks + b;
				let xq = x.q.as_ptr().add(xb * BLOCK);
				let mut s0 = _mm512_setzero_si512();
				let mut s1 = _mm512_setzero_si512();
				for c in 0..4 {
					s0 = _mm512_dpbusd_epi32(s0, lo[c], _mm512_set1_epi32(broadcast4(xq, 4 * c)));
					s1 = _mm512_dpbusd_epi32(
						s1,
						hi[c],
						_mm512_set1_epi32(broadcast4(xq, 16 + 4 * c)),
					);
				}
				let sumi = _mm512_add_epi32(s0, s1);
				let t1 = _mm512_mul_ps(
					_mm512_mul_ps(_mm512_cvtepi32_ps(sumi), dw),
					_mm512_set1_ps(*x.d.get_unchecked(xb)),
				);
				let t2 = _mm512_mul_ps(mw, _mm512_set1_ps(*x.s.get_unchecked(xb)));
				acc[t] = _mm512_add_ps(acc[t], _mm512_add_ps(t1, t2));
			});
		}
		for (t, acc) in acc.iter().enumerate() {
			_mm512_storeu_ps(out.as_mut_ptr().add(o0 + t * stride), *acc);
		}
	}
}

/// Q8_0 × Q8 for 16 rows and T tokens from `t0`, AVX-512 VNNI: `vpdpbusd` takes unsigned
/// weights, so it runs on `w + 128` and subtracts `128 · Σx` (exact in i32).
///
/// # Safety
/// As [`q4_1_avx512`].
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn q8_0_avx512<const T: usize>(
	quants: &[u8],
	scales: &[u16],
	x: &QuantizedRows,
	t0: usize,
	out: &mut [f32],
	o0: usize,
	stride: usize,
) {
	// SAFETY: the caller upholds this function's contract (`# Safety`): the target features are
	// present, and every offset stays inside the slices `check_lengths` checked.
	unsafe {
		const { assert!(T >= 1 && T <= 8, "tiles of 1 to 8 tokens (`unrolled!`)") };
		let blocks = x.blocks_per_row();
		let flip = _mm512_set1_epi8(-128);
		let mut acc = [_mm512_setzero_ps(); T];
		for b in 0..blocks {
			let qp = quants.as_ptr().add(b * 512);
			for line in 0..8 {
				_mm_prefetch::<_MM_HINT_T0>(qp.wrapping_add(PREFETCH_Q8 + line * 64) as *const i8);
			}
			let mut w = [_mm512_setzero_si512(); 8];
			for c in 0..8 {
				w[c] = _mm512_xor_si512(_mm512_loadu_si512(qp.add(c * 64) as *const _), flip);
			}
			let dw = _mm512_cvtph_ps(_mm256_loadu_si256(
				scales.as_ptr().add(b * GROUP) as *const __m256i
			));
			unrolled!(t < T, {
				let xb = (t0 + t) * blocks + b;
				let xq = x.q.as_ptr().add(xb * BLOCK);
				let mut s0 = _mm512_set1_epi32(-128 * *x.sum.get_unchecked(xb));
				let mut s1 = _mm512_setzero_si512();
				for c in 0..4 {
					s0 = _mm512_dpbusd_epi32(s0, w[c], _mm512_set1_epi32(broadcast4(xq, 4 * c)));
					s1 = _mm512_dpbusd_epi32(
						s1,
						w[4 + c],
						_mm512_set1_epi32(broadcast4(xq, 16 + 4 * c)),
					);
				}
				let sumi = _mm512_add_epi32(s0, s1);
				let t1 = _mm512_mul_ps(
					_mm512_mul_ps(_mm512_cvtepi32_ps(sumi), dw),
					_mm512_set1_ps(*x.d.get_unchecked(xb)),
				);
				acc[t] = _mm512_add_ps(acc[t], t1);
			});
		}
		for (t, acc) in acc.iter().enumerate() {
			_mm512_storeu_ps(out.as_mut_ptr().add(o0 + t * stride), *acc);
		}
	}
}
