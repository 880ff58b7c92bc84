//! The model registry as other pallets see it: model ids, golden vectors, and the
//! [`ModelRegistry`] trait through which the job market and the worker registry read approved
//! models without depending on the registry pallet.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

use crate::{
	job::{JobInput, JobKind},
	policy::VerificationPolicy,
	Hash,
};

/// Identifies one model version in the registry.
pub type ModelId = u32;

/// Most golden vectors one model carries.
pub const MAX_GOLDEN_VECTORS: u32 = 4;

/// A job input with the hash of the output every honest worker must reproduce before it serves
/// the model (and that anyone can re-run to check a worker's engine).
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
pub struct GoldenVector {
	/// The input.
	pub input: JobInput,
	/// BLAKE2-256 of the SCALE-encoded output ([`crate::job::JobOutput::hash`]).
	pub output_hash: Hash,
}

/// What a pallet that runs or serves jobs needs to know about a registered model.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct ModelSummary<Balance> {
	/// The kind of job the model serves.
	pub kind: JobKind,
	/// The model's hash over all its files ([`crate::model::model_hash`]): what a worker loads.
	pub model_hash: Hash,
	/// BLAKE2-256 of the weights file.
	pub weights_hash: Hash,
	/// BLAKE2-256 of the tokenizer file (the weights hash when the tokenizer is inside them).
	pub tokenizer_hash: Hash,
	/// How a recomputed output is compared with a claimed one.
	pub policy: VerificationPolicy,
	/// The smallest fee a job for this model may offer.
	pub min_fee: Balance,
	/// `true` while the model is approved; `false` once retired (jobs in flight still finish).
	pub accepts_jobs: bool,
}

/// Read access to the model registry for other pallets.
pub trait ModelRegistry<Balance> {
	/// Model `id` if it is approved or retired; `None` if it was never approved.
	fn model(id: ModelId) -> Option<ModelSummary<Balance>>;

	/// Whether new jobs (and newly registered workers) may use model `id`.
	fn accepts_jobs(id: ModelId) -> bool {
		Self::model(id).is_some_and(|m| m.accepts_jobs)
	}

	/// Benchmarks only: registers a new approved model of `kind` and returns its id, so that other
	/// pallets' benchmarks can set up workers and jobs. `None` where the registry cannot.
	#[cfg(feature = "runtime-benchmarks")]
	fn register_benchmark_model(kind: JobKind) -> Option<ModelId> {
		let _ = kind;
		None
	}
}
