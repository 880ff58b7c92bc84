//! Model identity and the engine profile a model is registered with.
//!
//! A model is identified by its hash: BLAKE2-256 of the SCALE encoding of the list of its files'
//! BLAKE2-256 hashes, in the model's canonical file order ([`model_hash`]). The same rule holds
//! for a one-file model (a GGUF) and a many-file one (safetensors + tokenizer + config), so a
//! worker that loads different bytes in any file gets a different model hash.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_runtime::{
	traits::{ConstU32, Hash as _},
	BoundedVec,
};

use crate::{Hash, Hashing};

/// The most bytes of one text field of an [`EngineProfile`].
pub const MAX_PROFILE_TEXT_BYTES: u32 = 128;

/// A short UTF-8 text of an engine profile.
pub type ProfileText = BoundedVec<u8, ConstU32<MAX_PROFILE_TEXT_BYTES>>;

/// The hash of a model from the hashes of its files, in the model's canonical file order.
pub fn model_hash(file_hashes: &[Hash]) -> Hash {
	Hashing::hash_of(&file_hashes)
}

/// What an engine pins when it runs a model: enough for a verifier to reproduce the run, and for
/// the registry to record the setting the model's policy was measured under.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	PartialEq,
	Eq,
	Debug,
	serde::Serialize,
	serde::Deserialize,
)]
pub struct EngineProfile {
	/// The engine and its versions, e.g. `verity-kernels 1; candle 0.11.1; tokenizers 0.23.2`.
	pub engine: ProfileText,
	/// The target the engine binary was built for, e.g. `x86_64-linux`.
	pub target: ProfileText,
	/// The CPU features the kernels dispatch on, comma-separated, e.g. `avx2,fma,f16c`.
	pub cpu_features: ProfileText,
	/// The number of threads of the compute pools.
	pub threads: u32,
}

impl EngineProfile {
	/// A profile from its parts; text longer than [`MAX_PROFILE_TEXT_BYTES`] is cut at a
	/// character boundary.
	pub fn new(engine: &str, target: &str, cpu_features: &str, threads: u32) -> Self {
		Self {
			engine: profile_text(engine),
			target: profile_text(target),
			cpu_features: profile_text(cpu_features),
			threads,
		}
	}

	/// BLAKE2-256 of the SCALE encoding.
	pub fn hash(&self) -> Hash {
		Hashing::hash_of(self)
	}
}

fn profile_text(text: &str) -> ProfileText {
	let mut end = text.len().min(MAX_PROFILE_TEXT_BYTES as usize);
	while !text.is_char_boundary(end) {
		end -= 1;
	}
	let bytes: Vec<u8> = text.as_bytes()[..end].to_vec();
	BoundedVec::truncate_from(bytes)
}

#[cfg(test)]
mod tests {
	use super::*;
	use sp_core::H256;

	#[test]
	fn model_hash_depends_on_every_file_and_the_order() {
		let a = H256::repeat_byte(1);
		let b = H256::repeat_byte(2);
		assert_eq!(model_hash(&[a, b]), model_hash(&[a, b]));
		assert_ne!(model_hash(&[a, b]), model_hash(&[b, a]));
		assert_ne!(model_hash(&[a]), model_hash(&[a, b]));
		assert_ne!(
			model_hash(&[a]),
			a,
			"a one-file model's hash is not its file's hash"
		);
	}

	#[test]
	fn model_hash_is_blake2_256_of_scale_list() {
		let a = H256::repeat_byte(1);
		let mut bytes = alloc::vec![4u8]; // compact length 1
		bytes.extend_from_slice(a.as_bytes());
		assert_eq!(model_hash(&[a]), Hashing::hash(&bytes));
	}

	#[test]
	fn profile_hash_depends_on_every_field() {
		let base = EngineProfile::new("candle 0.11.1", "x86_64-linux", "avx2,fma", 2);
		assert_eq!(
			base.hash(),
			EngineProfile::new("candle 0.11.1", "x86_64-linux", "avx2,fma", 2).hash()
		);
		assert_ne!(
			base.hash(),
			EngineProfile::new("candle 0.11.2", "x86_64-linux", "avx2,fma", 2).hash()
		);
		assert_ne!(
			base.hash(),
			EngineProfile::new("candle 0.11.1", "aarch64-linux", "avx2,fma", 2).hash()
		);
		assert_ne!(
			base.hash(),
			EngineProfile::new("candle 0.11.1", "x86_64-linux", "avx2", 2).hash()
		);
		assert_ne!(
			base.hash(),
			EngineProfile::new("candle 0.11.1", "x86_64-linux", "avx2,fma", 1).hash()
		);
	}

	#[test]
	fn long_profile_text_is_cut_at_a_character_boundary() {
		let long = "é".repeat(100); // 200 bytes
		let profile = EngineProfile::new(&long, "", "", 1);
		assert!(profile.engine.len() <= MAX_PROFILE_TEXT_BYTES as usize);
		assert!(core::str::from_utf8(&profile.engine).is_ok());
	}
}
