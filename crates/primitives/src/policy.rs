//! Verification policy: when a recomputed output confirms a claimed one.
//!
//! Each registered model carries a [`VerificationPolicy`]. The worker's claim and a verifier's
//! recomputation are compared by one function, [`check`], used by the off-chain verifier and the
//! chain alike, so both sides apply the same rule.
//!
//! - Generation outputs are always compared exactly: token ids (and the text decoded from them)
//!   must be equal. A token id is a choice, not a measurement; there is nothing to tolerate.
//! - Embedding outputs are compared bit for bit under [`VerificationPolicy::Exact`], and value by
//!   value under [`VerificationPolicy::Tolerance`]: same number of vectors, same dimensions, and
//!   every `|claimed - recomputed| <= max_abs_diff_ppm / 1_000_000`.
//!
//! The bound is an integer (parts per million) so that on-chain values hold no floats. The
//! comparison widens both `f32` values exactly to `f64` and does one IEEE-754 subtraction and one
//! comparison: correctly rounded, deterministic on every platform (WebAssembly included), and
//! non-finite values never reach it because canonical embeddings refuse them.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

use crate::job::{Embedding, JobOutput};

/// How a model's outputs are verified by re-execution.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	serde::Serialize,
	serde::Deserialize,
)]
pub enum VerificationPolicy {
	/// The recomputed output must be identical (same SCALE encoding, so the same hash).
	Exact,
	/// Embeddings may differ by at most `max_abs_diff_ppm` millionths in every value; generation
	/// outputs are still compared exactly.
	Tolerance {
		/// The largest allowed absolute difference of one value, in millionths (1 = 1e-6).
		max_abs_diff_ppm: u32,
	},
}

/// Why a recomputed output does not confirm the claimed one.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum Mismatch {
	/// One output is a generation, the other an embedding.
	KindDiffers,
	/// The generated token ids differ; `position` is the first index where they do (or the length
	/// of the shorter list).
	TokensDiffer {
		/// The first differing position.
		position: u32,
	},
	/// The token ids are equal but the decoded texts are not.
	TextDiffers,
	/// The outputs hold different numbers of embeddings.
	EmbeddingCountDiffers,
	/// Embedding `index` has a different number of dimensions.
	DimensionDiffers {
		/// The index of the embedding.
		index: u32,
	},
	/// Embedding `index` differs at dimension `dim` by more than the policy allows (or at all,
	/// under [`VerificationPolicy::Exact`]).
	ValueDiffers {
		/// The index of the embedding.
		index: u32,
		/// The first dimension out of bounds.
		dim: u32,
	},
}

/// Checks a recomputed output against a claimed one under `policy`. `Ok(())` confirms the claim.
pub fn check(
	policy: VerificationPolicy,
	claimed: &JobOutput,
	recomputed: &JobOutput,
) -> Result<(), Mismatch> {
	match (claimed, recomputed) {
		(
			JobOutput::Generated {
				token_ids: claimed_ids,
				text: claimed_text,
			},
			JobOutput::Generated {
				token_ids: recomputed_ids,
				text: recomputed_text,
			},
		) => {
			if let Some(position) = first_difference(claimed_ids, recomputed_ids) {
				return Err(Mismatch::TokensDiffer {
					position: saturating_u32(position),
				});
			}
			if claimed_text != recomputed_text {
				return Err(Mismatch::TextDiffers);
			}
			Ok(())
		}
		(
			JobOutput::Embedded {
				embeddings: claimed,
			},
			JobOutput::Embedded {
				embeddings: recomputed,
			},
		) => {
			if claimed.len() != recomputed.len() {
				return Err(Mismatch::EmbeddingCountDiffers);
			}
			for (index, (a, b)) in claimed.iter().zip(recomputed.iter()).enumerate() {
				check_embedding(policy, saturating_u32(index), a, b)?;
			}
			Ok(())
		}
		_ => Err(Mismatch::KindDiffers),
	}
}

fn check_embedding(
	policy: VerificationPolicy,
	index: u32,
	claimed: &Embedding,
	recomputed: &Embedding,
) -> Result<(), Mismatch> {
	if claimed.dim() != recomputed.dim() {
		return Err(Mismatch::DimensionDiffers { index });
	}
	let pairs = claimed.bits().iter().zip(recomputed.bits().iter());
	for (dim, (a, b)) in pairs.enumerate() {
		let within = match policy {
			VerificationPolicy::Exact => a == b,
			VerificationPolicy::Tolerance { max_abs_diff_ppm } => {
				let diff = f64::from(f32::from_bits(*a)) - f64::from(f32::from_bits(*b));
				// Not `diff.abs()`: that is not in `core` for every toolchain this crate supports.
				let diff = if diff < 0.0 { -diff } else { diff };
				diff <= f64::from(max_abs_diff_ppm) / 1_000_000.0
			}
		};
		if !within {
			return Err(Mismatch::ValueDiffers {
				index,
				dim: saturating_u32(dim),
			});
		}
	}
	Ok(())
}

fn first_difference(a: &[u32], b: &[u32]) -> Option<usize> {
	match a.iter().zip(b.iter()).position(|(x, y)| x != y) {
		Some(position) => Some(position),
		None if a.len() != b.len() => Some(a.len().min(b.len())),
		None => None,
	}
}

fn saturating_u32(value: usize) -> u32 {
	u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
	use super::*;
	use alloc::vec::Vec;

	const TOLERANCE_1E3: VerificationPolicy = VerificationPolicy::Tolerance {
		max_abs_diff_ppm: 1_000,
	};

	fn embedded(vectors: &[&[f32]]) -> JobOutput {
		let embeddings: Vec<Embedding> = vectors
			.iter()
			.map(|v| Embedding::from_f32(v).expect("finite"))
			.collect();
		JobOutput::embedded(embeddings).expect("fits")
	}

	fn generated(ids: &[u32], text: &str) -> JobOutput {
		JobOutput::generated(ids.to_vec(), text).expect("fits")
	}

	#[test]
	fn equal_generations_pass_under_every_policy() {
		let a = generated(&[1, 2, 3], "abc");
		assert_eq!(check(VerificationPolicy::Exact, &a, &a.clone()), Ok(()));
		assert_eq!(check(TOLERANCE_1E3, &a, &a.clone()), Ok(()));
	}

	#[test]
	fn generations_are_exact_even_under_tolerance() {
		let a = generated(&[1, 2, 3], "abc");
		let b = generated(&[1, 2, 4], "abc");
		for policy in [VerificationPolicy::Exact, TOLERANCE_1E3] {
			assert_eq!(
				check(policy, &a, &b),
				Err(Mismatch::TokensDiffer { position: 2 })
			);
		}
	}

	#[test]
	fn a_shorter_generation_differs_where_it_ends() {
		let a = generated(&[1, 2, 3], "abc");
		let b = generated(&[1, 2], "ab");
		assert_eq!(
			check(VerificationPolicy::Exact, &a, &b),
			Err(Mismatch::TokensDiffer { position: 2 })
		);
		assert_eq!(
			check(VerificationPolicy::Exact, &b, &a),
			Err(Mismatch::TokensDiffer { position: 2 })
		);
	}

	#[test]
	fn same_tokens_with_other_text_is_a_mismatch() {
		let a = generated(&[1, 2], "ab");
		let b = generated(&[1, 2], "xy");
		assert_eq!(
			check(VerificationPolicy::Exact, &a, &b),
			Err(Mismatch::TextDiffers)
		);
	}

	#[test]
	fn kinds_must_match() {
		let a = generated(&[1], "a");
		let b = embedded(&[&[1.0]]);
		assert_eq!(
			check(VerificationPolicy::Exact, &a, &b),
			Err(Mismatch::KindDiffers)
		);
		assert_eq!(check(TOLERANCE_1E3, &b, &a), Err(Mismatch::KindDiffers));
	}

	#[test]
	fn exact_embeddings_compare_bits() {
		let a = embedded(&[&[0.5, 0.25]]);
		let b = embedded(&[&[0.5, f32::from_bits(0.25f32.to_bits() + 1)]]);
		assert_eq!(check(VerificationPolicy::Exact, &a, &a.clone()), Ok(()));
		assert_eq!(
			check(VerificationPolicy::Exact, &a, &b),
			Err(Mismatch::ValueDiffers { index: 0, dim: 1 })
		);
		// One ulp is far inside a 1e-3 tolerance.
		assert_eq!(check(TOLERANCE_1E3, &a, &b), Ok(()));
	}

	#[test]
	fn tolerance_bound_is_inclusive_and_symmetric() {
		let a = embedded(&[&[0.0, 0.0]]);
		let at_bound = embedded(&[&[0.0, 0.5]]);
		let beyond = embedded(&[&[0.0, 0.500_001]]);
		let half = VerificationPolicy::Tolerance {
			max_abs_diff_ppm: 500_000,
		};
		assert_eq!(check(half, &a, &at_bound), Ok(()));
		assert_eq!(check(half, &at_bound, &a), Ok(()));
		assert_eq!(
			check(half, &a, &beyond),
			Err(Mismatch::ValueDiffers { index: 0, dim: 1 })
		);
		assert_eq!(
			check(half, &beyond, &a),
			Err(Mismatch::ValueDiffers { index: 0, dim: 1 })
		);
	}

	#[test]
	fn zero_tolerance_accepts_only_equal_values() {
		let zero = VerificationPolicy::Tolerance {
			max_abs_diff_ppm: 0,
		};
		let a = embedded(&[&[0.1]]);
		let b = embedded(&[&[f32::from_bits(0.1f32.to_bits() + 1)]]);
		assert_eq!(check(zero, &a, &a.clone()), Ok(()));
		assert_eq!(
			check(zero, &a, &b),
			Err(Mismatch::ValueDiffers { index: 0, dim: 0 })
		);
	}

	#[test]
	fn tolerance_reports_the_first_embedding_out_of_bounds() {
		let a = embedded(&[&[0.1, 0.2], &[0.3, 0.4]]);
		let b = embedded(&[&[0.1, 0.2], &[0.3, 0.41]]);
		assert_eq!(
			check(TOLERANCE_1E3, &a, &b),
			Err(Mismatch::ValueDiffers { index: 1, dim: 1 })
		);
	}

	#[test]
	fn shapes_must_match() {
		let one = embedded(&[&[0.1, 0.2]]);
		let two = embedded(&[&[0.1, 0.2], &[0.1, 0.2]]);
		let short = embedded(&[&[0.1]]);
		assert_eq!(
			check(TOLERANCE_1E3, &one, &two),
			Err(Mismatch::EmbeddingCountDiffers)
		);
		assert_eq!(
			check(TOLERANCE_1E3, &one, &short),
			Err(Mismatch::DimensionDiffers { index: 0 })
		);
		assert_eq!(
			check(VerificationPolicy::Exact, &one, &short),
			Err(Mismatch::DimensionDiffers { index: 0 })
		);
	}
}
