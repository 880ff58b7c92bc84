//! The session manager: what this pallet tells `pallet-session` at each rotation, and the session
//! length that BABE reads.
//!
//! `pallet-session`'s `rotate_session`, in the first block of session `n + 1`, calls
//! `end_session(n)`, activates the set queued one rotation earlier, calls `start_session(n + 1)`
//! and then `new_session(n + 2)`, whose answer it queues for session `n + 2`. Its genesis build
//! calls `new_session_genesis(0)` and `(1)` (the set of sessions 0 and 1) and `start_session(0)`.
//!
//! * `new_session(n)`: the set, if it changed since it was last handed over ([`SetChanged`],
//!   which it clears); otherwise `None`, and `pallet-session` keeps the current set (the history
//!   then copies the previous session's root).
//! * `new_session_genesis(n)`: always the set.
//! * `start_session(n)`: prunes the session history up to (not including) session
//!   `n - HistoryDepth`.
//! * `end_session(n)`: nothing.

use alloc::vec::Vec;
use core::marker::PhantomData;
use frame_support::traits::Get;
use sp_staking::SessionIndex;

use crate::pallet::{Config, Pallet, SessionLength, SetChanged, Validators};

/// The session length ([`SessionLength`], slots of a BABE epoch) as a [`Get`], for
/// `pallet_babe::Config::EpochDuration`.
///
/// This is how each genesis preset (development, local, live) gets its own session length from
/// one runtime build: the preset writes it into this pallet's genesis, and no call or upgrade
/// changes it afterwards (BABE's epoch arithmetic assumes it never changes). It reads storage, so
/// it needs the chain's state: BABE's constant `EpochDuration` in the metadata is the value of the
/// chain the metadata is read from, and asking it without state (outside externalities) panics.
pub struct SessionLengthOf<T>(PhantomData<T>);

impl<T: Config> Get<u64> for SessionLengthOf<T> {
	fn get() -> u64 {
		SessionLength::<T>::get()
	}
}

impl<T: Config> Pallet<T> {
	/// The set for `pallet-session` if it changed since it was last handed over, clearing the
	/// flag.
	fn changed_set() -> Option<Vec<T::AccountId>> {
		if SetChanged::<T>::take() {
			Some(Validators::<T>::get().into_inner())
		} else {
			None
		}
	}

	/// Prunes the session history when session `start_index` starts, keeping the roots of the
	/// last [`Config::HistoryDepth`] sessions before it.
	fn prune_history(start_index: SessionIndex) {
		let up_to = start_index.saturating_sub(T::HistoryDepth::get());
		if up_to > 0 {
			pallet_session::historical::Pallet::<T>::prune_up_to(up_to);
		}
	}
}

impl<T: Config> pallet_session::SessionManager<T::AccountId> for Pallet<T> {
	fn new_session(_new_index: SessionIndex) -> Option<Vec<T::AccountId>> {
		Self::changed_set()
	}

	fn new_session_genesis(_new_index: SessionIndex) -> Option<Vec<T::AccountId>> {
		Some(Validators::<T>::get().into_inner())
	}

	fn end_session(_end_index: SessionIndex) {}

	fn start_session(start_index: SessionIndex) {
		Self::prune_history(start_index)
	}
}

impl<T: Config> pallet_session::historical::SessionManager<T::AccountId, ()> for Pallet<T> {
	fn new_session(_new_index: SessionIndex) -> Option<Vec<(T::AccountId, ())>> {
		Self::changed_set().map(with_unit_identification)
	}

	fn new_session_genesis(_new_index: SessionIndex) -> Option<Vec<(T::AccountId, ())>> {
		Some(with_unit_identification(
			Validators::<T>::get().into_inner(),
		))
	}

	fn end_session(_end_index: SessionIndex) {}

	fn start_session(start_index: SessionIndex) {
		Self::prune_history(start_index)
	}
}

/// Validators bond nothing: each one's full identification is `()`.
fn with_unit_identification<A>(set: Vec<A>) -> Vec<(A, ())> {
	set.into_iter().map(|who| (who, ())).collect()
}
