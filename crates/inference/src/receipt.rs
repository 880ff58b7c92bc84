//! Signing and verifying receipts with ed25519-dalek.
//!
//! The signature covers [`ReceiptPayload::signing_payload`] (a domain tag, then the SCALE
//! encoding of the payload). Verification is `verify_strict`: it refuses small-order keys and
//! non-canonical signatures, so a receipt accepted here is also accepted by the chain's ed25519
//! verification (which is more permissive, ZIP-215).

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use verity_primitives::receipt::{Receipt, ReceiptPayload};

use crate::{Error, Result};

/// A worker's receipt key.
pub struct ReceiptSigner {
	key: SigningKey,
}

impl ReceiptSigner {
	/// The key whose 32-byte secret seed is `seed`.
	pub fn from_seed(seed: &[u8; 32]) -> Self {
		Self {
			key: SigningKey::from_bytes(seed),
		}
	}

	/// The public key, as registered on chain.
	pub fn public(&self) -> verity_primitives::receipt::ReceiptPublic {
		self.key.verifying_key().to_bytes().into()
	}

	/// Signs `payload`.
	pub fn sign(&self, payload: ReceiptPayload) -> Receipt {
		let signature = self.key.sign(&payload.signing_payload());
		Receipt {
			payload,
			signer: self.public(),
			signature: signature.to_bytes().into(),
		}
	}
}

/// Checks that `receipt.signature` is `receipt.signer`'s signature of `receipt.payload`.
pub fn verify_receipt(receipt: &Receipt) -> Result<()> {
	let key = VerifyingKey::from_bytes(&receipt.signer.0)
		.map_err(|_| Error::InvalidReceipt("the signer is not a valid ed25519 public key"))?;
	let signature = ed25519_dalek::Signature::from_bytes(&receipt.signature.0);
	key.verify_strict(&receipt.payload.signing_payload(), &signature)
		.map_err(|_| Error::InvalidReceipt("the signature does not match the payload and signer"))
}

/// Checks the signature and that the receipt was signed by `expected_signer` (the worker's
/// registered receipt key).
pub fn verify_receipt_from(
	receipt: &Receipt,
	expected_signer: &verity_primitives::receipt::ReceiptPublic,
) -> Result<()> {
	if &receipt.signer != expected_signer {
		return Err(Error::InvalidReceipt(
			"signed by another key than the worker's",
		));
	}
	verify_receipt(receipt)
}

#[cfg(test)]
mod tests {
	use super::*;
	use verity_primitives::Hash;

	fn payload() -> ReceiptPayload {
		ReceiptPayload {
			genesis_hash: Hash::repeat_byte(1),
			job_id: 42,
			model_hash: Hash::repeat_byte(2),
			input_hash: Hash::repeat_byte(3),
			output_hash: Hash::repeat_byte(4),
		}
	}

	#[test]
	fn a_signed_receipt_verifies() {
		let signer = ReceiptSigner::from_seed(&[7; 32]);
		let receipt = signer.sign(payload());
		verify_receipt(&receipt).expect("valid");
		verify_receipt_from(&receipt, &signer.public()).expect("valid");
	}

	#[test]
	fn signing_is_deterministic() {
		let signer = ReceiptSigner::from_seed(&[7; 32]);
		assert_eq!(signer.sign(payload()), signer.sign(payload()));
	}

	#[test]
	fn any_changed_field_fails() {
		let receipt = ReceiptSigner::from_seed(&[7; 32]).sign(payload());
		let changes: [fn(&mut ReceiptPayload); 5] = [
			|p| p.genesis_hash = Hash::repeat_byte(9),
			|p| p.job_id += 1,
			|p| p.model_hash = Hash::repeat_byte(9),
			|p| p.input_hash = Hash::repeat_byte(9),
			|p| p.output_hash = Hash::repeat_byte(9),
		];
		for change in changes {
			let mut forged = receipt.clone();
			change(&mut forged.payload);
			assert!(matches!(
				verify_receipt(&forged),
				Err(Error::InvalidReceipt(_))
			));
		}
	}

	#[test]
	fn a_changed_signature_fails() {
		let mut receipt = ReceiptSigner::from_seed(&[7; 32]).sign(payload());
		receipt.signature.0[10] ^= 1;
		assert!(verify_receipt(&receipt).is_err());
	}

	#[test]
	fn a_wrong_key_fails() {
		let receipt = ReceiptSigner::from_seed(&[7; 32]).sign(payload());
		let other = ReceiptSigner::from_seed(&[8; 32]).public();
		// Another key in the signer field: the signature does not verify under it.
		let mut swapped = receipt.clone();
		swapped.signer = other;
		assert!(verify_receipt(&swapped).is_err());
		// A valid receipt, but not from the expected worker.
		assert!(verify_receipt_from(&receipt, &other).is_err());
	}

	#[test]
	fn a_signature_over_the_bare_encoding_fails() {
		// Signing the SCALE bytes without the domain tag must not produce a valid receipt.
		use codec::Encode;
		let key = SigningKey::from_bytes(&[7; 32]);
		let mut receipt = ReceiptSigner::from_seed(&[7; 32]).sign(payload());
		receipt.signature = key.sign(&payload().encode()).to_bytes().into();
		assert!(verify_receipt(&receipt).is_err());
	}
}
