//! # Worker pallet
//!
//! The compute providers of the Verity network put money behind their results.
//!
//! ## Overview
//!
//! A worker bonds funds (a fungible hold under [`HoldReason::Bond`]), registers the approved
//! models it serves and the ed25519 key that signs its receipts, and is then drawn for jobs and
//! jury seats with probability proportional to its bond. A fault (a missed deadline, a result a
//! jury proved wrong, a juror that did not reveal or voted with the minority) is punished by
//! slashing the bond. Leaving takes [`Config::UnbondingPeriod`] blocks, longer than any job,
//! challenge and dispute can last ([`Config::MaxJobLifetime`]), and funds that are unbonding stay
//! slashable, so a worker cannot escape a dispute by walking away.
//!
//! ## Terminology
//!
//! * **Bonded**: held funds that weigh in draws and back the jobs a worker takes.
//! * **Unbonding**: held funds on their way out; slashable until withdrawn.
//! * **Reserved**: the part of the bonded funds that jobs in flight put at risk. A worker takes a
//!   job only if its unreserved bond covers what the job puts at risk, so a slash always covers the
//!   fees of the jobs it holds.
//! * **Model index**: for every model, a bounded list ([`Config::MaxWorkersPerModel`]) of the
//!   workers serving it with their draw weight, so a draw reads one list and never every worker.
//!   When the list is full, a newcomer whose draw weight is above the weakest entry's takes that
//!   entry's place (the weakest worker stops serving the model, with a [`Event::WorkerEvicted`]):
//!   paused and under-bonded workers weigh zero, so sybil accounts cannot squat a model's slots,
//!   and holding all of them costs as many bonds as the strongest newcomer's.
//! * **Absence**: a missed deadline or a jury vote never revealed pauses the worker (it is no
//!   longer drawn) until its operator calls [`Pallet::resume`], so jobs stop going to a machine
//!   that is down.
//! * **Capacity**: for each model it serves, a worker declares how many jobs of it it runs at once
//!   ([`ModelCapacity`]). A job is assigned only to a worker with a free slot; jury seats take a
//!   slot too but are drawn regardless, so verification is never starved by load. So flooding a
//!   worker with jobs cannot make it miss deadlines: the jobs past its capacity wait for another
//!   worker or are refunded, and never reach it.
//!
//! ## Calls
//!
//! * [`Pallet::bond`]: hold more funds as bond.
//! * [`Pallet::unbond`]: start unbonding; the funds unlock after [`Config::UnbondingPeriod`].
//! * [`Pallet::withdraw_unbonded`]: release the unlocked funds (refused while jobs or jury seats
//!   are in flight, so a settlement that runs late still finds the stake it may slash).
//! * [`Pallet::register_worker`]: declare the models served with their capacity, and the receipt
//!   key; needs [`Config::MinWorkerBond`] bonded.
//! * [`Pallet::set_models`]: change the models served or their capacity.
//! * [`Pallet::pause`] / [`Pallet::resume`]: stop or restart being drawn.
//! * [`Pallet::deregister`]: leave (refused while jobs are in flight); the bond stays until
//!   unbonded.
//!
//! Every refusal is a named [`Error`] and changes nothing.
//!
//! ## For other pallets
//!
//! [`Pallet`] implements [`verity_primitives::WorkerSelection`] (stake-weighted, deterministic
//! draws; see [`selection`]) and [`verity_primitives::Slashing`] (slashes with a destination, jobs
//! in flight; see [`slashing`]). The job market uses both through the runtime's wiring.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod index;
#[cfg(test)]
mod mock;
pub mod selection;
pub mod slashing;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

#[frame_support::pallet]
pub mod pallet {
	use alloc::vec::Vec;
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{self, BalancedHold, Credit, MutateHold},
			tokens::Precision,
			OnUnbalanced,
		},
	};
	use frame_system::pallet_prelude::*;
	use sp_runtime::traits::{CheckedAdd, CheckedSub, Saturating, Zero};
	use verity_primitives::{
		receipt::ReceiptPublic, registry::ModelRegistry, workers::FaultKind, ModelId,
	};

	/// What the model checks of a new list found to do: the models to add to the index, each
	/// with the worker it evicts, if any.
	pub(crate) type IndexPlan<T> = Vec<(ModelId, Option<<T as frame_system::Config>::AccountId>)>;

	use super::*;

	/// The balance type of the pallet's currency.
	pub type BalanceOf<T> = <<T as Config>::Currency as fungible::Inspect<
		<T as frame_system::Config>::AccountId,
	>>::Balance;
	/// A worker registered at genesis: `(worker, bond, (model, capacity) pairs, receipt key)`.
	pub type GenesisWorker<T> = (
		<T as frame_system::Config>::AccountId,
		BalanceOf<T>,
		Vec<(ModelId, u32)>,
		[u8; 32],
	);
	/// Slashed funds on their way to their destination.
	pub type CreditOf<T> = Credit<<T as frame_system::Config>::AccountId, <T as Config>::Currency>;
	/// The models one worker serves, with their capacity and load.
	pub type ModelsOf<T> = BoundedVec<ServedModel, <T as Config>::MaxModelsPerWorker>;
	/// The models a worker offers to serve, with their capacity (what the calls take).
	pub type OffersOf<T> = BoundedVec<ModelCapacity, <T as Config>::MaxModelsPerWorker>;
	/// A registered worker of this runtime.
	pub type WorkerInfoOf<T> = WorkerInfo<BlockNumberFor<T>, ModelsOf<T>>;
	/// The unbonding chunks of one account.
	pub type ChunksOf<T> = BoundedVec<
		UnbondingChunk<BalanceOf<T>, BlockNumberFor<T>>,
		<T as Config>::MaxUnbondingChunks,
	>;
	/// The bond ledger of one account.
	pub type LedgerOf<T> = Ledger<BalanceOf<T>, ChunksOf<T>>;
	/// The track record of one worker.
	pub type StatsOf<T> = WorkerStats<BalanceOf<T>, BlockNumberFor<T>>;
	/// The workers serving one model, each with its draw weight.
	pub type ModelIndexOf<T> = BoundedVec<
		(<T as frame_system::Config>::AccountId, BalanceOf<T>),
		<T as Config>::MaxWorkersPerModel,
	>;

	const STORAGE_VERSION: StorageVersion = StorageVersion::new(2);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the worker pallet.
	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The native token; bonds are holds on it.
		type Currency: fungible::Mutate<Self::AccountId>
			+ fungible::Balanced<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ BalancedHold<Self::AccountId>;

		/// The runtime's hold reasons, of which [`HoldReason`] is a part.
		type RuntimeHoldReason: From<HoldReason>;

		/// The model registry: which models accept jobs (and new workers).
		type Models: ModelRegistry<BalanceOf<Self>>;

		/// The smallest bond of a registered worker, and of any non-empty bond.
		#[pallet::constant]
		type MinWorkerBond: Get<BalanceOf<Self>>;

		/// Blocks between `unbond` and the funds being withdrawable.
		#[pallet::constant]
		type UnbondingPeriod: Get<BlockNumberFor<Self>>;

		/// The longest a job can stay open, from submission through deadline, challenge window
		/// and dispute, as the job market allows it. [`Config::UnbondingPeriod`] must exceed it.
		#[pallet::constant]
		type MaxJobLifetime: Get<BlockNumberFor<Self>>;

		/// Most workers serving one model.
		#[pallet::constant]
		type MaxWorkersPerModel: Get<u32>;

		/// Most models one worker serves.
		#[pallet::constant]
		type MaxModelsPerWorker: Get<u32>;

		/// Most unbonding chunks one account has at once.
		#[pallet::constant]
		type MaxUnbondingChunks: Get<u32>;

		/// The largest capacity a worker may declare for one model.
		#[pallet::constant]
		type MaxCapacity: Get<u32>;

		/// Receives slashes sent to the treasury.
		type Slashed: OnUnbalanced<CreditOf<Self>>;

		/// Weights of this pallet's calls, from its benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A worker's bond, bonded or unbonding.
		#[codec(index = 0)]
		Bond,
	}

	/// Registered workers.
	#[pallet::storage]
	pub type Workers<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, WorkerInfoOf<T>, OptionQuery>;

	/// Bond ledgers, of registered workers and of accounts that bonded or are unbonding.
	#[pallet::storage]
	pub type Ledgers<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, LedgerOf<T>, OptionQuery>;

	/// Track records of workers, kept after they leave.
	#[pallet::storage]
	pub type Stats<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, StatsOf<T>, ValueQuery>;

	/// For every model, the workers serving it and their draw weight (their bond while active and
	/// at least [`Config::MinWorkerBond`], otherwise zero).
	#[pallet::storage]
	pub type ModelWorkers<T: Config> =
		StorageMap<_, Twox64Concat, ModelId, ModelIndexOf<T>, ValueQuery>;

	/// Workers registered and bonded at genesis (e.g. the dev chain's worker).
	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// `(worker, bond, models, receipt key)`; the bond is held from the worker's balance.
		pub workers: Vec<GenesisWorker<T>>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			for (who, bond, models, receipt_key) in &self.workers {
				Pallet::<T>::do_bond(who, *bond).expect("a genesis worker can afford its bond");
				let offers: Vec<ModelCapacity> = models
					.iter()
					.map(|(model, capacity)| ModelCapacity {
						model: *model,
						capacity: *capacity,
					})
					.collect();
				let models =
					OffersOf::<T>::try_from(offers).expect("a genesis worker's models fit");
				Pallet::<T>::do_register(who, models, ReceiptPublic::from_raw(*receipt_key))
					.expect("a genesis worker passes the checks of register_worker");
			}
		}
	}

	/// What happened to workers and bonds.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// Funds were bonded.
		Bonded {
			/// The account.
			who: T::AccountId,
			/// How much was added.
			amount: BalanceOf<T>,
			/// Its bond now.
			bonded: BalanceOf<T>,
		},
		/// Funds started unbonding.
		Unbonding {
			/// The account.
			who: T::AccountId,
			/// How much.
			amount: BalanceOf<T>,
			/// The block from which it can be withdrawn.
			unlock_at: BlockNumberFor<T>,
		},
		/// Unbonded funds were released.
		Withdrawn {
			/// The account.
			who: T::AccountId,
			/// How much.
			amount: BalanceOf<T>,
		},
		/// A worker registered.
		WorkerRegistered {
			/// The worker.
			who: T::AccountId,
			/// The models it serves, with their capacity.
			models: Vec<ModelCapacity>,
			/// The key that signs its receipts.
			receipt_key: ReceiptPublic,
		},
		/// A worker changed the models it serves or their capacity.
		ModelsChanged {
			/// The worker.
			who: T::AccountId,
			/// The models it serves now, with their capacity.
			models: Vec<ModelCapacity>,
		},
		/// A model's index was full and a worker with a larger draw weight took the place of the
		/// weakest one, which no longer serves the model (its jobs of it already answered still
		/// settle; it stays registered, with no model if that was its last).
		WorkerEvicted {
			/// The worker that lost its place.
			who: T::AccountId,
			/// The model.
			model: ModelId,
			/// The worker that took it.
			by: T::AccountId,
		},
		/// A worker stopped taking jobs.
		WorkerPaused {
			/// The worker.
			who: T::AccountId,
		},
		/// A paused worker takes jobs again.
		WorkerResumed {
			/// The worker.
			who: T::AccountId,
		},
		/// A worker left; its bond stays until unbonded.
		WorkerDeregistered {
			/// The worker.
			who: T::AccountId,
		},
		/// A worker's bond was slashed.
		Slashed {
			/// The worker.
			who: T::AccountId,
			/// What for.
			fault: FaultKind,
			/// How much was taken.
			amount: BalanceOf<T>,
		},
	}

	/// Why a call was refused.
	#[pallet::error]
	pub enum Error<T> {
		/// The amount is zero.
		ZeroAmount,
		/// The account cannot hold that much.
		InsufficientBalance,
		/// The account has no bond.
		NotBonded,
		/// A bond must be zero or at least the minimum worker bond; a registered worker's must be
		/// at least the minimum.
		BondBelowMinimum,
		/// More than is bonded.
		UnbondExceedsBond,
		/// Jobs in flight have reserved the bond that would leave.
		BondReservedForJobs,
		/// The account already has the most unbonding chunks; withdraw or wait a block.
		TooManyUnbondingChunks,
		/// No unbonding funds have unlocked yet.
		NothingToWithdraw,
		/// The account is already a registered worker.
		AlreadyRegistered,
		/// The account is not a registered worker.
		NotRegistered,
		/// Registering needs at least the minimum worker bond.
		InsufficientBond,
		/// A worker must serve at least one model.
		NoModels,
		/// A model is listed twice.
		DuplicateModel,
		/// A model is not approved (unknown, still proposed, or retired).
		ModelNotAccepting,
		/// A model already has the most workers it can index, and none weighs less than the
		/// caller (or the weakest still holds jobs of the model).
		ModelWorkersFull,
		/// A capacity is zero.
		ZeroCapacity,
		/// A capacity is above [`Config::MaxCapacity`].
		CapacityTooLarge,
		/// A model with jobs or jury seats still computing cannot be dropped yet.
		ModelInUse,
		/// The worker has no free slot of its capacity for the model.
		NoFreeCapacity,
		/// The worker is already paused.
		AlreadyPaused,
		/// The worker is not paused.
		NotPaused,
		/// The worker has jobs in flight.
		JobsInFlight,
		/// The worker's unreserved bond does not cover what the job puts at risk.
		InsufficientFreeBond,
		/// An amount or counter would overflow.
		Overflow,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			assert!(
				T::UnbondingPeriod::get() > T::MaxJobLifetime::get(),
				"UnbondingPeriod must outlast the longest job, challenge and dispute"
			);
			assert!(
				!T::MinWorkerBond::get().is_zero(),
				"MinWorkerBond must not be zero"
			);
			assert!(
				T::MaxWorkersPerModel::get() > 0,
				"MaxWorkersPerModel must not be zero"
			);
			assert!(
				T::MaxModelsPerWorker::get() > 0,
				"MaxModelsPerWorker must not be zero"
			);
			assert!(
				T::MaxUnbondingChunks::get() > 0,
				"MaxUnbondingChunks must not be zero"
			);
			assert!(T::MaxCapacity::get() > 0, "MaxCapacity must not be zero");
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Holds `amount` more as the caller's bond. The bond must reach
		/// [`Config::MinWorkerBond`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::bond())]
		pub fn bond(
			origin: OriginFor<T>,
			#[pallet::compact] amount: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_bond(&who, amount)
		}

		/// Starts unbonding `amount`: it leaves the bond now (no longer weighs in draws) and can be
		/// withdrawn after [`Config::UnbondingPeriod`]; until then it can still be slashed.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::unbond())]
		pub fn unbond(
			origin: OriginFor<T>,
			#[pallet::compact] amount: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
			let mut ledger = Ledgers::<T>::get(&who).ok_or(Error::<T>::NotBonded)?;
			let remaining = ledger
				.bonded
				.checked_sub(&amount)
				.ok_or(Error::<T>::UnbondExceedsBond)?;
			let worker = Workers::<T>::get(&who);
			let allowed = if worker.is_some() {
				remaining >= T::MinWorkerBond::get()
			} else {
				remaining.is_zero() || remaining >= T::MinWorkerBond::get()
			};
			ensure!(allowed, Error::<T>::BondBelowMinimum);
			ensure!(
				remaining >= ledger.reserved,
				Error::<T>::BondReservedForJobs
			);
			let unlock_at =
				frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get());
			match ledger.unbonding.last_mut() {
				Some(last) if last.unlock_at == unlock_at => {
					last.amount = last
						.amount
						.checked_add(&amount)
						.ok_or(Error::<T>::Overflow)?;
				}
				_ => ledger
					.unbonding
					.try_push(UnbondingChunk { amount, unlock_at })
					.map_err(|_| Error::<T>::TooManyUnbondingChunks)?,
			}
			ledger.bonded = remaining;
			Self::index_weight(&who, worker.as_ref(), &ledger);
			Ledgers::<T>::insert(&who, ledger);
			Self::deposit_event(Event::Unbonding {
				who,
				amount,
				unlock_at,
			});
			Ok(())
		}

		/// Releases every unbonding chunk that has unlocked. Refused while the account holds jobs
		/// or jury seats: their settlement may still slash it, however late it runs.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::withdraw_unbonded())]
		pub fn withdraw_unbonded(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut ledger = Ledgers::<T>::get(&who).ok_or(Error::<T>::NotBonded)?;
			ensure!(ledger.jobs_in_flight == 0, Error::<T>::JobsInFlight);
			let now = frame_system::Pallet::<T>::block_number();
			let mut amount = BalanceOf::<T>::zero();
			for chunk in ledger.unbonding.iter().filter(|c| c.unlock_at <= now) {
				amount = amount
					.checked_add(&chunk.amount)
					.ok_or(Error::<T>::Overflow)?;
			}
			ensure!(!amount.is_zero(), Error::<T>::NothingToWithdraw);
			T::Currency::release(&HoldReason::Bond.into(), &who, amount, Precision::Exact)?;
			ledger.unbonding.retain(|c| c.unlock_at > now);
			Self::store_ledger(&who, ledger);
			Self::deposit_event(Event::Withdrawn { who, amount });
			Ok(())
		}

		/// Registers the caller as a worker serving `models` (each approved, no duplicates, each
		/// with a capacity from 1 to [`Config::MaxCapacity`]) and signing its receipts with
		/// `receipt_key`. Needs [`Config::MinWorkerBond`] bonded. Where a model's index is full,
		/// the caller takes the place of the weakest worker if it weighs more.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::register_worker(models.len() as u32))]
		pub fn register_worker(
			origin: OriginFor<T>,
			models: OffersOf<T>,
			receipt_key: ReceiptPublic,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_register(&who, models, receipt_key)
		}

		/// Replaces the models the caller serves and their capacities. New models must be
		/// approved; models it already serves may stay after they are retired (their jobs in
		/// flight still need it). A model with jobs or jury seats still computing cannot be
		/// dropped, and a capacity may fall below what is busy (no new job comes until it drains).
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::set_models(models.len() as u32))]
		pub fn set_models(origin: OriginFor<T>, models: OffersOf<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut info = Workers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			let weight = Self::draw_weight(Some(&info), Ledgers::<T>::get(&who).as_ref());
			let plan = Self::check_models(&who, &models, &info.models, weight)?;
			for served in info.models.iter() {
				let kept = models.iter().any(|offer| offer.model == served.model);
				ensure!(kept || served.busy == 0, Error::<T>::ModelInUse);
			}
			for served in info.models.iter() {
				if !models.iter().any(|offer| offer.model == served.model) {
					Self::index_remove(&who, served.model);
				}
			}
			Self::apply_plan(&who, plan, weight)?;
			info.models = Self::served(&models, &info.models);
			Workers::<T>::insert(&who, info);
			Self::deposit_event(Event::ModelsChanged {
				who,
				models: models.to_vec(),
			});
			Ok(())
		}

		/// Stops the caller being drawn for jobs and juries; jobs it holds still finish.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::pause())]
		pub fn pause(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut info = Workers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			ensure!(
				info.status == WorkerStatus::Active,
				Error::<T>::AlreadyPaused
			);
			info.status = WorkerStatus::Paused;
			Self::set_status(&who, info);
			Self::deposit_event(Event::WorkerPaused { who });
			Ok(())
		}

		/// Lets a paused caller be drawn again.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::resume())]
		pub fn resume(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut info = Workers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			ensure!(info.status == WorkerStatus::Paused, Error::<T>::NotPaused);
			info.status = WorkerStatus::Active;
			Self::set_status(&who, info);
			Self::deposit_event(Event::WorkerResumed { who });
			Ok(())
		}

		/// Ends the caller's registration. Refused while it has jobs in flight; its bond stays
		/// until unbonded (and slashable until withdrawn).
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::deregister())]
		pub fn deregister(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let info = Workers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			let in_flight = Ledgers::<T>::get(&who).map_or(0, |l| l.jobs_in_flight);
			ensure!(in_flight == 0, Error::<T>::JobsInFlight);
			for served in info.models.iter() {
				Self::index_remove(&who, served.model);
			}
			Workers::<T>::remove(&who);
			Self::deposit_event(Event::WorkerDeregistered { who });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// Holds `amount` more from `who` as bond (the call `bond`, and genesis).
		pub(crate) fn do_bond(who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
			ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
			let mut ledger = Ledgers::<T>::get(who).unwrap_or_default();
			let bonded = ledger
				.bonded
				.checked_add(&amount)
				.ok_or(Error::<T>::Overflow)?;
			ensure!(
				bonded >= T::MinWorkerBond::get(),
				Error::<T>::BondBelowMinimum
			);
			T::Currency::hold(&HoldReason::Bond.into(), who, amount)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			ledger.bonded = bonded;
			Self::index_weight(who, Workers::<T>::get(who).as_ref(), &ledger);
			Ledgers::<T>::insert(who, ledger);
			Self::deposit_event(Event::Bonded {
				who: who.clone(),
				amount,
				bonded,
			});
			Ok(())
		}

		/// Registers `who` (the call `register_worker`, and genesis).
		pub(crate) fn do_register(
			who: &T::AccountId,
			models: OffersOf<T>,
			receipt_key: ReceiptPublic,
		) -> DispatchResult {
			ensure!(
				!Workers::<T>::contains_key(who),
				Error::<T>::AlreadyRegistered
			);
			let ledger = Ledgers::<T>::get(who);
			let bonded = ledger.as_ref().map_or_else(Zero::zero, |l| l.bonded);
			ensure!(
				bonded >= T::MinWorkerBond::get(),
				Error::<T>::InsufficientBond
			);
			let info = WorkerInfo {
				models: Self::served(&models, &[]),
				receipt_key,
				status: WorkerStatus::Active,
				registered_at: frame_system::Pallet::<T>::block_number(),
			};
			let weight = Self::draw_weight(Some(&info), ledger.as_ref());
			let plan = Self::check_models(who, &models, &[], weight)?;
			Self::apply_plan(who, plan, weight)?;
			let listed = models.to_vec();
			Workers::<T>::insert(who, info);
			Self::deposit_event(Event::WorkerRegistered {
				who: who.clone(),
				models: listed,
				receipt_key,
			});
			Ok(())
		}

		/// Stores a changed status and the draw weight that follows from it.
		pub(crate) fn set_status(who: &T::AccountId, info: WorkerInfoOf<T>) {
			if let Some(ledger) = Ledgers::<T>::get(who) {
				Self::index_weight(who, Some(&info), &ledger);
			}
			Workers::<T>::insert(who, info);
		}

		/// Stores `ledger`, or removes it once nothing is bonded, unbonding or in flight and the
		/// account is not a registered worker.
		pub(crate) fn store_ledger(who: &T::AccountId, ledger: LedgerOf<T>) {
			let empty = ledger.bonded.is_zero()
				&& ledger.unbonding.is_empty()
				&& ledger.jobs_in_flight == 0
				&& !Workers::<T>::contains_key(who);
			if empty {
				Ledgers::<T>::remove(who);
			} else {
				Ledgers::<T>::insert(who, ledger);
			}
		}

		/// Everything slashable of a ledger: bonded and unbonding.
		pub(crate) fn stake(ledger: &LedgerOf<T>) -> BalanceOf<T> {
			ledger.unbonding.iter().fold(ledger.bonded, |total, chunk| {
				total.saturating_add(chunk.amount)
			})
		}

		/// The books balance: every ledger's hold equals its bonded plus unbonding funds; every
		/// registered worker has a ledger whose jobs in flight are at least its models' busy
		/// slots, and sits in the index of each model it serves with its current draw weight; the
		/// index holds nobody else.
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			use frame_support::traits::fungible::InspectHold;
			for (who, ledger) in Ledgers::<T>::iter() {
				let held = T::Currency::balance_on_hold(&HoldReason::Bond.into(), &who);
				invariant(
					held == Self::stake(&ledger),
					"held bond differs from bonded + unbonding",
				)?;
				invariant(
					ledger.jobs_in_flight > 0 || ledger.reserved.is_zero(),
					"bond reserved with no job in flight",
				)?;
			}
			for (who, info) in Workers::<T>::iter() {
				let ledger = Ledgers::<T>::get(&who);
				invariant(ledger.is_some(), "registered worker without a ledger")?;
				let weight = Self::draw_weight(Some(&info), ledger.as_ref());
				let busy = info
					.models
					.iter()
					.fold(0u32, |sum, served| sum.saturating_add(served.busy));
				invariant(
					ledger.as_ref().is_some_and(|l| l.jobs_in_flight >= busy),
					"more busy slots than jobs in flight",
				)?;
				for (i, served) in info.models.iter().enumerate() {
					let model = &served.model;
					invariant(
						!info.models[..i].iter().any(|s| s.model == *model),
						"model listed twice",
					)?;
					let listed = ModelWorkers::<T>::get(model)
						.iter()
						.filter(|(worker, w)| worker == &who && *w == weight)
						.count();
					invariant(
						listed == 1,
						"worker missing from a model index or stale weight",
					)?;
				}
			}
			for (model, list) in ModelWorkers::<T>::iter() {
				invariant(!list.is_empty(), "empty model index kept")?;
				for (worker, _) in list.iter() {
					let serves = Workers::<T>::get(worker)
						.is_some_and(|i| i.models.iter().any(|s| s.model == model));
					invariant(serves, "model index lists a worker that does not serve it")?;
				}
			}
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
