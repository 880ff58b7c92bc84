//! The books of the job market ([`Pallet::do_try_state`]), checked by `try_state` and at the end of
//! every test.

use alloc::collections::btree_map::BTreeMap;
use frame_support::traits::fungible::InspectHold;
use sp_runtime::{
	traits::{Saturating, Zero},
	TryRuntimeError,
};

use crate::{
	pallet::{
		BalanceOf, Challenges, Commitments, Config, HoldReason, Jobs, Juries, OpenCommitments,
		Pallet, Results,
	},
	JobStatus,
};

impl<T: Config> Pallet<T> {
	/// Checks that every held fee and bond is accounted for:
	/// * the fees held from each account equal the fees of its jobs in flight (assigned,
	///   committed or disputed);
	/// * the challenge bonds held from each account equal its unrevealed commitments' and open
	///   challenges' bonds, and its commitment count matches;
	/// * results exist for every committed, disputed and finalized job and for no assigned one;
	///   juries and challenges exist only for disputed jobs.
	pub fn do_try_state() -> Result<(), TryRuntimeError> {
		let mut fees: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		for (job_id, job) in Jobs::<T>::iter() {
			let has_result = Results::<T>::contains_key(job_id);
			let disputed = matches!(job.status, JobStatus::Disputed { .. });
			match job.status {
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
			if matches!(
				job.status,
				JobStatus::Assigned { .. }
					| JobStatus::Committed { .. }
					| JobStatus::Disputed { .. }
			) {
				let held = fees.entry(job.submitter.clone()).or_insert_with(Zero::zero);
				*held = held.saturating_add(job.fee);
			}
		}
		for (job_id, _) in Juries::<T>::iter() {
			invariant(Jobs::<T>::contains_key(job_id), "a jury without a job")?;
		}
		for (who, expected) in &fees {
			let held = T::Currency::balance_on_hold(&HoldReason::JobFee.into(), who);
			invariant(
				held == *expected,
				"held fees differ from the fees of jobs in flight",
			)?;
		}

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

fn invariant(holds: bool, broken: &'static str) -> Result<(), TryRuntimeError> {
	if holds {
		Ok(())
	} else {
		Err(TryRuntimeError::Other(broken))
	}
}
