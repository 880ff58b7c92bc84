//! The compute providers (`pallet-workers`): bonds, unbonding, stake-weighted draws, slashing.

use frame_support::{
	parameter_types,
	traits::{tokens::imbalance::ResolveTo, ConstU32},
};
use verity_primitives::{
	time::{DAYS, HOURS},
	token::UNIT,
	BlockNumber,
};

use crate::{
	configs::governance::TreasuryAccount, Balance, Balances, Models, Runtime, RuntimeHoldReason,
};

/// The longest a job may stay open (execution deadline, challenge window and dispute together).
/// The job market bounds its parameters by it; unbonding must outlast it.
pub const MAX_JOB_LIFETIME: BlockNumber = 12 * HOURS;

parameter_types! {
	/// The smallest bond a worker registers with.
	pub const MinWorkerBond: Balance = 1_000 * UNIT;
	/// A week between `unbond` and `withdraw_unbonded`: longer than any job and its dispute.
	pub const UnbondingPeriod: BlockNumber = 7 * DAYS;
	/// See [`MAX_JOB_LIFETIME`].
	pub const MaxJobLifetime: BlockNumber = MAX_JOB_LIFETIME;
}

impl pallet_workers::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Models = Models;
	type MinWorkerBond = MinWorkerBond;
	type UnbondingPeriod = UnbondingPeriod;
	type MaxJobLifetime = MaxJobLifetime;
	/// A draw reads one list of at most this many workers.
	type MaxWorkersPerModel = ConstU32<64>;
	type MaxModelsPerWorker = ConstU32<8>;
	type MaxUnbondingChunks = ConstU32<16>;
	/// Jobs of one model a worker may declare it computes at once.
	type MaxCapacity = ConstU32<256>;
	/// Slashes sent to the treasury.
	type Slashed = ResolveTo<TreasuryAccount, Balances>;
	type WeightInfo = crate::weights::pallet_workers::WeightInfo<Runtime>;
}
