//! # Validator pallet
//!
//! The validators of the Verity network, chosen by the council.
//!
//! ## Overview
//!
//! Verity has no staking: nobody bonds funds to become a validator and nobody nominates one. The
//! council ([`Config::ValidatorOrigin`], two thirds of it in the runtime) adds and removes
//! validators, and this pallet hands the set to `pallet-session` as its session manager
//! ([`pallet_session::SessionManager`], and the historical variant that
//! [`pallet_session::historical::NoteHistoricalRoot`] wraps so that past sessions stay provable).
//!
//! Validators earn nothing yet: transaction fees go to the treasury, and no session reward is
//! paid. Nothing is slashed either (validators bond nothing); slashing validators may come later,
//! together with a bond.
//!
//! ## Terminology
//!
//! * **Set**: [`Validators`], the accounts that the next planned session gets. It is not the set
//!   that validates now: that is `pallet_session::Validators`, which follows it two sessions later.
//! * **The `n + 2` rule**: `pallet-session` rotates sessions in the first block of a session (in
//!   `on_initialize`, before any extrinsic). Its `rotate_session` ends session `n`, activates the
//!   set it queued one rotation earlier as session `n + 1`, and then asks this pallet for the set of
//!   session `n + 2` (`new_session(n + 2)`), which it queues. So a change made while session `n`
//!   runs (`pallet_session::CurrentIndex` is `n`) is handed over when session `n` ends and is in
//!   force from session `n + 2`; session `n + 1` still runs with the set queued when session
//!   `n - 1` ended. The events give that first session as `from_session`. The genesis set serves
//!   sessions 0 and 1.
//! * **Session keys**: a validator must have registered its keys with `session.set_keys` before
//!   it is added ([`Error::NoSessionKeys`]); `pallet-session` silently leaves out of a session any
//!   validator without keys, which would leave the chain with fewer authorities than counted.
//! * **Session length**: [`SessionLength`], the slots of a session, which is one BABE epoch. BABE's
//!   epoch length cannot change once a chain runs, so it is written once, by the genesis preset,
//!   and no call changes it; the runtime hands it to BABE through [`SessionLengthOf`]. One runtime
//!   build thereby serves a development chain with short sessions and a live one with long ones.
//! * **History**: `pallet_session::historical` keeps a root of every session's validators and keys,
//!   against which BABE and GRANDPA check the key-owner proofs of equivocation reports. This pallet
//!   prunes the roots older than [`Config::HistoryDepth`] sessions when a session starts, so that
//!   history stays bounded (at most `HistoryDepth + 2` roots: the current session, the one queued,
//!   and `HistoryDepth` before them).
//!
//! ## Calls
//!
//! * [`Pallet::add_validator`]: [`Config::ValidatorOrigin`]; adds an account that has session
//!   keys, up to [`Config::MaxValidators`].
//! * [`Pallet::remove_validator`]: [`Config::ValidatorOrigin`]; removes a validator, keeping at
//!   least [`Config::MinValidators`].
//!
//! Every refusal is a named [`Error`] and changes nothing.
//!
//! ## Offences
//!
//! [`Pallet`] implements [`sp_staking::offence::ReportOffence`], the `R` of
//! `pallet_babe::EquivocationReportSystem` and `pallet_grandpa::EquivocationReportSystem`. A
//! proven offender that is in the set is disabled at once for the rest of the current session (as
//! far as `pallet-session`'s disabling strategy allows) and removed from the set (in force from
//! session `n + 2`) unless that would take the set under [`Config::MinValidators`]; then it stays,
//! and the council decides. See [`offences`] for the details, and for what counts as a known
//! offence.
//!
//! ## Runtime wiring
//!
//! * `pallet_session::Config::SessionManager = NoteHistoricalRoot<Runtime, Validators>`,
//!   `ValidatorId = AccountId`, and `pallet_session::historical::Config::FullIdentification = ()`
//!   (bounds of [`Config`]).
//! * `pallet_babe::Config::EpochDuration = SessionLengthOf<Runtime>`, and BABE's runtime API must
//!   report the same length (`BabeConfiguration::epoch_length`).
//! * This pallet must be declared **before** `Session` in the runtime: `pallet-session`'s genesis
//!   build asks it for the first two sets (`new_session_genesis(0)` and `(1)`), which reads
//!   [`Validators`], so this pallet's genesis must have been built first.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
pub mod offences;
pub mod session;
#[cfg(test)]
mod tests;
pub mod weights;

pub use session::SessionLengthOf;

#[frame_support::pallet]
pub mod pallet {
	use alloc::vec::Vec;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;
	use sp_staking::SessionIndex;

	use super::*;

	/// The validator set as stored: at most [`Config::MaxValidators`] accounts, no duplicates.
	pub type ValidatorSetOf<T> =
		BoundedVec<<T as frame_system::Config>::AccountId, <T as Config>::MaxValidators>;

	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	/// The validator pallet: the set, the session manager, the session length and the offence
	/// handler.
	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the validator pallet.
	///
	/// It is tied to `pallet-session` and its historical module on purpose: the validator id is the
	/// account id, and a validator's full identification in the session history is empty (`()`),
	/// since validators bond nothing.
	#[pallet::config]
	pub trait Config:
		frame_system::Config
		+ pallet_session::Config<ValidatorId = <Self as frame_system::Config>::AccountId>
		+ pallet_session::historical::Config<FullIdentification = ()>
	{
		/// Who may add or remove a validator (the runtime: two thirds of the council).
		type ValidatorOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// The smallest set: removals (by the council or for an offence) never go under it. At
		/// least one.
		#[pallet::constant]
		type MinValidators: Get<u32>;

		/// The largest set; at most the authorities BABE and GRANDPA can hold.
		#[pallet::constant]
		type MaxValidators: Get<u32>;

		/// Sessions of history (historical roots) kept for equivocation proofs; older ones are
		/// pruned when a session starts. Equivocation reports must not outlive it (the runtime's
		/// report longevity: at most `HistoryDepth` sessions of blocks).
		#[pallet::constant]
		type HistoryDepth: Get<u32>;

		/// Weights of this pallet's calls, from its benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// The validator set that the next planned session gets (see the `n + 2` rule in the crate
	/// docs); the set validating now is `pallet_session::Validators`.
	#[pallet::storage]
	pub type Validators<T: Config> = StorageValue<_, ValidatorSetOf<T>, ValueQuery>;

	/// Whether [`Validators`] changed since it was last handed to `pallet-session`: set by every
	/// change, cleared by `new_session` when it hands the set over.
	#[pallet::storage]
	pub type SetChanged<T: Config> = StorageValue<_, bool, ValueQuery>;

	/// The length of a session (one BABE epoch) in slots. Written only at genesis, never by a
	/// call: BABE's epoch length cannot change once a chain runs. Read through
	/// [`SessionLengthOf`].
	#[pallet::storage]
	pub type SessionLength<T: Config> = StorageValue<_, u64, ValueQuery>;

	/// The first validator set and the session length.
	///
	/// In a runtime this pallet must be declared **before** `Session`: `pallet-session`'s genesis
	/// build calls `SessionManager::new_session_genesis(0)` and `(1)`, which read [`Validators`].
	/// Each genesis validator also needs its keys in `pallet_session::GenesisConfig::keys`
	/// (they are not checked here, since `Session` is built after this pallet); one without keys
	/// would be left out of the first sessions' authorities.
	///
	/// In a chain spec: `"validators": { "validators": [..], "sessionLength": 600 }`.
	///
	/// Building it panics (as genesis may) on a zero session length, a duplicate, or fewer than
	/// [`Config::MinValidators`] or more than [`Config::MaxValidators`] validators. The one
	/// exception is the default config (no validators, session length zero), which builds nothing:
	/// FRAME's generated test builds every pallet's default genesis. A chain started from it would
	/// have no validators and no session length; every preset must set both.
	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// The validators of sessions 0 and 1: no duplicates, from [`Config::MinValidators`] to
		/// [`Config::MaxValidators`] of them.
		pub validators: Vec<T::AccountId>,
		/// The slots of a session (a BABE epoch); not zero. It can never change afterwards.
		pub session_length: u64,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			// `RuntimeGenesisConfig::default()`, which FRAME's generated `test_genesis_config_builds`
			// builds, must not panic; a chain spec always sets both fields.
			if self.validators.is_empty() && self.session_length == 0 {
				return;
			}
			assert!(
				self.session_length > 0,
				"the session length must not be zero"
			);
			for (i, who) in self.validators.iter().enumerate() {
				assert!(
					!self.validators[..i].contains(who),
					"a genesis validator is listed twice"
				);
			}
			assert!(
				self.validators.len() >= T::MinValidators::get() as usize,
				"fewer genesis validators than MinValidators"
			);
			let set = ValidatorSetOf::<T>::try_from(self.validators.clone())
				.expect("more genesis validators than MaxValidators");
			Validators::<T>::put(set);
			SessionLength::<T>::put(self.session_length);
		}
	}

	/// What happened to the validator set.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A validator was added to the set.
		ValidatorAdded {
			/// The validator.
			who: T::AccountId,
			/// The first session it validates: the current one plus two.
			from_session: SessionIndex,
		},
		/// A validator was removed from the set (by the council, or for an offence).
		ValidatorRemoved {
			/// The validator.
			who: T::AccountId,
			/// The first session it no longer validates: the current one plus two.
			from_session: SessionIndex,
		},
		/// A proven offence (a BABE or GRANDPA equivocation) by a validator in the set was acted
		/// on.
		OffenceReported {
			/// The validator.
			offender: T::AccountId,
			/// The kind of offence (`Offence::ID`, e.g. `babe:equivocatio`).
			kind: sp_staking::offence::Kind,
			/// Whether it is now disabled in the current session; `false` where it is not in the
			/// current session's set, or the disabling strategy's limit was reached.
			disabled: bool,
			/// Whether it was removed from the set (then a [`Event::ValidatorRemoved`] follows);
			/// `false` where that would have taken the set under [`Config::MinValidators`].
			removed: bool,
		},
	}

	/// Why a call was refused.
	#[pallet::error]
	pub enum Error<T> {
		/// The account is already in the set.
		AlreadyValidator,
		/// The set already has [`Config::MaxValidators`] validators.
		TooManyValidators,
		/// The account has not registered session keys (`session.set_keys`); `pallet-session`
		/// would leave it out of every session.
		NoSessionKeys,
		/// The account is not in the set.
		NotValidator,
		/// The set would fall under [`Config::MinValidators`].
		TooFewValidators,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			assert!(
				T::MinValidators::get() > 0,
				"MinValidators must not be zero"
			);
			assert!(
				T::MinValidators::get() <= T::MaxValidators::get(),
				"MinValidators must not exceed MaxValidators"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Adds `who` to the set, in force from the current session plus two. `who` must have
		/// registered session keys, and the set must have room.
		#[pallet::call_index(0)]
		#[pallet::weight(<T as Config>::WeightInfo::add_validator())]
		pub fn add_validator(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
			T::ValidatorOrigin::ensure_origin(origin)?;
			let mut set = Validators::<T>::get();
			ensure!(!set.contains(&who), Error::<T>::AlreadyValidator);
			ensure!(
				(set.len() as u32) < T::MaxValidators::get(),
				Error::<T>::TooManyValidators
			);
			ensure!(
				pallet_session::NextKeys::<T>::contains_key(&who),
				Error::<T>::NoSessionKeys
			);
			set.try_push(who.clone())
				.map_err(|_| Error::<T>::TooManyValidators)?;
			Self::store_set(set);
			Self::deposit_event(Event::ValidatorAdded {
				who,
				from_session: Self::from_session(),
			});
			Ok(())
		}

		/// Removes `who` from the set, in force from the current session plus two. The set keeps
		/// at least [`Config::MinValidators`].
		#[pallet::call_index(1)]
		#[pallet::weight(<T as Config>::WeightInfo::remove_validator())]
		pub fn remove_validator(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
			T::ValidatorOrigin::ensure_origin(origin)?;
			let mut set = Validators::<T>::get();
			let index = set
				.iter()
				.position(|v| v == &who)
				.ok_or(Error::<T>::NotValidator)?;
			ensure!(
				set.len() as u32 > T::MinValidators::get(),
				Error::<T>::TooFewValidators
			);
			set.remove(index);
			Self::store_set(set);
			Self::deposit_event(Event::ValidatorRemoved {
				who,
				from_session: Self::from_session(),
			});
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// The first session a change made now is in force: the current session plus two (the
		/// `n + 2` rule of the crate docs).
		pub fn from_session() -> SessionIndex {
			pallet_session::CurrentIndex::<T>::get().saturating_add(2)
		}

		/// Stores a changed set, to be handed to `pallet-session` when the current session ends.
		pub(crate) fn store_set(set: ValidatorSetOf<T>) {
			Validators::<T>::put(set);
			SetChanged::<T>::put(true);
		}

		/// Removes `who` from the set for an offence unless the set would fall under
		/// [`Config::MinValidators`]; whether it was removed.
		pub(crate) fn remove_for_offence(who: &T::AccountId) -> bool {
			let mut set = Validators::<T>::get();
			let Some(index) = set.iter().position(|v| v == who) else {
				return false;
			};
			if set.len() as u32 <= T::MinValidators::get() {
				return false;
			}
			set.remove(index);
			Self::store_set(set);
			Self::deposit_event(Event::ValidatorRemoved {
				who: who.clone(),
				from_session: Self::from_session(),
			});
			true
		}

		/// The invariants: the set has no duplicates and [`Config::MinValidators`] to
		/// [`Config::MaxValidators`] members, the session length is not zero, and the session
		/// history holds at most `HistoryDepth + 2` roots (after the pruning at the start of
		/// session `c`, the roots of sessions `c - HistoryDepth` to `c + 1`, the one queued).
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			let set = Validators::<T>::get();
			for (i, who) in set.iter().enumerate() {
				invariant(!set[..i].contains(who), "a validator is listed twice")?;
			}
			invariant(
				set.len() as u32 >= T::MinValidators::get(),
				"fewer validators than MinValidators",
			)?;
			invariant(
				set.len() as u32 <= T::MaxValidators::get(),
				"more validators than MaxValidators",
			)?;
			invariant(SessionLength::<T>::get() > 0, "the session length is zero")?;
			let bound = (T::HistoryDepth::get() as usize).saturating_add(2);
			let roots = pallet_session::historical::HistoricalSessions::<T>::iter_keys()
				.take(bound.saturating_add(1))
				.count();
			invariant(
				roots <= bound,
				"more historical sessions than HistoryDepth + 2",
			)?;
			Ok(())
		}
	}

	fn invariant(holds: bool, broken: &'static str) -> Result<(), sp_runtime::TryRuntimeError> {
		if holds {
			Ok(())
		} else {
			Err(broken.into())
		}
	}
}
