//! The kernels against each other and against a float64 reference.

use super::*;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
	fn next(&mut self) -> u64 {
		self.0 ^= self.0 >> 12;
		self.0 ^= self.0 << 25;
		self.0 ^= self.0 >> 27;
		self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
	}
	fn f32(&mut self) -> f32 {
		(self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
	}
}

fn f32_to_f16(v: f32) -> u16 {
	// Enough for test scales: normal range, truncating the mantissa.
	let bits = v.to_bits();
	let sign = ((bits >> 16) & 0x8000) as u16;
	let exp = ((bits >> 23) & 0xff) as i32 - 127 + 15;
	let mant = ((bits >> 13) & 0x3ff) as u16;
	if exp <= 0 {
		sign
	} else {
		sign | ((exp as u16) << 10) | mant
	}
}

/// Random GGUF blocks of `format` for an n×k matrix.
fn random_gguf(format: WeightFormat, n: usize, k: usize, rng: &mut Rng) -> Vec<u8> {
	let mut bytes = Vec::new();
	for _ in 0..n * k / BLOCK {
		let d = f32_to_f16(0.001 + rng.f32().abs() * 0.05).to_le_bytes();
		bytes.extend_from_slice(&d);
		match format {
			WeightFormat::Q4_1 => {
				bytes.extend_from_slice(&f32_to_f16(rng.f32() * 0.3).to_le_bytes());
				bytes.extend((0..16).map(|_| rng.next() as u8));
			}
			WeightFormat::Q8_0 => {
				bytes.extend((0..32).map(|_| ((rng.next() % 255) as i16 - 127) as i8 as u8));
			}
		}
	}
	bytes
}

fn random_activations(rows: usize, k: usize, rng: &mut Rng) -> Vec<f32> {
	(0..rows * k)
		.map(|i| rng.f32() * if i % 7 == 0 { 20.0 } else { 1.0 })
		.collect()
}

/// IEEE half from its fields in f64 arithmetic (independent of [`f16_to_f32`]'s bit moves).
fn f16_reference(bits: u16) -> f64 {
	let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
	let exponent = i32::from((bits >> 10) & 0x1f);
	let mantissa = f64::from(bits & 0x3ff);
	match exponent {
		0 => sign * mantissa * 2f64.powi(-24),
		31 if mantissa == 0.0 => sign * f64::INFINITY,
		31 => f64::NAN,
		e => sign * (1.0 + mantissa / 1024.0) * 2f64.powi(e - 15),
	}
}

#[test]
fn every_f16_value_converts_exactly() {
	for bits in 0..=u16::MAX {
		let ours = f16_to_f32(bits);
		let exact = f16_reference(bits);
		if exact.is_nan() {
			assert!(ours.is_nan(), "{bits:#06x}");
		} else {
			assert_eq!(f64::from(ours), exact, "{bits:#06x}");
			assert_eq!(
				ours.is_sign_negative(),
				bits & 0x8000 != 0,
				"{bits:#06x} sign"
			);
		}
	}
}

#[test]
fn f16_conversion_is_exact() {
	assert_eq!(f16_to_f32(0x3c00), 1.0);
	assert_eq!(f16_to_f32(0xc000), -2.0);
	assert_eq!(f16_to_f32(0x7bff), 65504.0);
	assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
	assert_eq!(f16_to_f32(0x8001), -(2f32.powi(-24)));
	assert_eq!(f16_to_f32(0x0000), 0.0);
	assert!(f16_to_f32(0x7e00).is_nan());
	assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
}

#[test]
fn activation_quantization_round_trips_within_half_a_step() {
	let mut rng = Rng(7);
	let x = random_activations(3, 64, &mut rng);
	let q = QuantizedRows::quantize(&x, 64);
	for (b, xs) in x.chunks_exact(BLOCK).enumerate() {
		let amax = xs.iter().fold(0f32, |m, v| m.max(v.abs()));
		assert_eq!(q.d[b], amax / 127.0);
		let sum: i32 = q.q[b * BLOCK..][..BLOCK]
			.iter()
			.map(|&v| i32::from(v))
			.sum();
		assert_eq!(q.sum[b], sum);
		for (j, &v) in xs.iter().enumerate() {
			let back = f32::from(q.q[b * BLOCK + j]) * q.d[b];
			assert!((back - v).abs() <= q.d[b] * 0.5001, "{v} vs {back}");
		}
	}
	let zeros = QuantizedRows::quantize(&[0.0; 32], 32);
	assert!(zeros.q.iter().all(|&v| v == 0) && zeros.d[0] == 0.0);
}

#[test]
fn every_kernel_quantizes_activations_to_the_same_bits() {
	let mut rng = Rng(11);
	let mut x = random_activations(5, 96, &mut rng);
	// Edge cases: a block of zeros, negative zeros, a NaN, ties, the largest magnitude.
	x[..32].fill(0.0);
	x[32..64].fill(-0.0);
	x[70] = f32::NAN;
	x[96..100].copy_from_slice(&[127.0, 0.5, -0.5, 1.5]);
	x[200] = -3.0e38;
	let scalar = QuantizedRows::quantize(&x, 96);
	let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
	for kernel in Kernel::available() {
		let fast = QuantizedRows::quantize_with(kernel, &x, 96);
		assert_eq!(fast.q, scalar.q, "{kernel:?}");
		assert_eq!(fast.sum, scalar.sum, "{kernel:?}");
		assert_eq!(bits(&fast.d), bits(&scalar.d), "{kernel:?}");
		assert_eq!(bits(&fast.s), bits(&scalar.s), "{kernel:?}");
	}
	assert_eq!(&scalar.q[96..100], &[127, 0, 0, 2], "ties to even");
}

/// Row `row` of a GGUF matrix dequantized in f64 straight from the file's blocks (GGML's
/// layout: Q4_1 = d, m (f16), 16 bytes of nibbles, value j < 16 in the low nibble of byte j and
/// j ≥ 16 in the high nibble of byte j - 16, `q · d + m`; Q8_0 = d (f16), 32 i8, `q · d`), not
/// through the crate's repacking or dequantizer.
fn gguf_row(format: WeightFormat, bytes: &[u8], k: usize, row: usize) -> Vec<f64> {
	let (block_bytes, blocks) = match format {
		WeightFormat::Q4_1 => (20, k / BLOCK),
		WeightFormat::Q8_0 => (34, k / BLOCK),
	};
	let half = |b: &[u8]| f16_reference(u16::from_le_bytes([b[0], b[1]]));
	let mut values = Vec::with_capacity(k);
	for b in 0..blocks {
		let block = &bytes[(row * blocks + b) * block_bytes..][..block_bytes];
		let d = half(&block[0..2]);
		for j in 0..BLOCK {
			values.push(match format {
				WeightFormat::Q4_1 => {
					let byte = block[4 + j % 16];
					let q = if j < 16 { byte & 0x0f } else { byte >> 4 };
					f64::from(q) * d + half(&block[2..4])
				}
				WeightFormat::Q8_0 => f64::from(block[2 + j] as i8) * d,
			});
		}
	}
	values
}

/// f64 product of the weights (from the raw GGUF bytes) and the dequantized activations.
fn reference(format: WeightFormat, bytes: &[u8], n: usize, x: &QuantizedRows) -> Vec<f64> {
	let k = x.k();
	let rows: Vec<Vec<f64>> = (0..n).map(|r| gguf_row(format, bytes, k, r)).collect();
	let mut out = Vec::new();
	for t in 0..x.rows() {
		for row in &rows {
			let dot: f64 = (0..k)
				.map(|j| row[j] * f64::from(x.q[t * k + j]) * f64::from(x.d[(t * k + j) / BLOCK]))
				.sum();
			out.push(dot);
		}
	}
	out
}

/// `matmul_groups` output (group-major) back to token-major; checked against
/// `matmul_tokens` over every split of the tokens in two.
fn run(m: &QMatrix, kernel: Kernel, x: &QuantizedRows) -> Vec<f32> {
	let mut grouped = vec![0f32; m.groups() * GROUP * x.rows()];
	m.matmul_groups(kernel, x, 0..m.groups(), &mut grouped);
	let mut out = vec![0f32; m.n() * x.rows()];
	for g in 0..m.groups() {
		for t in 0..x.rows() {
			for r in 0..GROUP.min(m.n() - g * GROUP) {
				out[t * m.n() + g * GROUP + r] = grouped[(g * x.rows() + t) * GROUP + r];
			}
		}
	}
	let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
	for split in 0..=x.rows() {
		let mut direct = vec![f32::NAN; m.n() * x.rows()];
		let (head, tail) = direct.split_at_mut(split * m.n());
		m.matmul_tokens(kernel, x, 0..split, head);
		m.matmul_tokens(kernel, x, split..x.rows(), tail);
		assert_eq!(
			bits(&direct),
			bits(&out),
			"{kernel:?}: tokens split at {split}"
		);
	}
	out
}

#[test]
fn every_kernel_gives_the_scalar_bits_and_the_right_product() {
	let mut rng = Rng(0x5eed);
	let compared = Kernel::available();
	match check_coverage(&compared) {
		Ok(line) => eprintln!("{line}"),
		Err(why) => panic!("{why}"),
	}
	for format in [WeightFormat::Q4_1, WeightFormat::Q8_0] {
		for (n, k, rows) in [
			(16, 32, 1),
			(19, 64, 3),
			(262, 64, 2),
			(32, 576, 1),
			(48, 576, 7),
			(16, 1536, 5),
			(64, 192, 4),
			(32, 64, 9),
			(40, 96, 23),
		] {
			let bytes = random_gguf(format, n, k, &mut rng);
			let m = QMatrix::from_gguf_blocks(format, n, k, &bytes).expect("matrix");
			let x = QuantizedRows::quantize(&random_activations(rows, k, &mut rng), k);
			let scalar = run(&m, Kernel::Scalar, &x);
			let exact = reference(format, &bytes, n, &x);
			assert_eq!(exact.len(), scalar.len());
			for r in 0..n {
				let mut row = vec![0f32; k];
				m.dequantize_row(r, &mut row);
				let raw = gguf_row(format, &bytes, k, r);
				// The embedding lookup: `q · d + m` in f32 (two roundings of values below 1).
				for (ours, raw) in row.iter().zip(&raw) {
					assert!(
						(f64::from(*ours) - raw).abs() <= 2e-7 * (1.0 + raw.abs()),
						"{format:?} row {r}: {ours} vs {raw}"
					);
				}
			}
			for (value, exact) in scalar.iter().zip(exact) {
				let tolerance = 1e-5 * (1.0 + exact.abs()) * (k as f64).sqrt();
				assert!(
					(f64::from(*value) - exact).abs() < tolerance,
					"{format:?} {value} vs {exact}"
				);
			}
			for &kernel in &compared {
				let fast = run(&m, kernel, &x);
				let same = scalar
					.iter()
					.zip(&fast)
					.all(|(a, b)| a.to_bits() == b.to_bits());
				assert!(
					same,
					"{kernel:?} differs from scalar on {format:?} {n}×{k}, {rows} rows"
				);
			}
		}
	}
}

#[test]
fn a_row_gives_the_same_bits_alone_or_in_a_batch() {
	let mut rng = Rng(99);
	let (n, k) = (32, 576);
	let m = QMatrix::from_gguf_blocks(
		WeightFormat::Q4_1,
		n,
		k,
		&random_gguf(WeightFormat::Q4_1, n, k, &mut rng),
	)
	.expect("matrix");
	let x = random_activations(6, k, &mut rng);
	for kernel in Kernel::available() {
		let batch = run(&m, kernel, &QuantizedRows::quantize(&x, k));
		for t in 0..6 {
			let alone = run(&m, kernel, &QuantizedRows::quantize(&x[t * k..][..k], k));
			assert_eq!(alone, batch[t * n..][..n], "{kernel:?} token {t}");
		}
	}
}

#[test]
fn q8_0_refuses_minus_128() {
	let mut bytes = vec![0u8; 16 * 34];
	bytes[2] = 0x80;
	assert!(QMatrix::from_gguf_blocks(WeightFormat::Q8_0, 16, 32, &bytes).is_err());
}
