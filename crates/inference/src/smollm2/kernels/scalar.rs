//! The reference kernel: portable Rust, one row and one activation row at a time.

use super::{
	f16_to_f32,
	matrix::{check_lengths, GroupArgs},
	QMatrix, WeightFormat, BLOCK, GROUP,
};

/// The reference: one row and one activation row at a time, in the documented order.
pub(super) fn group(format: WeightFormat, args: GroupArgs<'_>) {
	check_lengths(format, &args);
	let (quants, scales, x, tokens, out, stride) = args;
	let blocks = x.blocks_per_row();
	let (quant_stride, scale_stride) = QMatrix::strides(format);
	for (o, t) in tokens.enumerate() {
		for r in 0..GROUP {
			let mut acc = 0f32;
			for b in 0..blocks {
				let xb = t * blocks + b;
				let xq = &x.q[xb * BLOCK..][..BLOCK];
				let quant = &quants[b * quant_stride..][..quant_stride];
				let scale = &scales[b * scale_stride..][..scale_stride];
				match format {
					WeightFormat::Q4_1 => {
						let mut sumi = 0i32;
						for c in 0..4 {
							for i in 0..4 {
								let byte = quant[c * 64 + r * 4 + i];
								sumi += i32::from(byte & 0x0f) * i32::from(xq[4 * c + i]);
								sumi += i32::from(byte >> 4) * i32::from(xq[16 + 4 * c + i]);
							}
						}
						let t1 = (sumi as f32 * f16_to_f32(scale[r])) * x.d[xb];
						let t2 = f16_to_f32(scale[GROUP + r]) * x.s[xb];
						acc += t1 + t2;
					}
					WeightFormat::Q8_0 => {
						let mut sumi = 0i32;
						for j in 0..BLOCK {
							sumi += i32::from(quant[j / 4 * 64 + r * 4 + j % 4] as i8)
								* i32::from(xq[j]);
						}
						acc += (sumi as f32 * f16_to_f32(scale[r])) * x.d[xb];
					}
				}
			}
			out[o * stride + r] = acc;
		}
	}
}
