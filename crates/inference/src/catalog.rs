//! The models this engine knows: their names, files, pinned hashes and verification policies.
//!
//! The file hashes are the ones `scripts/fetch-models.sh` pins (BLAKE2-256 of each file); the
//! model hash is [`verity_primitives::model::model_hash`] over them, in the order listed here.

use std::path::{Path, PathBuf};

use verity_primitives::{job::JobKind, model::model_hash, policy::VerificationPolicy, Hash};

use crate::{digest::hash_bytes_from_hex, Error, Result};

/// The environment variable that points to the models folder.
pub const MODELS_DIR_ENV: &str = "VERITY_MODELS";

/// The embedding tolerance of MiniLM, in millionths: 1e-4 per value of a unit-length vector.
/// Measured differences (batch composition, thread count) are far below it; see the README.
pub const MINILM_TOLERANCE_PPM: u32 = 100;

/// One file of a model, with the hash it must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinnedFile {
	/// The file's path under the models folder.
	pub relative_path: &'static str,
	/// Its BLAKE2-256.
	pub blake2_256: [u8; 32],
}

impl PinnedFile {
	/// The pinned hash.
	pub fn hash(&self) -> Hash {
		Hash::from(self.blake2_256)
	}
}

const SMOLLM2_FILES: [PinnedFile; 1] = [PinnedFile {
	relative_path: "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
	blake2_256: hash_bytes_from_hex(
		"d63af87b96e2fd6551e9e7320602f3934f34c41a91004117dd24981571d02f79",
	),
}];

const MINILM_FILES: [PinnedFile; 3] = [
	PinnedFile {
		relative_path: "minilm/model.safetensors",
		blake2_256: hash_bytes_from_hex(
			"a22e6a6ad8c13ac7e62a535a9c46fd2a8d3bba82998108f434dd260c5ab81563",
		),
	},
	PinnedFile {
		relative_path: "minilm/tokenizer.json",
		blake2_256: hash_bytes_from_hex(
			"1643ffa5ce8bc87654926557226b9ef0669ee1b5c1817b753dae593afd43ee0a",
		),
	},
	PinnedFile {
		relative_path: "minilm/config.json",
		blake2_256: hash_bytes_from_hex(
			"c600b00649ab8fd6ec1d4b0edf1cf99d53375665c5f4b1fb4b61a6e277b6001e",
		),
	},
];

/// A model of the catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModelId {
	/// SmolLM2-135M-Instruct, GGUF Q4_1: chat generation with greedy decoding.
	SmolLm2,
	/// all-MiniLM-L6-v2: 384-dimensional sentence embeddings.
	MiniLm,
}

impl ModelId {
	/// Every model of the catalog.
	pub const ALL: [ModelId; 2] = [ModelId::SmolLm2, ModelId::MiniLm];

	/// The model's short name, as the command line takes it.
	pub fn name(self) -> &'static str {
		match self {
			Self::SmolLm2 => "smollm2",
			Self::MiniLm => "minilm",
		}
	}

	/// The model called `name`.
	pub fn from_name(name: &str) -> Result<Self> {
		Self::ALL
			.into_iter()
			.find(|id| id.name() == name)
			.ok_or_else(|| Error::UnknownModel(name.to_string()))
	}

	/// The model's files, in canonical order.
	pub fn files(self) -> &'static [PinnedFile] {
		match self {
			Self::SmolLm2 => &SMOLLM2_FILES,
			Self::MiniLm => &MINILM_FILES,
		}
	}

	/// The model hash a registry would record.
	pub fn model_hash(self) -> Hash {
		let hashes: Vec<Hash> = self.files().iter().map(PinnedFile::hash).collect();
		model_hash(&hashes)
	}

	/// The kind of job the model serves.
	pub fn kind(self) -> JobKind {
		match self {
			Self::SmolLm2 => JobKind::Generate,
			Self::MiniLm => JobKind::Embed,
		}
	}

	/// How the model's outputs are verified.
	pub fn policy(self) -> VerificationPolicy {
		match self {
			Self::SmolLm2 => VerificationPolicy::Exact,
			Self::MiniLm => VerificationPolicy::Tolerance {
				max_abs_diff_ppm: MINILM_TOLERANCE_PPM,
			},
		}
	}
}

/// The models folder: `$VERITY_MODELS`, else `$HOME/.cache/verity/models` (as
/// `scripts/fetch-models.sh` uses), else `.verity-models` in the working folder.
pub fn default_models_dir() -> PathBuf {
	if let Some(dir) = std::env::var_os(MODELS_DIR_ENV).filter(|dir| !dir.is_empty()) {
		return PathBuf::from(dir);
	}
	match std::env::var_os("HOME").filter(|home| !home.is_empty()) {
		Some(home) => Path::new(&home).join(".cache/verity/models"),
		None => PathBuf::from(".verity-models"),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn names_round_trip_and_unknown_names_are_refused() {
		for id in ModelId::ALL {
			assert_eq!(ModelId::from_name(id.name()).expect("known"), id);
		}
		let error = ModelId::from_name("gpt-5").expect_err("unknown");
		assert_eq!(
			error.to_string(),
			"unknown model `gpt-5` (known models: smollm2, minilm)"
		);
	}

	#[test]
	fn model_hashes_are_distinct_and_follow_the_primitives_rule() {
		assert_ne!(ModelId::SmolLm2.model_hash(), ModelId::MiniLm.model_hash());
		assert_eq!(
			ModelId::SmolLm2.model_hash(),
			model_hash(&[ModelId::SmolLm2.files()[0].hash()])
		);
	}

	#[test]
	fn model_hashes_are_the_documented_ones() {
		use crate::digest::to_hex;
		// The values in the README, which a registry records for these models.
		assert_eq!(
			to_hex(ModelId::SmolLm2.model_hash().as_bytes()),
			"4dec76775dc330961ef326c4c35baa36c727306a1c00ae1ef86929528b3f395b"
		);
		assert_eq!(
			to_hex(ModelId::MiniLm.model_hash().as_bytes()),
			"9875db7c3266d7c8aad24a1b57367c90d36f1fe40a63390322ebf82fe0a9cd88"
		);
	}

	#[test]
	fn policies_match_the_job_kinds() {
		assert_eq!(ModelId::SmolLm2.policy(), VerificationPolicy::Exact);
		assert_eq!(ModelId::SmolLm2.kind(), JobKind::Generate);
		assert!(matches!(
			ModelId::MiniLm.policy(),
			VerificationPolicy::Tolerance { .. }
		));
		assert_eq!(ModelId::MiniLm.kind(), JobKind::Embed);
	}
}
