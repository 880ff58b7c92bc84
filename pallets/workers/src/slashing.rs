//! Slashing and jobs in flight ([`Slashing`]).
//!
//! A slash takes from the bonded funds first, then from unbonding chunks (the latest to unlock
//! first), never more than the worker has at stake. The held funds are slashed with
//! `BalancedHold::slash` and the credit goes where the caller says: to an account (if that account
//! cannot receive it, for example because the amount is below the existing deposit of a new
//! account, it goes to the treasury instead), to the treasury, or is burned. Each slash counts the
//! fault in the worker's [`crate::WorkerStats`], even when nothing was left to take.
//! [`Slashing::slash_into_credit`] hands the credit to the caller instead, to share out.

use frame_support::{
	ensure,
	traits::{
		fungible::{Balanced, BalancedHold},
		Imbalance, OnUnbalanced,
	},
};
use sp_runtime::{
	traits::{CheckedAdd, Saturating, Zero},
	DispatchResult,
};
use verity_primitives::{
	workers::{Demand, FaultKind, InFlight, SlashAmount, SlashDestination, Slashing},
	ModelId,
};

use crate::{
	pallet::{
		BalanceOf, Config, CreditOf, Error, Event, HoldReason, LedgerOf, Ledgers, Pallet, Stats,
		Workers,
	},
	WorkerStatus,
};

impl<T: Config> Pallet<T> {
	/// Takes `amount` out of `ledger`: bonded first, then the chunks that unlock last. Chunks
	/// emptied are dropped. `amount` must not exceed the ledger's stake.
	fn deduct(ledger: &mut LedgerOf<T>, amount: BalanceOf<T>) {
		let from_bonded = amount.min(ledger.bonded);
		ledger.bonded = ledger.bonded.saturating_sub(from_bonded);
		let mut left = amount.saturating_sub(from_bonded);
		for chunk in ledger.unbonding.iter_mut().rev() {
			if left.is_zero() {
				break;
			}
			let taken = left.min(chunk.amount);
			chunk.amount = chunk.amount.saturating_sub(taken);
			left = left.saturating_sub(taken);
		}
		ledger.unbonding.retain(|chunk| !chunk.amount.is_zero());
	}

	/// Sends slashed funds to their destination.
	fn pay_out(credit: CreditOf<T>, to: SlashDestination<T::AccountId>) {
		match to {
			SlashDestination::Account(account) => {
				if let Err(unplaced) = T::Currency::resolve(&account, credit) {
					T::Slashed::on_unbalanced(unplaced);
				}
			}
			SlashDestination::Treasury => T::Slashed::on_unbalanced(credit),
			SlashDestination::Burn => drop(credit),
		}
	}

	/// Pauses a worker whose fault says its node is not serving (a missed deadline, a jury vote
	/// never revealed), so that it is not drawn again until its operator calls `resume`: users'
	/// jobs stop going to a dead machine, and a worker that never answers costs the market one
	/// execution window, not one per job.
	fn pause_if_absent(who: &T::AccountId, fault: FaultKind) {
		if !matches!(fault, FaultKind::MissedDeadline | FaultKind::JurorNoReveal) {
			return;
		}
		if let Some(mut info) = Workers::<T>::get(who) {
			if info.status == WorkerStatus::Active {
				info.status = WorkerStatus::Paused;
				Self::set_status(who, info);
				Self::deposit_event(Event::WorkerPaused { who: who.clone() });
			}
		}
	}

	/// Marks `who` active in this block.
	fn touch(who: &T::AccountId) {
		let now = frame_system::Pallet::<T>::block_number();
		Stats::<T>::mutate(who, |stats| stats.last_active = now);
	}
}

impl<T: Config> Slashing<T::AccountId, BalanceOf<T>> for Pallet<T> {
	type Credit = CreditOf<T>;

	fn slash(
		who: &T::AccountId,
		amount: SlashAmount<BalanceOf<T>>,
		fault: FaultKind,
		to: SlashDestination<T::AccountId>,
	) -> BalanceOf<T> {
		let credit = Self::slash_into_credit(who, amount, fault);
		let slashed = credit.peek();
		Self::pay_out(credit, to);
		slashed
	}

	fn slash_into_credit(
		who: &T::AccountId,
		amount: SlashAmount<BalanceOf<T>>,
		fault: FaultKind,
	) -> CreditOf<T> {
		let mut credit = CreditOf::<T>::zero();
		if let Some(mut ledger) = Ledgers::<T>::get(who) {
			let stake = Self::stake(&ledger);
			let wanted = match amount {
				SlashAmount::Fraction(share) => share * stake,
				SlashAmount::Exact(exact) => exact.min(stake),
			};
			if !wanted.is_zero() {
				let (taken, _missing) =
					<T::Currency as BalancedHold<_>>::slash(&HoldReason::Bond.into(), who, wanted);
				Self::deduct(&mut ledger, taken.peek());
				Self::index_weight(who, Workers::<T>::get(who).as_ref(), &ledger);
				Self::store_ledger(who, ledger);
				credit = taken;
			}
		}
		let slashed = credit.peek();
		let now = frame_system::Pallet::<T>::block_number();
		Stats::<T>::mutate(who, |stats| {
			stats.faults.record(fault);
			stats.slashed_total = stats.slashed_total.saturating_add(slashed);
			stats.last_active = now;
		});
		Self::deposit_event(Event::Slashed {
			who: who.clone(),
			fault,
			amount: slashed,
		});
		Self::pause_if_absent(who, fault);
		credit
	}

	fn note_job_started(
		who: &T::AccountId,
		model: ModelId,
		demand: Demand<BalanceOf<T>>,
	) -> DispatchResult {
		let mut info = Workers::<T>::get(who).ok_or(Error::<T>::NotRegistered)?;
		let served = info
			.models
			.iter_mut()
			.find(|served| served.model == model)
			.ok_or(Error::<T>::NotRegistered)?;
		if matches!(demand, Demand::Job(_)) {
			ensure!(served.has_free_slot(), Error::<T>::NoFreeCapacity);
		}
		served.busy = served.busy.checked_add(1).ok_or(Error::<T>::Overflow)?;
		let at_risk = demand.at_risk();
		let mut ledger = Ledgers::<T>::get(who).ok_or(Error::<T>::NotBonded)?;
		ensure!(ledger.free() >= at_risk, Error::<T>::InsufficientFreeBond);
		ledger.reserved = ledger
			.reserved
			.checked_add(&at_risk)
			.ok_or(Error::<T>::Overflow)?;
		ledger.jobs_in_flight = ledger
			.jobs_in_flight
			.checked_add(1)
			.ok_or(Error::<T>::Overflow)?;
		Ledgers::<T>::insert(who, ledger);
		Workers::<T>::insert(who, info);
		Self::touch(who);
		Ok(())
	}

	fn note_slot_freed(who: &T::AccountId, model: ModelId) {
		if let Some(mut info) = Workers::<T>::get(who) {
			if let Some(served) = info.models.iter_mut().find(|served| served.model == model) {
				served.busy = served.busy.saturating_sub(1);
				Workers::<T>::insert(who, info);
			}
		}
	}

	fn note_job_finished(
		who: &T::AccountId,
		model: ModelId,
		demand: Demand<BalanceOf<T>>,
		slot_held: bool,
		completed: bool,
	) {
		let at_risk = demand.at_risk();
		if slot_held {
			Self::note_slot_freed(who, model);
		}
		if let Some(mut ledger) = Ledgers::<T>::get(who) {
			ledger.jobs_in_flight = ledger.jobs_in_flight.saturating_sub(1);
			ledger.reserved = if ledger.jobs_in_flight == 0 {
				Zero::zero()
			} else {
				ledger.reserved.saturating_sub(at_risk)
			};
			Self::store_ledger(who, ledger);
		}
		if completed {
			Stats::<T>::mutate(who, |stats| {
				stats.jobs_done = stats.jobs_done.saturating_add(1)
			});
		}
		Self::touch(who);
	}

	fn in_flight(who: &T::AccountId) -> InFlight<BalanceOf<T>> {
		let ledger = Ledgers::<T>::get(who).unwrap_or_default();
		InFlight {
			reserved: ledger.reserved,
			count: ledger.jobs_in_flight,
			busy: Workers::<T>::get(who)
				.map(|info| {
					info.models
						.iter()
						.map(|served| (served.model, served.busy))
						.collect()
				})
				.unwrap_or_default(),
		}
	}
}
