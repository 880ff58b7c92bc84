//! The books of the job market ([`Pallet::do_try_state`]), checked by `try_state` and at the end of
//! every test.

use alloc::{collections::btree_map::BTreeMap, vec::Vec};
use frame_support::traits::{fungible::InspectHold, Get};
use sp_runtime::{
	traits::{One, Saturating, Zero},
	TryRuntimeError,
};
use verity_primitives::{workers::Slashing, ModelId};

use crate::{
	pallet::{
		BalanceOf, Challenges, Commitments, Config, HoldReason, Jobs, Juries, OpenCommitments,
		Pallet, ParamsInUse, ParamsVersion, PastJurors, Results, SettlementCursor, Timeouts,
	},
	JobStatus, Timeout,
};

/// What the job market says one worker holds: reserved bond, jobs and seats not settled, and
/// slots busy by model.
type Holding<Balance> = (Balance, u32, BTreeMap<ModelId, u32>);

impl<T: Config> Pallet<T> {
	/// Checks that every held fee and bond is accounted for:
	/// * the fees held from each account equal the fees of its jobs in flight (assigned,
	///   committed or disputed);
	/// * the challenge bonds held from each account equal its unrevealed commitments' and open
	///   challenges' bonds, and its commitment count matches;
	/// * the deposits held from each account equal the deposits of its jobs not yet pruned;
	/// * results exist for every committed, disputed and finalized job and for no pending or
	///   assigned one; juries and challenges exist only for disputed jobs;
	/// * the settlement queue holds exactly one entry per job, at its `next_settlement`, and one
	///   per unrevealed commitment, the block after it expires, and nothing before the cursor;
	/// * each worker's reserved bond and jobs in flight (by model), as the worker pallet books
	///   them, equal the collateral of the jobs it holds and its jury seats;
	/// * every parameter set in use is the one of exactly the jobs in flight naming it, and
	///   there are at most [`Config::MaxParamsVersions`] (+ the current one) of them.
	///
	/// [`Pallet::params_in_use_are_sound`] checks the sets themselves.
	pub fn do_try_state() -> Result<(), TryRuntimeError> {
		let mut fees: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		let mut deposits: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		let mut holding: BTreeMap<T::AccountId, Holding<BalanceOf<T>>> = BTreeMap::new();
		let mut hold = |who: &T::AccountId, model: ModelId, fee: BalanceOf<T>, busy: bool| {
			let entry = holding
				.entry(who.clone())
				.or_insert_with(|| (Zero::zero(), 0, BTreeMap::new()));
			entry.0 = entry.0.saturating_add(fee);
			entry.1 = entry.1.saturating_add(1);
			let slots = entry.2.entry(model).or_insert(0);
			*slots = slots.saturating_add(u32::from(busy));
		};
		let mut versions: BTreeMap<u32, u32> = BTreeMap::new();
		let cursor = SettlementCursor::<T>::get();
		for (job_id, job) in Jobs::<T>::iter() {
			let has_result = Results::<T>::contains_key(job_id);
			let disputed = matches!(job.status, JobStatus::Disputed { .. });
			invariant(
				Timeouts::<T>::contains_key(job.next_settlement, Timeout::Job(job_id)),
				"a job has no entry in the settlement queue at its next settlement",
			)?;
			let deposit = deposits
				.entry(job.submitter.clone())
				.or_insert_with(Zero::zero);
			*deposit = deposit.saturating_add(job.deposit);
			match &job.status {
				JobStatus::Pending { .. } => {
					invariant(!has_result, "a pending job has a result")?;
				}
				JobStatus::Assigned { .. } => {
					invariant(!has_result, "an assigned job has a result")?;
				}
				JobStatus::Committed { .. } | JobStatus::Disputed { .. } => {
					invariant(has_result, "a committed or disputed job has no result")?;
				}
				JobStatus::Finalized { .. } => {
					invariant(has_result, "a finalized job has no result")?;
				}
				JobStatus::Refunded { .. } => {}
			}
			if matches!(
				job.status,
				JobStatus::Disputed {
					jury_pending: true,
					..
				}
			) {
				invariant(
					!Juries::<T>::contains_key(job_id),
					"a jury sits while its draw is pending",
				)?;
			}
			if !disputed {
				invariant(
					!Juries::<T>::contains_key(job_id),
					"a jury outlived its dispute",
				)?;
				invariant(
					!Challenges::<T>::contains_key(job_id),
					"a challenge outlived its dispute",
				)?;
			}
			let collateral = Self::collateral(&Self::params_of(&job), job.fee);
			match &job.status {
				JobStatus::Assigned { worker, .. } => hold(worker, job.model, collateral, true),
				JobStatus::Committed { worker, .. } | JobStatus::Disputed { worker, .. } => {
					hold(worker, job.model, collateral, false)
				}
				_ => {}
			}
			if matches!(
				job.status,
				JobStatus::Pending { .. }
					| JobStatus::Assigned { .. }
					| JobStatus::Committed { .. }
					| JobStatus::Disputed { .. }
			) {
				let held = fees.entry(job.submitter.clone()).or_insert_with(Zero::zero);
				*held = held.saturating_add(job.fee);
				let jobs = versions.entry(job.params_version).or_insert(0);
				*jobs = jobs.saturating_add(1);
			}
		}
		Self::check_params_in_use(&versions)?;
		for (job_id, jury) in Juries::<T>::iter() {
			let job = Jobs::<T>::get(job_id);
			invariant(job.is_some(), "a jury without a job")?;
			if let Some(job) = job {
				for (juror, seat) in jury.members.iter() {
					hold(juror, job.model, Zero::zero(), seat.commitment.is_none());
				}
			}
			let seats = jury.members.iter().try_fold(0u32, |sum, (_, seat)| {
				(seat.seats > 0).then(|| sum.saturating_add(seat.seats))
			});
			invariant(
				seats.is_some_and(|seats| seats > 0 && seats <= T::MaxJurySize::get()),
				"a jury has a member without a seat, or more seats than the largest jury",
			)?;
		}
		for (job_id, _) in PastJurors::<T>::iter() {
			invariant(
				Jobs::<T>::get(job_id)
					.is_some_and(|job| matches!(job.status, JobStatus::Disputed { .. })),
				"past jurors outlived their dispute",
			)?;
		}
		for (who, expected) in &fees {
			let held = T::Currency::balance_on_hold(&HoldReason::JobFee.into(), who);
			invariant(
				held == *expected,
				"held fees differ from the fees of jobs in flight",
			)?;
		}
		for (who, expected) in &deposits {
			let held = T::Currency::balance_on_hold(&HoldReason::JobDeposit.into(), who);
			invariant(
				held == *expected,
				"held deposits differ from the deposits of jobs kept",
			)?;
		}
		for (who, (reserved, count, by_model)) in &holding {
			let booked = T::Slashing::in_flight(who);
			invariant(
				booked.reserved == *reserved,
				"a worker's reserved bond differs from the collateral of its jobs in flight",
			)?;
			invariant(
				booked.count == *count,
				"a worker's jobs in flight differ from its jobs and jury seats",
			)?;
			let mut booked_busy: Vec<(ModelId, u32)> =
				booked.busy.into_iter().filter(|(_, n)| *n > 0).collect();
			booked_busy.sort();
			let expected: Vec<(ModelId, u32)> = by_model
				.iter()
				.filter(|(_, n)| **n > 0)
				.map(|(m, n)| (*m, *n))
				.collect();
			invariant(
				booked_busy == expected,
				"a worker's busy slots differ from its unanswered jobs and unvoted seats",
			)?;
		}
		let mut queued = 0u32;
		for (block, timeout) in Timeouts::<T>::iter_keys() {
			invariant(
				block >= cursor,
				"a queue entry before the settlement cursor",
			)?;
			match timeout {
				Timeout::Job(job_id) => invariant(
					Jobs::<T>::get(job_id).is_some_and(|job| job.next_settlement == block),
					"a queue entry for a job that is not due then",
				)?,
				Timeout::Commitment(commitment) => {
					invariant(
						Commitments::<T>::get(commitment)
							.is_some_and(|c| c.expires_at.saturating_add(One::one()) == block),
						"a queue entry for a commitment that does not expire then",
					)?;
					queued = queued.saturating_add(1);
				}
			}
		}
		invariant(
			queued == Commitments::<T>::iter_keys().count() as u32,
			"an unrevealed commitment has no queue entry",
		)?;

		let mut bonds: BTreeMap<T::AccountId, (BalanceOf<T>, u32)> = BTreeMap::new();
		for (_, committed) in Commitments::<T>::iter() {
			let entry = bonds
				.entry(committed.challenger)
				.or_insert((Zero::zero(), 0));
			entry.0 = entry.0.saturating_add(committed.bond);
			entry.1 = entry.1.saturating_add(1);
		}
		for (job_id, challenge) in Challenges::<T>::iter() {
			invariant(Jobs::<T>::contains_key(job_id), "a challenge without a job")?;
			let entry = bonds
				.entry(challenge.challenger)
				.or_insert((Zero::zero(), 0));
			entry.0 = entry.0.saturating_add(challenge.bond);
		}
		for (who, (expected, commitments)) in &bonds {
			let held = T::Currency::balance_on_hold(&HoldReason::ChallengeBond.into(), who);
			invariant(
				held == *expected,
				"held challenge bonds differ from the books",
			)?;
			invariant(
				OpenCommitments::<T>::get(who) == *commitments,
				"an account's commitment count is wrong",
			)?;
		}
		for (who, count) in OpenCommitments::<T>::iter() {
			invariant(
				bonds
					.get(&who)
					.is_some_and(|(_, commitments)| *commitments == count),
				"a commitment count without commitments",
			)?;
		}
		Ok(())
	}
}

impl<T: Config> Pallet<T> {
	/// Checks that every parameter set a job in flight was submitted under passes
	/// [`Pallet::check_params`]: cheating loses, and every bound holds, under each of them.
	pub fn params_in_use_are_sound() -> Result<(), TryRuntimeError> {
		for (_, in_use) in ParamsInUse::<T>::iter() {
			invariant(
				Self::check_params(&in_use.params).is_ok(),
				"a parameter set in use fails the soundness check",
			)?;
		}
		invariant(
			Self::check_params(&crate::Params::<T>::get()).is_ok(),
			"the current parameters fail the soundness check",
		)
	}

	/// The parameter sets in use against `versions`, the jobs in flight counted by version.
	fn check_params_in_use(versions: &BTreeMap<u32, u32>) -> Result<(), TryRuntimeError> {
		let mut entries = 0u32;
		for (version, in_use) in ParamsInUse::<T>::iter() {
			entries = entries.saturating_add(1);
			invariant(
				versions.get(&version) == Some(&in_use.jobs),
				"a parameter set's job count differs from the jobs in flight under it",
			)?;
			invariant(
				version <= ParamsVersion::<T>::get(),
				"a parameter set in use from the future",
			)?;
		}
		invariant(
			entries as usize == versions.len(),
			"a job in flight under a parameter set not in use",
		)?;
		invariant(
			entries == ParamsInUse::<T>::count(),
			"the count of parameter sets in use is wrong",
		)?;
		invariant(
			entries <= T::MaxParamsVersions::get().saturating_add(1),
			"more parameter sets in use than the bound",
		)
	}
}

fn invariant(holds: bool, broken: &'static str) -> Result<(), TryRuntimeError> {
	if holds {
		Ok(())
	} else {
		Err(TryRuntimeError::Other(broken))
	}
}
