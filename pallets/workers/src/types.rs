//! The records the worker pallet keeps: a worker's registration, its bond ledger and its history.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_runtime::traits::{Saturating, Zero};
use verity_primitives::{receipt::ReceiptPublic, workers::FaultKind, ModelId};

/// Whether a registered worker takes new jobs and jury seats.
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
pub enum WorkerStatus {
	/// Drawn for jobs and juries in proportion to its bond.
	Active,
	/// Never drawn; jobs it already holds still finish.
	Paused,
}

/// A model a worker offers to serve, with the number of jobs of it the worker computes at once:
/// what `register_worker` and `set_models` take.
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
pub struct ModelCapacity {
	/// The model.
	pub model: ModelId,
	/// Jobs and jury seats of the model the worker computes at once, at most; at least 1.
	pub capacity: u32,
}

/// A model a registered worker serves: its declared capacity and what it holds now.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub struct ServedModel {
	/// The model.
	pub model: ModelId,
	/// The most jobs and jury seats of the model it computes at once.
	pub capacity: u32,
	/// Slots in use: jobs of the model it has not answered yet and jury seats it has not voted
	/// on yet. A job is assigned only while this is below `capacity`; a jury seat is taken
	/// regardless (verification is never starved by load) and counts here, so a juror takes
	/// fewer new jobs while it re-executes.
	pub busy: u32,
}

impl ServedModel {
	/// Whether one more job fits.
	pub fn has_free_slot(&self) -> bool {
		self.busy < self.capacity
	}
}

/// A registered worker: what it serves and how it signs.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct WorkerInfo<BlockNumber, Models> {
	/// The approved models it serves (a bounded list of [`ServedModel`], no model twice).
	pub models: Models,
	/// The ed25519 key that signs its receipts.
	pub receipt_key: ReceiptPublic,
	/// Active or paused.
	pub status: WorkerStatus,
	/// The block it registered in.
	pub registered_at: BlockNumber,
}

/// Funds on their way out of a bond: still held, still slashable, free after `unlock_at`.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct UnbondingChunk<Balance, BlockNumber> {
	/// How much.
	pub amount: Balance,
	/// The first block in which `withdraw_unbonded` releases it.
	pub unlock_at: BlockNumber,
}

/// An account's bond: what is bonded, what is unbonding, and what its jobs in flight put at risk.
/// Every unit of `bonded` and of the chunks is held from the account under the pallet's
/// `HoldReason::Bond`.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug, Default)]
pub struct Ledger<Balance, Chunks> {
	/// Bonded funds: the weight of the worker in draws.
	pub bonded: Balance,
	/// Funds unbonding, oldest first.
	pub unbonding: Chunks,
	/// The part of `bonded` that jobs in flight put at risk; new jobs need the rest.
	pub reserved: Balance,
	/// Jobs the worker holds that have not ended.
	pub jobs_in_flight: u32,
}

impl<Balance, Chunks> Ledger<Balance, Chunks>
where
	Balance: Copy + Saturating + Zero + PartialOrd,
{
	/// Bonded funds that no job in flight has reserved.
	pub fn free(&self) -> Balance {
		self.bonded.saturating_sub(self.reserved)
	}
}

/// How many faults of each kind a worker was punished for.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct FaultCounts {
	/// Deadlines missed.
	pub missed_deadline: u32,
	/// Results proved wrong.
	pub wrong_result: u32,
	/// Jury votes committed and never revealed.
	pub juror_no_reveal: u32,
	/// Jury votes against the majority.
	pub juror_minority: u32,
}

impl FaultCounts {
	/// Counts one fault of `kind` (saturating).
	pub fn record(&mut self, kind: FaultKind) {
		let counter = match kind {
			FaultKind::MissedDeadline => &mut self.missed_deadline,
			FaultKind::WrongResult => &mut self.wrong_result,
			FaultKind::JurorNoReveal => &mut self.juror_no_reveal,
			FaultKind::JurorMinority => &mut self.juror_minority,
		};
		*counter = counter.saturating_add(1);
	}

	/// All faults together.
	pub fn total(&self) -> u32 {
		self.missed_deadline
			.saturating_add(self.wrong_result)
			.saturating_add(self.juror_no_reveal)
			.saturating_add(self.juror_minority)
	}
}

/// A worker's track record, kept after it deregisters so that history cannot be shed by
/// registering again.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug, Default)]
pub struct WorkerStats<Balance, BlockNumber> {
	/// Jobs it completed.
	pub jobs_done: u64,
	/// Faults it was punished for, by kind.
	pub faults: FaultCounts,
	/// Everything ever slashed from it.
	pub slashed_total: Balance,
	/// The last block in which it took, finished or was slashed for a job.
	pub last_active: BlockNumber,
}
