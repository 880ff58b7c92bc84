//! The hashes challengers and jurors commit to.
//!
//! Both bind the committer's account, so a commitment or a reveal copied by someone else is
//! worthless: the chain recomputes the hash with the caller's own account. Clients (wallets, the
//! off-chain worker, `verity`) compute them with these same functions.

use codec::Encode;
use verity_primitives::{blake2_256, receipt::JobId, Hash};

use crate::types::Vote;

/// Prefixed to a challenge commitment.
pub const CHALLENGE_CONTEXT: &[u8] = b"verity/challenge/v1";
/// Prefixed to a vote commitment.
pub const VOTE_CONTEXT: &[u8] = b"verity/vote/v1";

/// The commitment of `challenger` to challenge `job` with `salt`:
/// BLAKE2-256 of the context followed by the SCALE encoding of `(challenger, job, salt)`.
pub fn challenge_commitment<AccountId: Encode>(
	challenger: &AccountId,
	job: JobId,
	salt: &[u8; 32],
) -> Hash {
	blake2_256(&(CHALLENGE_CONTEXT, challenger, job, salt).encode())
}

/// The commitment of `juror` to `vote` on `job` with `salt`:
/// BLAKE2-256 of the context followed by the SCALE encoding of `(juror, job, vote, salt)`.
pub fn vote_commitment<AccountId: Encode>(
	juror: &AccountId,
	job: JobId,
	vote: &Vote,
	salt: &[u8; 32],
) -> Hash {
	blake2_256(&(VOTE_CONTEXT, juror, job, vote, salt).encode())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn commitments_bind_every_part() {
		let salt = [7u8; 32];
		let base = challenge_commitment(&1u64, 5, &salt);
		assert_ne!(base, challenge_commitment(&2u64, 5, &salt));
		assert_ne!(base, challenge_commitment(&1u64, 6, &salt));
		assert_ne!(base, challenge_commitment(&1u64, 5, &[8u8; 32]));

		let vote = Vote {
			output_hash: Hash::repeat_byte(3),
			confirms: true,
		};
		let base = vote_commitment(&1u64, 5, &vote, &salt);
		assert_ne!(base, vote_commitment(&2u64, 5, &vote, &salt));
		assert_ne!(base, vote_commitment(&1u64, 6, &vote, &salt));
		let flipped = Vote {
			confirms: false,
			..vote
		};
		assert_ne!(base, vote_commitment(&1u64, 5, &flipped, &salt));
		assert_ne!(base, challenge_commitment(&1u64, 5, &salt));
	}
}
