//! The soundness check of the market's parameters ([`Pallet::check_params`]): run on the
//! runtime's defaults by `integrity_test`, on genesis parameters, and on every council change.

use sp_runtime::{traits::Saturating, DispatchError, Perbill};

use crate::pallet::{Config, Error, JobParamsOf, Pallet};
use frame_support::{ensure, traits::Get};
use sp_runtime::traits::Zero;

impl<T: Config> Pallet<T> {
	/// The most blocks a job can stay open under `params` when settlement runs on time: the
	/// assignment block, two execution windows (one reassignment), the challenge window, every
	/// jury round and then the council. (A busy settlement queue can add blocks; the worker
	/// pallet keeps a worker's stake until all its jobs have settled, however late.)
	pub fn job_lifetime(
		params: &JobParamsOf<T>,
	) -> frame_system::pallet_prelude::BlockNumberFor<T> {
		let jury = params
			.jury_commit_window
			.saturating_add(params.jury_reveal_window)
			.saturating_add(1u32.into());
		params
			.execution_window
			.saturating_add(1u32.into())
			.saturating_mul(2u32.into())
			.saturating_add(1u32.into())
			.saturating_add(params.challenge_window)
			.saturating_add(jury.saturating_mul(params.jury_rounds.into()))
			.saturating_add(params.council_window)
	}

	/// Checks `params`: windows long enough to act in, an odd jury the runtime can seat, shares
	/// that fit in a whole, jobs that end before the worker pallet's unbonding period does, and
	/// economics where cheating does not pay: the largest fee (what a worker gains by not running
	/// the model) must stay below the audit rate times the slash of the smallest bond.
	pub fn check_params(params: &JobParamsOf<T>) -> Result<(), DispatchError> {
		let one = 1u32.into();
		ensure!(
			params.execution_window >= one
				&& params.challenge_window >= 2u32.into()
				&& params.challenge_commit_ttl >= one
				&& params.jury_commit_window >= one
				&& params.jury_reveal_window >= one
				&& params.council_window >= one
				&& params.result_retention >= one,
			Error::<T>::WindowTooShort
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
			!params.challenge_bond.is_zero()
				&& !params.max_job_fee.is_zero()
				&& !params.min_job_fee.is_zero()
				&& params.min_job_fee <= params.max_job_fee
				&& params.missed_deadline_multiple > 0,
			Error::<T>::ZeroAmount
		);
		ensure!(
			Self::job_lifetime(params) <= T::MaxJobLifetime::get(),
			Error::<T>::LifetimeTooLong
		);
		let expected_loss =
			params.audit_rate * (params.slash_wrong_result * T::MinWorkerBond::get());
		ensure!(params.max_job_fee < expected_loss, Error::<T>::CheatingPays);
		Ok(())
	}
}
