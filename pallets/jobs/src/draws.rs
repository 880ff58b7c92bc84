//! Draws: where the randomness behind assignments, audits and juries comes from, and what an
//! attacker can still do to it.
//!
//! ## The beacon
//!
//! Every block, before anything is settled, the hook mixes the block's VRF output (BABE's
//! `ParentBlockRandomness`: the VRF output of the parent block's author, which no author can
//! choose, only withhold) into one chained hash, the [`RandomnessBeacon`]:
//! `value = BLAKE2-256("verity/beacon", value, output)`, and counts the outputs. A block
//! without a VRF output (none exists before the first BABE block) adds nothing: the beacon
//! never falls back to a block hash.
//!
//! ## When a draw is made
//!
//! A draw *falls due* when something happens that decides what is drawn for:
//!
//! | draw | falls due at | drawn from |
//! |---|---|---|
//! | the worker of a job | `submit_job` | `verity/assign` |
//! | whether a result is audited (and the audit's jury) | `submit_result` | `verity/audit`, `verity/jury` |
//! | the jury of a challenge | `reveal_challenge` | `verity/jury` |
//! | a fresh jury after a silent one | the end of the silent jury's reveal window | `verity/jury` |
//! | a second worker after a missed deadline | the block after the deadline | `verity/assign` |
//!
//! The job records `draw_after` = the beacon's output count then, plus
//! [`JobParams::draw_delay`] (at least [`MIN_DRAW_DELAY`]), and the settlement hook makes the
//! draw only once the count has reached it: from a beacon that has taken in the VRF outputs of
//! at least `draw_delay` blocks built after the one in which the draw fell due. Where outputs
//! are missing the draw waits, a block at a time. The seed of a draw is
//! `BLAKE2-256(tag, beacon value, job, round)`.
//!
//! ## What an attacker can still do (the residual bias)
//!
//! Let the attacker author a share `x` of blocks and hold a share of the bond, and let `D` be
//! the draw delay (live and local: 10; dev: 2). A BABE author knows the VRF output of each of
//! its own slots from the start of the epoch, and nobody else's.
//!
//! * **Predicting** a draw when it makes it fall due (aiming a job at a worker, revealing a
//!   challenge when the jury would be its own, submitting a result when no audit would come):
//!   it must know all `D` outputs, so author all `D` blocks from the one that includes its
//!   transaction on: probability `x^D` for a given moment. Live (`D` = 10): 10⁻¹⁰ at
//!   `x` = 10%, 1.5·10⁻⁵ at `x` = 33%. An attacker free to pick the moment among `W` blocks
//!   (a challenge commitment lives an hour, 600 blocks) finds a predictable one with
//!   probability at most `W·x^D`: 6·10⁻⁸ at 10%, 0.9% at 33%. On dev (`D` = 2):
//!   1% and 11% per moment; that one-validator chain is not for value.
//! * **Withholding** the block that contributes the last output a draw reads (it sees the draw
//!   before anyone else when it builds that block, and may not publish it): it holds that block
//!   with probability `x` — **10% at `x` = 10%, 33% at `x` = 33%** — and then changes the draw
//!   if it prefers the unknown outcome of the next slot's block at that height (another of its
//!   own slots lets it choose again). An outcome it wants that has probability `p` becomes
//!   `p / (1 − x(1 − p))` ≤ `p / (1 − x)`: for a jury of three in which a 15% bond wins at
//!   least two seats (`p` = 6.1%), 6.7% at `x` = 10%, 7.9% at 25%, 8.8% at 33%. It pays for every
//!   try with the block (its fees) and, in BABE, with a slot given to someone else. The
//!   simulation in the tests measures this strategy against the bound.
//! * Withholding an earlier block only replaces an output the attacker has not combined with
//!   the later ones: it cannot tell whether that helps, so it gains nothing.
//!
//! ## Validators as workers and jurors
//!
//! A validator may also be a worker or a juror, and may be drawn in blocks it authors. Forbidding
//! it would not hold: a validator bonds a worker under another account for the price of a
//! transaction, and no chain can tell whose account that is. What protects the draw is what is
//! written above, for any attacker: a validator learns a draw early only by authoring the block
//! that completes it (then by one block, the withholding case), and predicts it only by authoring
//! every one of the `D` blocks after it falls due. Its worker starting a job one block early gains
//! it nothing.

use codec::Encode;
use frame_support::traits::Randomness;
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::traits::Saturating;
use verity_primitives::{receipt::JobId, Hash};

use crate::{
	pallet::{Beacon, Config, JobOf, Pallet},
	JobParams, RandomnessBeacon,
};

/// The smallest [`JobParams::draw_delay`]: the author of the block that includes a transaction
/// knows that block's VRF output in advance, so one output is never enough.
pub const MIN_DRAW_DELAY: u32 = 2;

/// The largest [`JobParams::draw_delay`]: every draw waits this many blocks at most (plus any
/// without a VRF output), which the windows must leave room for.
pub const MAX_DRAW_DELAY: u32 = 64;

/// Domain tag of the beacon's chaining hash (and the subject it reads the VRF output with).
pub(crate) const BEACON_TAG: &[u8] = b"verity/beacon";

/// The beacon after mixing in `output`.
pub fn mixed(beacon: &RandomnessBeacon, output: &Hash) -> RandomnessBeacon {
	RandomnessBeacon {
		value: verity_primitives::blake2_256(&(BEACON_TAG, beacon.value, output).encode()),
		outputs: beacon.outputs.saturating_add(1),
	}
}

/// The seed of the draw `context` (a tag such as `verity/jury`) about `job_id` and `round`, from
/// `beacon`.
pub fn seed_from(beacon: &RandomnessBeacon, context: &[u8], job_id: JobId, round: u32) -> Hash {
	verity_primitives::blake2_256(&(context, beacon.value, job_id, round).encode())
}

/// Checks a draw delay against [`MIN_DRAW_DELAY`] and [`MAX_DRAW_DELAY`].
pub fn draw_delay_in_bounds<Balance, BlockNumber>(
	params: &JobParams<Balance, BlockNumber>,
) -> bool {
	(MIN_DRAW_DELAY..=MAX_DRAW_DELAY).contains(&params.draw_delay)
}

impl<T: Config> Pallet<T> {
	/// Mixes this block's VRF output, if it has one, into the beacon; returns whether it did.
	pub(crate) fn mix_randomness() -> bool {
		let (output, _) = T::Randomness::random(BEACON_TAG);
		let Some(output) = output else {
			return false;
		};
		Beacon::<T>::mutate(|beacon| *beacon = mixed(beacon, &output));
		true
	}

	/// The seed of the draw `context` about `job_id` and `round`, from the beacon as it is now.
	pub(crate) fn seed(context: &[u8], job_id: JobId, round: u32) -> Hash {
		seed_from(&Beacon::<T>::get(), context, job_id, round)
	}

	/// A draw for `job` falls due now: it waits for `delay` more VRF outputs. Returns the block
	/// at which it can be made if every block until then has one.
	pub(crate) fn draw_falls_due(job: &mut JobOf<T>, delay: u32) -> BlockNumberFor<T> {
		let delay = delay.max(MIN_DRAW_DELAY);
		job.draw_after = Beacon::<T>::get().outputs.saturating_add(u64::from(delay));
		frame_system::Pallet::<T>::block_number().saturating_add(delay.into())
	}

	/// Whether the beacon has taken in the outputs the pending draw of `job` waits for.
	pub(crate) fn draw_ready(job: &JobOf<T>) -> bool {
		Beacon::<T>::get().outputs >= job.draw_after
	}
}
