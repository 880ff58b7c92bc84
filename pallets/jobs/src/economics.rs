//! Why cheating loses, and the check that keeps it so ([`Pallet::check_params`]): run on the
//! runtime's defaults by `integrity_test`, on genesis parameters and on every council change.
//!
//! ## Cheating on every job in flight
//!
//! A worker that returns made-up outputs saves the cost of running the model and, when nobody
//! disproves the output, is paid the fee. Each job it is drawn for reserves the job's
//! *collateral* from its bond, `c = max(wrong_result_multiple, missed_deadline_multiple) × fee`,
//! held until the job settles; a result proved wrong is slashed `wrong_result_multiple × fee`
//! (`m × f`), taken from that reservation. Reservations never exceed the bond, and the bond
//! falls only by slashes, so a worker caught on `k` of its jobs loses at least the sum of their
//! `m × f` whatever else it holds: each job in flight carries its own slash, and a worker cannot
//! spread one stake thin over many jobs (a share of the stake per lie would shrink with every
//! lie caught: with a 50 % slash, cheating on many jobs at once paid).
//!
//! A result is audited with probability `p = audit_rate`, drawn from randomness of a block after
//! the result is on chain. An audit no jury can be seated for (a model with one worker, or every
//! other worker paused) goes to the council instead of being skipped, so `p` is the audit rate
//! for every model, provided the council rules on what it is referred (see "What the check
//! assumes"). Challenges by users only add to `p`; the check does not count them. For a worker
//! that lies on all `N` jobs it holds, paying `f_1 … f_N`, with protocol share `s`:
//!
//! ```text
//! E[profit] = Σ_i ((1 − p)(1 − s) f_i − p m f_i)  ≤  Σ_i f_i ((1 − p) − p m)
//! ```
//!
//! (caught, it loses `m f_i` and is not paid; not caught, it is paid `(1 − s) f_i` and saved at
//! most that in compute, the bound is the same whether profit is counted against doing nothing
//! or against honest work). The sum is linear in the jobs, so it is negative for every `N`,
//! every capacity and every mix of fees exactly when
//!
//! ```text
//! p × m  >  1 − p          (checked exactly, in parts per billion: CheatingPays)
//! ```
//!
//! The live and development parameters (p = 10 %, m = 20): `E[profit] ≤ (0.9 − 2.0) f = −1.1 f`
//! per job. A worker with the smallest bond can hold jobs whose collateral fits its bond; the
//! check also requires that one job at the largest fee fits (`c(max_job_fee) ≤ MinWorkerBond`,
//! else `CollateralAboveMinBond`), which bounds `max_job_fee` by `MinWorkerBond / c` (live:
//! 1,000 VRT / 20 = 50 VRT).
//!
//! ## What the check assumes
//!
//! * The council rules on every dispute referred to it. A council that stays silent lets the
//!   result stand (`NoVerdict`), so a silent council lowers `p` on models too thin to seat a
//!   jury; the market trusts the council there, as it does for its parameters.
//! * Jurors are not the cheater's own accounts. A worker that also controls the jurors of a
//!   model outvotes the truth; stake-weighted draws make that cost a majority of the model's
//!   stake, and the juror game is a later issue.
//!
//! ## Bounds
//!
//! A parameter set is also a weapon in the hands of whoever sets it: a 100 % missed-deadline
//! slash or a one-block execution window would rob honest workers for the treasury. Every
//! multiple, share and window has a bound, each with its own error; windows are bounded by the
//! runtime's [`crate::WindowBounds`] below and by [`crate::Config::MaxJobLifetime`] above. A
//! change applies only to jobs submitted after it (see [`crate::ParamsInUse`]).

use sp_runtime::{traits::Saturating, DispatchError, Perbill};

use crate::pallet::{BalanceOf, Config, Error, JobParamsOf, Pallet};
use frame_support::{ensure, traits::Get};
use sp_runtime::traits::Zero;

/// The largest [`crate::JobParams::missed_deadline_multiple`].
pub const MAX_MISSED_DEADLINE_MULTIPLE: u32 = 10;
/// The largest [`crate::JobParams::wrong_result_multiple`] (its lower bound is the economic
/// check).
pub const MAX_WRONG_RESULT_MULTIPLE: u32 = 100;
/// The largest [`crate::JobParams::audit_rate`]: beyond it most jobs wait for a jury.
pub const MAX_AUDIT_RATE: Perbill = Perbill::from_percent(50);
/// The largest [`crate::JobParams::slash_juror`] and [`crate::JobParams::slash_juror_silent`].
pub const MAX_JUROR_SLASH: Perbill = Perbill::from_percent(10);
/// The largest [`crate::JobParams::protocol_share`] of a fee.
pub const MAX_PROTOCOL_SHARE: Perbill = Perbill::from_percent(50);
/// The smallest [`crate::JobParams::winner_share`]: catching a liar must pay the challenger.
pub const MIN_WINNER_SHARE: Perbill = Perbill::from_percent(10);

impl<T: Config> Pallet<T> {
	/// The collateral a job paying `fee` reserves from its worker's bond under `params`: it
	/// covers the slash for a wrong result and the penalty for a missed deadline.
	pub fn collateral(params: &JobParamsOf<T>, fee: BalanceOf<T>) -> BalanceOf<T> {
		let multiple = params
			.wrong_result_multiple
			.max(params.missed_deadline_multiple);
		fee.saturating_mul(multiple.into())
	}

	/// The most blocks a job can stay open under `params` when settlement runs on time and
	/// every block has a VRF output: two assignment draws and execution windows (one
	/// reassignment), the challenge window or the audit's draw delay, every jury round with its
	/// draw delay, and then the council. (A busy settlement queue or blocks without VRF output
	/// can add blocks; the worker pallet keeps a worker's stake until all its jobs have settled,
	/// however late.)
	pub fn job_lifetime(
		params: &JobParamsOf<T>,
	) -> frame_system::pallet_prelude::BlockNumberFor<T> {
		let delay: frame_system::pallet_prelude::BlockNumberFor<T> = params.draw_delay.into();
		// Each jury waits a draw delay, then its commit and reveal windows.
		let jury = params
			.jury_commit_window
			.saturating_add(params.jury_reveal_window)
			.saturating_add(1u32.into())
			.saturating_add(delay);
		// Two assignment draws, and the audit draw (at most the challenge window, or the delay
		// when that is longer): every draw waits its delay.
		params
			.execution_window
			.saturating_add(1u32.into())
			.saturating_add(delay)
			.saturating_mul(2u32.into())
			.saturating_add(1u32.into())
			.saturating_add(params.challenge_window)
			.saturating_add(delay)
			.saturating_add(jury.saturating_mul(params.jury_rounds.into()))
			.saturating_add(params.council_window)
	}

	/// Whether a worker that lies on every job expects to lose (see the module docs): `p × m >
	/// 1 − p`, exactly, in parts per billion.
	pub fn cheating_loses(params: &JobParamsOf<T>) -> bool {
		let p = params.audit_rate.deconstruct() as u64;
		let whole = Perbill::one().deconstruct() as u64;
		p.saturating_mul(params.wrong_result_multiple as u64) > whole.saturating_sub(p)
	}

	/// Checks `params`: windows within the runtime's bounds, an odd jury the runtime can seat,
	/// multiples and shares within the pallet's bounds, jobs that end before the worker pallet's
	/// unbonding period does, and economics where cheating does not pay. Each refusal names the
	/// bound it breaks.
	pub fn check_params(params: &JobParamsOf<T>) -> Result<(), DispatchError> {
		let bounds = T::WindowBounds::get();
		ensure!(
			params.execution_window >= bounds.min_execution_window,
			Error::<T>::ExecutionWindowTooShort
		);
		ensure!(
			params.challenge_window >= bounds.min_challenge_window
				&& params.challenge_commit_ttl >= bounds.min_challenge_window,
			Error::<T>::ChallengeWindowTooShort
		);
		ensure!(
			params.jury_commit_window >= bounds.min_jury_phase
				&& params.jury_reveal_window >= bounds.min_jury_phase,
			Error::<T>::JuryWindowTooShort
		);
		ensure!(
			params.council_window >= bounds.min_council_window,
			Error::<T>::CouncilWindowTooShort
		);
		ensure!(
			params.result_retention >= bounds.min_result_retention
				&& params.result_retention <= bounds.max_result_retention,
			Error::<T>::RetentionOutOfBounds
		);
		ensure!(
			crate::draws::draw_delay_in_bounds(params),
			Error::<T>::DrawDelayOutOfBounds
		);
		ensure!(
			params.jury_size % 2 == 1
				&& params.jury_size <= T::MaxJurySize::get()
				&& params.jury_rounds >= 1
				&& params.jury_rounds <= T::MaxJuryRounds::get(),
			Error::<T>::BadJurySize
		);
		ensure!(
			params.winner_share.deconstruct() as u64 + params.jury_share.deconstruct() as u64
				<= Perbill::one().deconstruct() as u64,
			Error::<T>::SharesExceedWhole
		);
		ensure!(
			params.winner_share >= MIN_WINNER_SHARE,
			Error::<T>::WinnerShareTooLow
		);
		ensure!(
			params.protocol_share <= MAX_PROTOCOL_SHARE,
			Error::<T>::ProtocolShareTooHigh
		);
		ensure!(
			params.audit_rate <= MAX_AUDIT_RATE,
			Error::<T>::AuditRateTooHigh
		);
		ensure!(
			params.slash_juror <= MAX_JUROR_SLASH && params.slash_juror_silent <= MAX_JUROR_SLASH,
			Error::<T>::JurorSlashTooHigh
		);
		ensure!(
			params.slash_juror_silent >= params.slash_juror,
			Error::<T>::SilenceCheaperThanMinority
		);
		ensure!(
			!params.challenge_bond.is_zero()
				&& !params.max_job_fee.is_zero()
				&& !params.min_job_fee.is_zero()
				&& params.min_job_fee <= params.max_job_fee
				&& params.missed_deadline_multiple > 0,
			Error::<T>::ZeroAmount
		);
		ensure!(
			params.missed_deadline_multiple <= MAX_MISSED_DEADLINE_MULTIPLE,
			Error::<T>::MissedDeadlineMultipleTooHigh
		);
		ensure!(
			params.wrong_result_multiple <= MAX_WRONG_RESULT_MULTIPLE,
			Error::<T>::WrongResultMultipleTooHigh
		);
		ensure!(
			Self::job_lifetime(params) <= T::MaxJobLifetime::get(),
			Error::<T>::LifetimeTooLong
		);
		ensure!(Self::cheating_loses(params), Error::<T>::CheatingPays);
		ensure!(
			Self::collateral(params, params.max_job_fee) <= T::MinWorkerBond::get(),
			Error::<T>::CollateralAboveMinBond
		);
		// What a challenger risks stays within what a rejected lie can pay it.
		ensure!(
			params.challenge_bond
				<= params
					.max_job_fee
					.saturating_mul(params.wrong_result_multiple.into()),
			Error::<T>::ChallengeBondTooHigh
		);
		Ok(())
	}
}
