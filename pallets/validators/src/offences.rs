//! The offence handler: what happens to a validator proven to have equivocated.
//!
//! BABE and GRANDPA check an equivocation report and its key-owner proof against the session
//! history, and hand the offence to their `EquivocationReportSystem`'s `R`, which the runtime sets
//! to this pallet. For each offender still in the set ([`Validators`]):
//!
//! * it is disabled at once for the rest of the current session, through
//!   `pallet_session::Pallet::report_offence` at the highest severity. The runtime's disabling
//!   strategy decides: `UpToLimitDisablingStrategy` disables at most a third of the current
//!   session's set (`(n - 1) / 3`: none in a set of three or fewer) so that an offence report
//!   cannot halt the chain, and only a validator of the current session can be disabled. The
//!   disabling lasts until `pallet-session` activates a changed set;
//! * it is removed from the set, in force from the current session plus two (a
//!   [`Event::ValidatorRemoved`]), unless that would take the set under
//!   [`Config::MinValidators`]: then it stays, and the council decides;
//! * an [`Event::OffenceReported`] records the kind of offence and both outcomes.
//!
//! An offence none of whose offenders is in the set is refused as a duplicate
//! ([`OffenceError::DuplicateReport`]), and [`ReportOffence::is_known_offence`] says so before a
//! report is even accepted into a block: it is true iff no offender is in the set, whatever the
//! time slot, because nothing is left to punish. Consequences:
//!
//! * a removed offender's further reports (it validates until the removal is in force) are
//!   refused;
//! * an offender kept at the minimum can be reported again, for the same or another offence; each
//!   report disables it again (a no-op while it is disabled) and emits the event again;
//! * a validator the council re-admits can be reported again for an older offence, as long as the
//!   report's longevity (the session history kept) allows the proof.
//!
//! Nothing is slashed: validators bond nothing. The reporters get nothing either.

use alloc::vec::Vec;
use sp_runtime::Perbill;
use sp_staking::offence::{Offence, OffenceError, OffenceSeverity, ReportOffence};

use crate::pallet::{Config, Event, Pallet, Validators};

impl<T, Reporter, O> ReportOffence<Reporter, (T::AccountId, ()), O> for Pallet<T>
where
	T: Config,
	O: Offence<(T::AccountId, ())>,
{
	fn report_offence(_reporters: Vec<Reporter>, offence: O) -> Result<(), OffenceError> {
		let mut acted = false;
		for (offender, ()) in offence.offenders() {
			if !Validators::<T>::get().contains(&offender) {
				continue;
			}
			pallet_session::Pallet::<T>::report_offence(
				offender.clone(),
				OffenceSeverity(Perbill::one()),
			);
			let disabled = is_disabled::<T>(&offender);
			let removed = Pallet::<T>::remove_for_offence(&offender);
			Pallet::<T>::deposit_event(Event::OffenceReported {
				offender,
				kind: O::ID,
				disabled,
				removed,
			});
			acted = true;
		}
		if acted {
			Ok(())
		} else {
			Err(OffenceError::DuplicateReport)
		}
	}

	fn is_known_offence(offenders: &[(T::AccountId, ())], _time_slot: &O::Slot) -> bool {
		let set = Validators::<T>::get();
		offenders
			.iter()
			.all(|(offender, ())| !set.contains(offender))
	}
}

/// Whether `who` is disabled in the current session.
fn is_disabled<T: Config>(who: &T::AccountId) -> bool {
	pallet_session::Pallet::<T>::validator_id_to_index(who).is_some_and(|index| {
		pallet_session::DisabledValidators::<T>::get()
			.iter()
			.any(|(disabled, _)| *disabled == index)
	})
}
