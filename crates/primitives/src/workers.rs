//! The compute providers as other pallets see them: the [`WorkerSelection`] trait that draws
//! staked workers for a job or a jury, and the [`Slashing`] trait that takes a worker's bond for a
//! fault and tracks the jobs it has in flight. The worker pallet implements both; the job market
//! uses them without depending on it.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_runtime::{DispatchResult, Perbill};

use crate::{receipt::ReceiptPublic, registry::ModelId, Hash};

/// Why a worker is punished; each kind is counted in the worker's record.
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
pub enum FaultKind {
	/// An assigned job was not answered before its deadline.
	MissedDeadline,
	/// A result was proved wrong by a jury.
	WrongResult,
	/// A juror committed a vote and did not reveal it.
	JurorNoReveal,
	/// A juror voted against the majority.
	JurorMinority,
}

/// How much of a worker's stake a slash takes.
#[derive(Encode, Decode, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub enum SlashAmount<Balance> {
	/// A share of the worker's whole stake (bonded and unbonding) when the slash happens.
	Fraction(Perbill),
	/// A fixed amount (capped by the stake).
	Exact(Balance),
}

/// Where slashed funds go.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub enum SlashDestination<AccountId> {
	/// To an account (a challenger, a juror, the job's submitter, a pallet's pot).
	Account(AccountId),
	/// To the runtime's slash handler (the treasury in the Verity runtime).
	Treasury,
	/// Out of existence: total issuance falls by the amount.
	Burn,
}

/// What a draw is for, and so what a worker needs to be drawn and what taking it costs.
#[derive(Encode, Decode, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Demand<Balance> {
	/// A job whose collateral is this amount (the job market's multiple of its fee): the
	/// worker needs a free slot of its declared capacity for the model and that much unreserved
	/// bond; taking it reserves both, the slot until the worker answers, the bond until the job
	/// settles.
	Job(Balance),
	/// A jury seat: any active worker serving the model can be drawn (verification is never
	/// starved by load); taking it occupies a slot of the worker's capacity until it commits its
	/// vote (it re-executes the job meanwhile), so it takes fewer new jobs, and reserves no bond.
	JurySeat,
}

impl<Balance: Copy + Default> Demand<Balance> {
	/// The bond this demand reserves.
	pub fn at_risk(&self) -> Balance {
		match self {
			Self::Job(fee) => *fee,
			Self::JurySeat => Balance::default(),
		}
	}
}

/// What one worker holds in flight, as the worker pallet books it.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug, Default)]
pub struct InFlight<Balance> {
	/// Bond reserved by its jobs.
	pub reserved: Balance,
	/// Jobs and jury seats not yet settled.
	pub count: u32,
	/// Slots of its capacity in use (jobs not yet answered, seats not yet voted), by model.
	pub busy: Vec<(ModelId, u32)>,
}

/// Draws staked workers for jobs and juries.
pub trait WorkerSelection<AccountId, Balance> {
	/// Draws up to `n` distinct workers that serve `model`, are not paused, are not in `exclude`,
	/// and can take `demand` (for a job: a free slot of their capacity for the model and the fee
	/// in unreserved bond). Each draw picks a remaining worker with probability proportional to
	/// its bond, so splitting a bond over several accounts does not raise the chance that one of
	/// them is drawn. The same `seed` and state give the same workers in the same order; fewer
	/// than `n` come back when fewer are eligible.
	fn select(
		model: ModelId,
		exclude: &[AccountId],
		seed: Hash,
		n: u32,
		demand: Demand<Balance>,
	) -> Vec<AccountId>;

	/// Draws `seats` jury seats among the active workers of `model` not in `exclude`, **with
	/// replacement**: each seat goes to a worker with probability proportional to its bond, so
	/// one account may hold several seats, and the number of seats a group of accounts wins
	/// has the same distribution however the group splits its bond (split-neutral jury weight).
	/// Returns each drawn worker once with its seat count, in the order first drawn, and the
	/// pool's total bond (what the seats are drawn over); nothing when nobody is eligible. The
	/// same `seed` and state give the same seats.
	fn draw_seats(
		model: ModelId,
		exclude: &[AccountId],
		seed: Hash,
		seats: u32,
	) -> (Vec<(AccountId, u32)>, Balance);

	/// How many workers [`Self::select`] could draw from with the same arguments.
	fn eligible_count(model: ModelId, exclude: &[AccountId], demand: Demand<Balance>) -> u32;

	/// The ed25519 key `who` signs its receipts with, if `who` is a registered worker.
	fn receipt_key(who: &AccountId) -> Option<ReceiptPublic>;

	/// Whether `who` is registered, not paused, and serves `model`.
	fn serves(who: &AccountId, model: ModelId) -> bool;

	/// Benchmarks only: bonds `bond` from `who`'s free balance and registers it as an active
	/// worker serving `model` (with receipt key `receipt_key`), so that other pallets' benchmarks
	/// can set up workers. Returns whether it worked.
	#[cfg(feature = "runtime-benchmarks")]
	fn register_benchmark_worker(
		who: &AccountId,
		bond: Balance,
		model: ModelId,
		receipt_key: ReceiptPublic,
	) -> bool {
		let _ = (who, bond, model, receipt_key);
		false
	}
}

/// Takes a worker's bond for faults and tracks the bond at risk in its jobs.
pub trait Slashing<AccountId, Balance> {
	/// Slashed funds handed to the caller to share out (a credit of the native token: it must be
	/// placed somewhere, or dropping it burns the funds).
	type Credit;

	/// Slashes `who` by `amount` for `fault`: first from its bonded funds, then from funds that are
	/// unbonding, never more than it has at stake. The slashed funds go to `to`; the fault and the
	/// amount are recorded. Returns the amount actually slashed (zero for an account with no
	/// stake).
	fn slash(
		who: &AccountId,
		amount: SlashAmount<Balance>,
		fault: FaultKind,
		to: SlashDestination<AccountId>,
	) -> Balance;

	/// Like [`Self::slash`], but hands the slashed funds to the caller as a credit instead of
	/// paying them out, so that the caller can split them (between a challenger, jurors and the
	/// treasury, for example).
	fn slash_into_credit(
		who: &AccountId,
		amount: SlashAmount<Balance>,
		fault: FaultKind,
	) -> Self::Credit;

	/// Records that `who` took `demand` for `model`. A job is refused when the worker is not
	/// registered for the model, has no free slot of its capacity for it, or its unreserved bond
	/// is below the fee, so a slash always covers the fees of the jobs a worker holds. A jury
	/// seat is refused only when the worker is not registered for the model.
	fn note_job_started(who: &AccountId, model: ModelId, demand: Demand<Balance>)
		-> DispatchResult;

	/// Records that `who` is done computing a job or jury seat of `model` (it answered, or
	/// committed its vote): the slot of its capacity is free for another job, while the bond
	/// stays reserved until the job settles.
	fn note_slot_freed(who: &AccountId, model: ModelId);

	/// Records that `demand` of `who` for `model`, taken with [`Self::note_job_started`], ended,
	/// releasing its bond, and its slot when `slot_held` (it was never freed);
	/// `completed` counts it among the worker's jobs done.
	fn note_job_finished(
		who: &AccountId,
		model: ModelId,
		demand: Demand<Balance>,
		slot_held: bool,
		completed: bool,
	);

	/// What `who` holds in flight, as booked (for the job market's consistency checks).
	fn in_flight(who: &AccountId) -> InFlight<Balance>;
}
