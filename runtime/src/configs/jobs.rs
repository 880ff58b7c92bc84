//! The inference-job market (`pallet-jobs`): fees, assignments, challenges, audits and juries,
//! reading the registry and the workers through the `verity-primitives` traits.

use frame_support::{
	parameter_types,
	traits::{tokens::imbalance::ResolveTo, ConstU32, EitherOfDiverse},
};
use frame_system::EnsureRoot;
use pallet_jobs::{JobParams, WindowBounds};
use sp_runtime::Perbill;
use verity_primitives::{
	time::{DAYS, HOURS, MINUTES},
	token::{MICRO_UNIT, MILLI_UNIT, UNIT},
	BlockNumber,
};

use crate::{
	configs::{
		governance::{EnsureCouncilMajority, TreasuryAccount},
		workers::{MaxJobLifetime, MinWorkerBond},
	},
	AccountId, Balance, Balances, Models, Runtime, RuntimeHoldReason, Workers,
};

/// BABE's VRF randomness of the parent block (`pallet_babe::ParentBlockRandomness`), mixed with
/// the subject: an author cannot choose it (the VRF output is fixed by its key and the slot), only
/// withhold its block. It is `None` before the first block with a VRF output. The job market mixes
/// it into its randomness beacon every block and draws only after `draw_delay` fresh outputs;
/// without one a draw waits and never falls back to a block hash (see `pallet_jobs::draws`).
pub type VrfRandomness = pallet_babe::ParentBlockRandomness<Runtime>;

/// The market's parameters on long-running chains (live networks): windows in minutes
/// and hours, so challengers and jurors have time to re-run a job and a censoring block author
/// cannot hold off a challenge for the whole window.
pub fn live_params() -> JobParams<Balance, BlockNumber> {
	JobParams {
		execution_window: 10 * MINUTES,
		challenge_window: HOURS,
		challenge_commit_ttl: HOURS,
		jury_commit_window: 10 * MINUTES,
		jury_reveal_window: 10 * MINUTES,
		council_window: 6 * HOURS,
		audit_rate: Perbill::from_percent(10),
		jury_size: 3,
		challenge_bond: 100 * UNIT,
		max_job_fee: 10 * UNIT,
		min_job_fee: MILLI_UNIT,
		missed_deadline_multiple: 2,
		wrong_result_multiple: 20,
		slash_juror: Perbill::from_rational(1u32, 1_000u32),
		slash_juror_silent: Perbill::from_percent(1),
		jury_rounds: 3,
		protocol_share: Perbill::from_percent(10),
		winner_share: Perbill::from_percent(50),
		jury_share: Perbill::from_percent(30),
		result_retention: 7 * 24 * HOURS,
		// A minute of VRF outputs after a draw falls due: predicting one takes authoring all ten
		// blocks (10⁻¹⁰ at 10% of block production, 1.5·10⁻⁵ at 33%; see `pallet_jobs::draws`).
		draw_delay: 10,
	}
}

/// The development chain's parameters: the live economics with windows of a few blocks, so a job
/// submitted on a fresh dev chain finalizes within a minute or two.
pub fn dev_params() -> JobParams<Balance, BlockNumber> {
	JobParams {
		execution_window: 10,
		challenge_window: 5,
		challenge_commit_ttl: 10,
		jury_commit_window: 3,
		jury_reveal_window: 3,
		council_window: 10,
		result_retention: 24 * HOURS,
		// The shortest delay: the one-validator dev chain is for testing, not for value (the
		// `local` preset has these windows with the live delay, 10).
		draw_delay: pallet_jobs::draws::MIN_DRAW_DELAY,
		..live_params()
	}
}

/// The `local` testnet's parameters: the development chain's short windows (a job is drawn,
/// answered, and finalized or reassigned within a few minutes), with the live draw delay (ten
/// VRT outputs), since four authorities make the delay meaningful there.
pub fn local_params() -> JobParams<Balance, BlockNumber> {
	JobParams {
		draw_delay: live_params().draw_delay,
		..dev_params()
	}
}

parameter_types! {
	/// The parameters until genesis or the council sets others.
	pub DefaultJobParams: JobParams<Balance, BlockNumber> = live_params();
	/// The shortest windows the council may set (6-second blocks): a minute to run a job, 30
	/// seconds to challenge (re-running takes a juror about as long as the worker), 18 seconds
	/// per jury phase, a minute for the council; results kept from ten minutes to 30 days.
	pub JobWindowBounds: WindowBounds<BlockNumber> = WindowBounds {
		min_execution_window: MINUTES,
		min_challenge_window: 5,
		min_jury_phase: 3,
		min_council_window: MINUTES,
		min_result_retention: 10 * MINUTES,
		max_result_retention: 30 * DAYS,
	};
	/// A job's record costs a flat 0.001 VRT to keep...
	pub const JobDepositBase: Balance = MILLI_UNIT;
	/// ...and a millionth of a VRT per byte of input and largest output (about 0.17 VRT for the
	/// largest embedding job, 32 texts of 1 KiB; about 0.005 VRT for a 128-token generation).
	pub const JobDepositPerByte: Balance = MICRO_UNIT;
}

impl pallet_jobs::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Models = Models;
	type Workers = Workers;
	type Slashing = Workers;
	type Randomness = VrfRandomness;
	type ProtocolFees = ResolveTo<TreasuryAccount, Balances>;
	/// A council majority (or root on development chains) changes the economics.
	type ParamsOrigin = EitherOfDiverse<EnsureRoot<AccountId>, EnsureCouncilMajority>;
	/// A council majority (or root) rules on disputes no jury could be drawn for.
	type DisputeOrigin = EitherOfDiverse<EnsureRoot<AccountId>, EnsureCouncilMajority>;
	type MinWorkerBond = MinWorkerBond;
	type MaxJobLifetime = MaxJobLifetime;
	type DefaultParams = DefaultJobParams;
	type WindowBounds = JobWindowBounds;
	/// Parameter sets with jobs in flight at once (each change adds one until its jobs settle,
	/// within `MaxJobLifetime`).
	type MaxParamsVersions = ConstU32<8>;
	type MaxJurySize = ConstU32<9>;
	type MaxJuryRounds = ConstU32<3>;
	/// 64 entries of the heaviest kind fit in half a block (the integrity test checks it); the
	/// rest of a burst waits for the next blocks.
	type MaxSettlementsPerBlock = ConstU32<64>;
	type JobDepositBase = JobDepositBase;
	type JobDepositPerByte = JobDepositPerByte;
	type MaxOpenCommitments = ConstU32<16>;
	/// The workers whose `vwrk` keys this node holds answer jobs and vote from its off-chain
	/// worker.
	type LocalWorkers = crate::configs::offchain::KeystoreWorkers;
	type WeightInfo = crate::weights::pallet_jobs::WeightInfo<Runtime>;
}

#[cfg(test)]
mod tests {
	use frame_support::{traits::Get, weights::Weight};
	use pallet_balances::WeightInfo as _;
	use pallet_jobs::WeightInfo as _;

	use crate::Runtime;

	type JobWeights = crate::weights::pallet_jobs::WeightInfo<Runtime>;
	type TransferWeights = <Runtime as pallet_balances::Config>::WeightInfo;

	/// The weight of one job that nobody disputes (submit, answer, audit draw, finalize), as a
	/// multiple of a `transfer_keep_alive`: what using the market costs next to a payment. The
	/// audit draw is counted at its cost with a one-juror audit, an upper bound of a draw that
	/// audits nothing. Measured 2026-11-26 with the worst-case weights (largest input and output,
	/// fullest worker index): 28.8 × (goal ≤ 4, not met).
	#[test]
	fn one_job_lifecycle_weight_next_to_a_transfer() {
		let lifecycle: Weight = JobWeights::submit_job()
			+ JobWeights::submit_result()
			+ JobWeights::settle_audit_draw(1)
			+ JobWeights::settle_finalize();
		let transfer = TransferWeights::transfer_keep_alive();
		let ratio = lifecycle.ref_time() as f64 / transfer.ref_time() as f64;
		println!(
			"one job lifecycle: {} ps of computation = {ratio:.2} × transfer_keep_alive ({} ps); \
			 goal ≤ 4",
			lifecycle.ref_time(),
			transfer.ref_time()
		);
		assert!(
			lifecycle.ref_time() > transfer.ref_time(),
			"the weights are real"
		);
	}

	/// The figures of the economic check (see `pallet_jobs::economics`) for the live and the
	/// development parameters: what lying on one job at the largest fee is expected to pay, what
	/// a liar with the smallest bond holding as many jobs as its bond backs expects, and the
	/// largest fee the check would allow for that bond.
	#[test]
	fn cheating_loses_under_the_live_and_the_dev_parameters() {
		use crate::configs::jobs::{dev_params, live_params};
		use verity_primitives::token::UNIT;
		type Jobs = pallet_jobs::Pallet<Runtime>;
		let bond = <Runtime as pallet_jobs::Config>::MinWorkerBond::get();
		let capacity = <Runtime as pallet_workers::Config>::MaxCapacity::get();
		for (name, params) in [("live", live_params()), ("dev", dev_params())] {
			assert!(Jobs::cheating_loses(&params), "{name}");
			let fee = params.max_job_fee;
			let p = params.audit_rate.deconstruct() as f64 / 1e9;
			let paid = (fee - params.protocol_share * fee) as f64;
			let slash = (fee * params.wrong_result_multiple as u128) as f64;
			let per_job = (1.0 - p) * paid - p * slash;
			let collateral = Jobs::collateral(&params, fee);
			let held = ((bond / collateral) as u32).min(capacity);
			let largest_fee = bond
				/ params
					.wrong_result_multiple
					.max(params.missed_deadline_multiple) as u128;
			println!(
				"{name}: audit {:.0} %, wrong-result multiple {}: lying on a {} VRT job expects \
				 {:+.2} VRT; a minimum-bond ({} VRT) liar holds {held} such jobs (collateral {} \
				 VRT each) and expects {:+.2} VRT against {:.2} VRT it could gain unaudited; \
				 largest max_job_fee for that bond: {} VRT",
				p * 100.0,
				params.wrong_result_multiple,
				fee / UNIT,
				per_job / UNIT as f64,
				bond / UNIT,
				collateral / UNIT,
				per_job * held as f64 / UNIT as f64,
				paid * held as f64 / UNIT as f64,
				largest_fee / UNIT
			);
			assert!(per_job < 0.0);
			assert!(held >= 1, "a minimum bond backs one job at the largest fee");
			let mut above = params.clone();
			above.max_job_fee = largest_fee + 1;
			assert!(Jobs::check_params(&above).is_err());
		}
	}

	/// The settlement hook's worst block (every entry the heaviest kind) next to half a block,
	/// with the runtime's weights: what the pallet's integrity test asserts.
	#[test]
	fn the_worst_settlement_of_a_block_fits_in_half_of_it() {
		let worst = pallet_jobs::Pallet::<Runtime>::worst_settlement_weight();
		let max = <Runtime as frame_system::Config>::BlockWeights::get().max_block;
		println!(
			"worst settlement of one block ({} entries): {:.1} ms of the block's {:.0} ms ({:.0}%)",
			<<Runtime as pallet_jobs::Config>::MaxSettlementsPerBlock as Get<u32>>::get(),
			worst.ref_time() as f64 / 1e9,
			max.ref_time() as f64 / 1e9,
			100.0 * worst.ref_time() as f64 / max.ref_time() as f64
		);
		assert!(worst.all_lte(max / 2));
		// And it is not trivially small: a block's budget covers dozens of heavy entries.
		assert!(worst.ref_time() > max.ref_time() / 20, "{worst:?}");
	}
}
