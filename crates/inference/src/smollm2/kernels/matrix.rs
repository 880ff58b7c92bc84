//! Weight matrices repacked from GGUF blocks into groups of 16 rows, and the products that
//! dispatch to a kernel.

#[cfg(target_arch = "x86_64")]
use super::x86;
use super::{f16_to_f32, scalar, Kernel, QuantizedRows, BLOCK, GROUP};
use crate::{Error, Result};

/// The two weight formats of SmolLM2's GGUF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightFormat {
	/// 4-bit with a scale and a minimum per block (20 bytes a block in GGUF).
	Q4_1,
	/// 8-bit with a scale per block (34 bytes a block in GGUF).
	Q8_0,
}

/// A weight matrix of `n` rows × `k` columns, repacked in groups of [`GROUP`] rows.
#[derive(Clone, Debug)]
pub struct QMatrix {
	format: WeightFormat,
	n: usize,
	k: usize,
	/// Q4_1: per (group, block) 256 bytes; chunk c (0..4) holds for each row r the 4 bytes
	/// `qs[4c..4c+4]` (low nibbles: values 4c.., high nibbles: values 16+4c..).
	/// Q8_0: per (group, block) 512 bytes; chunk c (0..8) holds for each row the 4 values 4c...
	quants: Vec<u8>,
	/// Per (group, block): Q4_1 `d[16], m[16]`; Q8_0 `d[16]`, as f16 bits (converted exactly).
	scales: Vec<u16>,
}

impl QMatrix {
	/// Repacks GGUF blocks (`n` rows of `k` values, row-major, `k % 32 == 0`); the last group is
	/// padded with zero rows.
	pub fn from_gguf_blocks(
		format: WeightFormat,
		n: usize,
		k: usize,
		bytes: &[u8],
	) -> Result<Self> {
		if !k.is_multiple_of(BLOCK) || n == 0 {
			return Err(Error::UnsupportedModel(format!(
				"a {n}×{k} matrix (columns must be a multiple of {BLOCK})"
			)));
		}
		let blocks = k / BLOCK;
		let block_bytes = match format {
			WeightFormat::Q4_1 => 20,
			WeightFormat::Q8_0 => 34,
		};
		if bytes.len() != n * blocks * block_bytes {
			return Err(Error::UnsupportedModel(format!(
				"a {n}×{k} {format:?} matrix of {} bytes",
				bytes.len()
			)));
		}
		let groups = n.div_ceil(GROUP);
		let (quant_stride, scale_stride) = Self::strides(format);
		let mut quants = vec![0u8; groups * blocks * quant_stride];
		let mut scales = vec![0u16; groups * blocks * scale_stride];
		let half = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]);
		for row in 0..n {
			let (g, r) = (row / GROUP, row % GROUP);
			for b in 0..blocks {
				let src = &bytes[(row * blocks + b) * block_bytes..][..block_bytes];
				let gb = g * blocks + b;
				let quant = &mut quants[gb * quant_stride..][..quant_stride];
				let scale = &mut scales[gb * scale_stride..][..scale_stride];
				match format {
					WeightFormat::Q4_1 => {
						scale[r] = half(src, 0);
						scale[GROUP + r] = half(src, 2);
						for c in 0..4 {
							quant[c * 64 + r * 4..][..4].copy_from_slice(&src[4 + c * 4..][..4]);
						}
					}
					WeightFormat::Q8_0 => {
						scale[r] = half(src, 0);
						if src[2..].contains(&0x80) {
							// -128 would overflow the AVX2 sign trick; GGUF quantizers never write it.
							return Err(Error::UnsupportedModel(
								"a Q8_0 block with the value -128".into(),
							));
						}
						for c in 0..8 {
							quant[c * 64 + r * 4..][..4].copy_from_slice(&src[2 + c * 4..][..4]);
						}
					}
				}
			}
		}
		Ok(Self {
			format,
			n,
			k,
			quants,
			scales,
		})
	}

	/// Bytes of quantized values and scales per (group, block).
	pub(super) fn strides(format: WeightFormat) -> (usize, usize) {
		match format {
			WeightFormat::Q4_1 => (256, 2 * GROUP),
			WeightFormat::Q8_0 => (512, GROUP),
		}
	}

	/// Rows (outputs).
	pub fn n(&self) -> usize {
		self.n
	}

	/// Columns (inputs).
	pub fn k(&self) -> usize {
		self.k
	}

	/// Groups of [`GROUP`] rows (the last one padded with zero rows).
	pub fn groups(&self) -> usize {
		self.n.div_ceil(GROUP)
	}

	/// The weight format.
	pub fn format(&self) -> WeightFormat {
		self.format
	}

	/// Row `row` as f32 values (`d · q`, plus `m` for Q4_1): the embedding lookup.
	pub fn dequantize_row(&self, row: usize, out: &mut [f32]) {
		let blocks = self.k / BLOCK;
		let (g, r) = (row / GROUP, row % GROUP);
		let (quant_stride, scale_stride) = Self::strides(self.format);
		for b in 0..blocks {
			let gb = g * blocks + b;
			let quant = &self.quants[gb * quant_stride..][..quant_stride];
			let scale = &self.scales[gb * scale_stride..][..scale_stride];
			let out = &mut out[b * BLOCK..][..BLOCK];
			for j in 0..BLOCK {
				out[j] = match self.format {
					WeightFormat::Q4_1 => {
						let byte = quant[(j % 16) / 4 * 64 + r * 4 + j % 4];
						let q = if j < 16 { byte & 0x0f } else { byte >> 4 };
						f32::from(q) * f16_to_f32(scale[r]) + f16_to_f32(scale[GROUP + r])
					}
					WeightFormat::Q8_0 => {
						f32::from(quant[j / 4 * 64 + r * 4 + j % 4] as i8) * f16_to_f32(scale[r])
					}
				};
			}
		}
	}

	/// Computes groups `groups` for every row of `x`: `out[(g - groups.start) · rows · 16 +
	/// t · 16 + r] = row (16g + r) · x_t` (0 for padding rows).
	pub fn matmul_groups(
		&self,
		kernel: Kernel,
		x: &QuantizedRows,
		groups: std::ops::Range<usize>,
		out: &mut [f32],
	) {
		assert_eq!(x.k(), self.k, "activations of the matrix's width");
		assert!(groups.end <= self.groups());
		assert_eq!(out.len(), groups.len() * x.rows() * GROUP);
		for (g, out) in groups.zip(out.chunks_exact_mut(x.rows() * GROUP)) {
			self.group(kernel, x, 0..x.rows(), g, out, GROUP);
		}
	}

	/// Computes every row for the activation rows `tokens`, token-major:
	/// `out[(t - tokens.start) · n + j] = row j · x_t`. The values are those of
	/// [`Self::matmul_groups`], bit for bit.
	pub fn matmul_tokens(
		&self,
		kernel: Kernel,
		x: &QuantizedRows,
		tokens: std::ops::Range<usize>,
		out: &mut [f32],
	) {
		assert_eq!(x.k(), self.k, "activations of the matrix's width");
		assert!(tokens.end <= x.rows());
		assert_eq!(out.len(), tokens.len() * self.n);
		if tokens.is_empty() {
			return;
		}
		let full = self.n / GROUP;
		for g in 0..full {
			self.group(kernel, x, tokens.clone(), g, &mut out[g * GROUP..], self.n);
		}
		if full < self.groups() {
			// The padded last group: through a buffer, then its real rows only.
			let width = self.n - full * GROUP;
			let mut last = vec![0f32; tokens.len() * GROUP];
			self.group(kernel, x, tokens.clone(), full, &mut last, GROUP);
			for (t, values) in last.chunks_exact(GROUP).enumerate() {
				out[t * self.n + full * GROUP..][..width].copy_from_slice(&values[..width]);
			}
		}
	}

	/// Group `g` for the activation rows `tokens`: row `r` of the group for token `t` goes
	/// to `out[(t - tokens.start) · stride + r]`.
	fn group(
		&self,
		kernel: Kernel,
		x: &QuantizedRows,
		tokens: std::ops::Range<usize>,
		g: usize,
		out: &mut [f32],
		stride: usize,
	) {
		let blocks = self.k / BLOCK;
		let (quant_stride, scale_stride) = Self::strides(self.format);
		let quants = &self.quants[g * blocks * quant_stride..][..blocks * quant_stride];
		let scales = &self.scales[g * blocks * scale_stride..][..blocks * scale_stride];
		let args = (quants, scales, x, tokens, out, stride);
		match kernel {
			Kernel::Scalar => scalar::group(self.format, args),
			#[cfg(target_arch = "x86_64")]
			Kernel::Avx2 => x86::group_avx2(self.format, args),
			#[cfg(target_arch = "x86_64")]
			Kernel::Avx512Vnni => x86::group_avx512(self.format, args),
			#[cfg(not(target_arch = "x86_64"))]
			_ => scalar::group(self.format, args),
		}
	}
}

/// What a group kernel works on: the group's weights and scales, the activations, the tokens
/// (activation rows), the output and its stride between tokens.
pub(super) type GroupArgs<'a> = (
	&'a [u8],
	&'a [u16],
	&'a QuantizedRows,
	std::ops::Range<usize>,
	&'a mut [f32],
	usize,
);

/// Checks every length a group kernel relies on.
pub(super) fn check_lengths(format: WeightFormat, args: &GroupArgs<'_>) {
	let (quants, scales, x, tokens, out, stride) = args;
	let blocks = x.blocks_per_row();
	let (quant_stride, scale_stride) = QMatrix::strides(format);
	assert_eq!(quants.len(), blocks * quant_stride);
	assert_eq!(scales.len(), blocks * scale_stride);
	assert_eq!(x.q.len(), x.rows() * x.k());
	assert!(
		x.d.len() >= x.rows() * blocks
			&& x.s.len() >= x.rows() * blocks
			&& x.sum.len() >= x.rows() * blocks
	);
	assert!(tokens.end <= x.rows() && *stride >= GROUP);
	if !tokens.is_empty() {
		assert!(out.len() >= (tokens.len() - 1) * stride + GROUP);
	}
}
