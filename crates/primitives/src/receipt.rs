//! Receipts: a worker's signed statement that it ran a job.
//!
//! A receipt binds one chain (its genesis hash), one job, one model, one input and one output.
//! The worker signs [`ReceiptPayload::signing_payload`] with its ed25519 receipt key; a receipt
//! that contradicts the worker's on-chain result is a fraud proof.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::ed25519;

use crate::Hash;

/// The id of an inference job on chain.
pub type JobId = u64;

/// A worker's ed25519 receipt key, as registered on chain.
pub type ReceiptPublic = ed25519::Public;

/// An ed25519 signature of a receipt.
pub type ReceiptSignature = ed25519::Signature;

/// Prefixed to every signed receipt, so that a receipt signature can never be replayed as a
/// signature of anything else (a transaction, another protocol's message, a later receipt format).
pub const RECEIPT_SIGNING_CONTEXT: &[u8] = b"verity/receipt/v1";

/// What a receipt states.
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
pub struct ReceiptPayload {
	/// The genesis hash of the chain the job belongs to.
	pub genesis_hash: Hash,
	/// The job.
	pub job_id: JobId,
	/// The model's hash (see [`crate::model::model_hash`]).
	pub model_hash: Hash,
	/// [`crate::job::JobInput::hash`] of the job's input.
	pub input_hash: Hash,
	/// [`crate::job::JobOutput::hash`] of the worker's output.
	pub output_hash: Hash,
}

impl ReceiptPayload {
	/// The exact bytes a receipt signature covers: [`RECEIPT_SIGNING_CONTEXT`] followed by the
	/// SCALE encoding of the payload (32 + 8 + 32 + 32 + 32 bytes, fixed length).
	pub fn signing_payload(&self) -> Vec<u8> {
		let mut bytes = Vec::with_capacity(RECEIPT_SIGNING_CONTEXT.len() + Self::max_encoded_len());
		bytes.extend_from_slice(RECEIPT_SIGNING_CONTEXT);
		self.encode_to(&mut bytes);
		bytes
	}
}

/// A signed receipt: the payload, the signer's ed25519 receipt key and its signature.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Receipt {
	/// What is stated.
	pub payload: ReceiptPayload,
	/// The worker's receipt key (registered on chain).
	pub signer: ReceiptPublic,
	/// The ed25519 signature of [`ReceiptPayload::signing_payload`] by `signer`.
	pub signature: ReceiptSignature,
}

#[cfg(test)]
mod tests {
	use super::*;
	use sp_core::H256;

	fn payload() -> ReceiptPayload {
		ReceiptPayload {
			genesis_hash: H256::repeat_byte(1),
			job_id: 7,
			model_hash: H256::repeat_byte(2),
			input_hash: H256::repeat_byte(3),
			output_hash: H256::repeat_byte(4),
		}
	}

	#[test]
	fn signing_payload_is_context_then_fixed_layout() {
		let bytes = payload().signing_payload();
		let (context, body) = bytes.split_at(RECEIPT_SIGNING_CONTEXT.len());
		assert_eq!(context, RECEIPT_SIGNING_CONTEXT);
		assert_eq!(body.len(), 136);
		assert_eq!(&body[..32], &[1u8; 32]);
		assert_eq!(&body[32..40], &7u64.to_le_bytes());
		assert_eq!(&body[40..72], &[2u8; 32]);
		assert_eq!(&body[72..104], &[3u8; 32]);
		assert_eq!(&body[104..], &[4u8; 32]);
	}

	#[test]
	fn every_field_changes_the_signing_payload() {
		let base = payload().signing_payload();
		let changes: [fn(&mut ReceiptPayload); 5] = [
			|p| p.genesis_hash = H256::repeat_byte(9),
			|p| p.job_id = 8,
			|p| p.model_hash = H256::repeat_byte(9),
			|p| p.input_hash = H256::repeat_byte(9),
			|p| p.output_hash = H256::repeat_byte(9),
		];
		for change in changes {
			let mut changed = payload();
			change(&mut changed);
			assert_ne!(changed.signing_payload(), base);
		}
	}
}
