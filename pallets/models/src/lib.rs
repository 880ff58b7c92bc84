//! # Model registry pallet
//!
//! Which models does the Verity network serve? The council decides, on chain.
//!
//! ## Overview
//!
//! Anyone may propose a model by holding a deposit ([`Config::ProposalDeposit`]). A proposal
//! declares the model's files (weights and tokenizer hashes), the engine profile that reproduces
//! its outputs, how outputs are verified, where the files come from, golden vectors every worker
//! must reproduce, a fee floor, and optionally the entry it is a new version of. The council
//! ([`Config::GovernanceOrigin`], two thirds through a `pallet-collective` motion in the Verity
//! runtime) approves, rejects or later retires it.
//!
//! ## Terminology
//!
//! * **Entry**: one model version, identified by a [`ModelId`].
//! * **Fingerprint**: the weights hash and engine profile together. No two active (proposed or
//!   approved) entries share one; the same weights under a new engine profile are a new version.
//! * **Retired**: approved once, now closed to new jobs; jobs already running finish.
//!
//! ## Calls
//!
//! * [`Pallet::propose_model`]: anyone; holds the deposit.
//! * [`Pallet::approve_model`]: governance; releases the deposit.
//! * [`Pallet::reject_model`]: governance; slashes [`Config::RejectionSlash`] of the deposit to
//!   [`Config::Slashed`] (the treasury) and releases the rest.
//! * [`Pallet::retire_model`]: governance; stops new jobs.
//! * [`Pallet::withdraw_proposal`]: the proposer, before a decision; releases the deposit.
//!
//! Every refusal is a named [`Error`] and changes nothing.
//!
//! ## For other pallets
//!
//! [`verity_primitives::ModelRegistry`] is implemented by [`Pallet`]: the job market reads a
//! model's hashes, kind, policy and fee floor through it without depending on this crate.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

#[frame_support::pallet]
pub mod pallet {
	use alloc::{boxed::Box, vec::Vec};
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{self, BalancedHold, Credit, MutateHold},
			tokens::Precision,
			Imbalance, OnUnbalanced,
		},
	};
	use frame_system::pallet_prelude::*;
	use sp_core::H256;
	use sp_runtime::{
		traits::{Saturating, Zero},
		Perbill,
	};
	use verity_primitives::{
		job::JobKind,
		policy::VerificationPolicy,
		registry::{ModelRegistry, ModelSummary},
		ModelId,
	};

	use super::{fingerprint, GoldenVectors, ModelEntry, ModelInfo, ModelStatus, WeightInfo};

	/// The balance type of [`Config::Currency`].
	pub type BalanceOf<T> = <<T as Config>::Currency as fungible::Inspect<
		<T as frame_system::Config>::AccountId,
	>>::Balance;
	/// A registry entry of this runtime.
	pub type EntryOf<T> =
		ModelEntry<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
	/// Slashed funds on their way to [`Config::Slashed`].
	pub type CreditOf<T> = Credit<<T as frame_system::Config>::AccountId, <T as Config>::Currency>;

	const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the registry.
	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The native token; proposal deposits are holds on it.
		type Currency: fungible::Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ BalancedHold<Self::AccountId>;

		/// The runtime's hold reasons, of which [`HoldReason`] is a part.
		type RuntimeHoldReason: From<HoldReason>;

		/// Who approves, rejects and retires models (the council, by two thirds).
		type GovernanceOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// Held from a proposer until the council decides.
		#[pallet::constant]
		type ProposalDeposit: Get<BalanceOf<Self>>;

		/// Share of the deposit slashed when a proposal is rejected.
		#[pallet::constant]
		type RejectionSlash: Get<Perbill>;

		/// Receives slashed deposits (the treasury in the Verity runtime).
		type Slashed: OnUnbalanced<CreditOf<Self>>;

		/// Weights of this pallet's calls, from its benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A model proposal's deposit, held until the council decides.
		#[codec(index = 0)]
		ProposalDeposit,
	}

	/// The id the next proposal gets.
	#[pallet::storage]
	pub type NextModelId<T> = StorageValue<_, ModelId, ValueQuery>;

	/// Registry entries that are proposed, approved or retired.
	#[pallet::storage]
	pub type Models<T: Config> = StorageMap<_, Twox64Concat, ModelId, EntryOf<T>, OptionQuery>;

	/// The golden vectors of each entry in [`Models`].
	#[pallet::storage]
	pub type Golden<T> = StorageMap<_, Twox64Concat, ModelId, GoldenVectors, OptionQuery>;

	/// The entry holding each fingerprint among proposed and approved entries.
	#[pallet::storage]
	pub type ActiveFingerprints<T> = StorageMap<_, Identity, H256, ModelId, OptionQuery>;

	/// Models registered and approved at genesis (e.g. the two reference models of a dev chain).
	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// `(proposer, model, golden vectors)`, approved from block 0 without a deposit.
		pub models: Vec<(T::AccountId, ModelInfo<BalanceOf<T>>, GoldenVectors)>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			for (proposer, info, golden) in &self.models {
				Pallet::<T>::check_proposal(info, golden)
					.expect("a genesis model must pass the checks of propose_model");
				Pallet::<T>::insert_entry(
					proposer.clone(),
					info.clone(),
					golden.clone(),
					Zero::zero(),
					ModelStatus::Approved,
				)
				.expect("genesis has room for its models");
			}
		}
	}

	/// What happened in the registry.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A model was proposed and its deposit held.
		ModelProposed {
			/// The new entry.
			id: ModelId,
			/// Who proposed it.
			proposer: T::AccountId,
			/// Its name.
			name: Vec<u8>,
			/// Text generation or embedding.
			kind: JobKind,
			/// BLAKE2-256 of the weights.
			weights_hash: H256,
			/// The entry it is a new version of.
			previous: Option<ModelId>,
			/// The deposit held.
			deposit: BalanceOf<T>,
		},
		/// The council approved a model; its deposit was released.
		ModelApproved {
			/// The entry.
			id: ModelId,
			/// BLAKE2-256 of the weights.
			weights_hash: H256,
			/// The deposit released to the proposer.
			released: BalanceOf<T>,
		},
		/// The council rejected a proposal; part of its deposit was slashed.
		ModelRejected {
			/// The removed entry.
			id: ModelId,
			/// Who proposed it.
			proposer: T::AccountId,
			/// Slashed to the treasury.
			slashed: BalanceOf<T>,
			/// Released to the proposer.
			released: BalanceOf<T>,
		},
		/// The council retired a model: no new jobs.
		ModelRetired {
			/// The entry.
			id: ModelId,
		},
		/// The proposer withdrew a proposal before a decision.
		ProposalWithdrawn {
			/// The removed entry.
			id: ModelId,
			/// Who proposed it.
			proposer: T::AccountId,
			/// The deposit released.
			released: BalanceOf<T>,
		},
	}

	/// Why a call was refused. A refused call changes nothing.
	#[pallet::error]
	pub enum Error<T> {
		/// No entry has this id.
		UnknownModel,
		/// The entry is not a proposal waiting for a decision.
		NotProposed,
		/// The entry is not approved (only approved models can be retired).
		NotApproved,
		/// Only the proposer may withdraw a proposal.
		NotProposer,
		/// The model name is empty.
		EmptyName,
		/// A model's fee floor must be above zero: a free job still reserves a worker.
		ZeroMinFee,
		/// A model must carry at least one golden vector.
		NoGoldenVectors,
		/// A golden vector's input is for another kind of model.
		GoldenVectorKindMismatch,
		/// A golden vector's input is malformed (e.g. an empty prompt or text).
		InvalidGoldenVector,
		/// A tolerance policy only makes sense for embeddings.
		PolicyDoesNotFitKind,
		/// An active entry already has these weights under this engine profile.
		DuplicateModel,
		/// `previous` names no approved or retired entry.
		UnknownPrevious,
		/// `previous` is a model of another kind.
		PreviousKindMismatch,
		/// The proposer cannot afford the deposit.
		InsufficientDeposit,
		/// Model ids are exhausted.
		TooManyModels,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Proposes a model (or, with `info.previous`, a new version of one) with the golden
		/// vectors every worker must reproduce, and holds the proposal deposit.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::propose_model())]
		pub fn propose_model(
			origin: OriginFor<T>,
			info: Box<ModelInfo<BalanceOf<T>>>,
			golden_vectors: GoldenVectors,
		) -> DispatchResult {
			let proposer = ensure_signed(origin)?;
			Self::check_proposal(&info, &golden_vectors)?;
			let deposit = T::ProposalDeposit::get();
			T::Currency::hold(&HoldReason::ProposalDeposit.into(), &proposer, deposit)
				.map_err(|_| Error::<T>::InsufficientDeposit)?;
			let (name, kind, weights_hash, previous) = (
				info.name.to_vec(),
				info.kind,
				info.weights_hash,
				info.previous,
			);
			let id = Self::insert_entry(
				proposer.clone(),
				*info,
				golden_vectors,
				deposit,
				ModelStatus::Proposed,
			)?;
			Self::deposit_event(Event::ModelProposed {
				id,
				proposer,
				name,
				kind,
				weights_hash,
				previous,
				deposit,
			});
			Ok(())
		}

		/// Approves a proposal: the model serves jobs; the deposit goes back to the proposer.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::approve_model())]
		pub fn approve_model(origin: OriginFor<T>, id: ModelId) -> DispatchResult {
			T::GovernanceOrigin::ensure_origin(origin)?;
			let mut entry = Self::proposed_entry(id)?;
			let released = Self::release_deposit(&entry)?;
			entry.status = ModelStatus::Approved;
			entry.deposit = Zero::zero();
			let weights_hash = entry.info.weights_hash;
			Models::<T>::insert(id, entry);
			Self::deposit_event(Event::ModelApproved {
				id,
				weights_hash,
				released,
			});
			Ok(())
		}

		/// Rejects a proposal: [`Config::RejectionSlash`] of the deposit goes to the treasury,
		/// the rest back to the proposer, and the entry is removed.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::reject_model())]
		pub fn reject_model(origin: OriginFor<T>, id: ModelId) -> DispatchResult {
			T::GovernanceOrigin::ensure_origin(origin)?;
			let entry = Self::proposed_entry(id)?;
			let reason = HoldReason::ProposalDeposit.into();
			let to_slash = T::RejectionSlash::get() * entry.deposit;
			let (credit, _not_slashed) = T::Currency::slash(&reason, &entry.proposer, to_slash);
			let slashed = credit.peek();
			T::Slashed::on_unbalanced(credit);
			let released = T::Currency::release(
				&reason,
				&entry.proposer,
				entry.deposit.saturating_sub(slashed),
				Precision::BestEffort,
			)?;
			Self::remove_entry(id, &entry);
			Self::deposit_event(Event::ModelRejected {
				id,
				proposer: entry.proposer,
				slashed,
				released,
			});
			Ok(())
		}

		/// Retires an approved model: no new jobs; jobs in flight finish.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::retire_model())]
		pub fn retire_model(origin: OriginFor<T>, id: ModelId) -> DispatchResult {
			T::GovernanceOrigin::ensure_origin(origin)?;
			let mut entry = Models::<T>::get(id).ok_or(Error::<T>::UnknownModel)?;
			ensure!(
				entry.status == ModelStatus::Approved,
				Error::<T>::NotApproved
			);
			ActiveFingerprints::<T>::remove(fingerprint(&entry.info));
			entry.status = ModelStatus::Retired;
			Models::<T>::insert(id, entry);
			Self::deposit_event(Event::ModelRetired { id });
			Ok(())
		}

		/// Withdraws one's own proposal before the council decides; the deposit is released.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::withdraw_proposal())]
		pub fn withdraw_proposal(origin: OriginFor<T>, id: ModelId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let entry = Self::proposed_entry(id)?;
			ensure!(entry.proposer == who, Error::<T>::NotProposer);
			let released = Self::release_deposit(&entry)?;
			Self::remove_entry(id, &entry);
			Self::deposit_event(Event::ProposalWithdrawn {
				id,
				proposer: who,
				released,
			});
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// Every check of a proposal that does not involve the proposer's money.
		pub(crate) fn check_proposal(
			info: &ModelInfo<BalanceOf<T>>,
			golden_vectors: &GoldenVectors,
		) -> DispatchResult {
			ensure!(!info.name.is_empty(), Error::<T>::EmptyName);
			ensure!(!info.min_fee.is_zero(), Error::<T>::ZeroMinFee);
			ensure!(!golden_vectors.is_empty(), Error::<T>::NoGoldenVectors);
			ensure!(
				golden_vectors.iter().all(|g| g.input.kind() == info.kind),
				Error::<T>::GoldenVectorKindMismatch
			);
			ensure!(
				golden_vectors.iter().all(|g| g.input.validate().is_ok()),
				Error::<T>::InvalidGoldenVector
			);
			if let VerificationPolicy::Tolerance { .. } = info.policy {
				ensure!(
					info.kind == JobKind::Embed,
					Error::<T>::PolicyDoesNotFitKind
				);
			}
			if let Some(previous) = info.previous {
				let previous = Models::<T>::get(previous)
					.filter(|e| e.status != ModelStatus::Proposed)
					.ok_or(Error::<T>::UnknownPrevious)?;
				ensure!(
					previous.info.kind == info.kind,
					Error::<T>::PreviousKindMismatch
				);
			}
			ensure!(
				!ActiveFingerprints::<T>::contains_key(fingerprint(info)),
				Error::<T>::DuplicateModel
			);
			Ok(())
		}

		/// Stores a new entry under the next id and records its fingerprint.
		pub(crate) fn insert_entry(
			proposer: T::AccountId,
			info: ModelInfo<BalanceOf<T>>,
			golden_vectors: GoldenVectors,
			deposit: BalanceOf<T>,
			status: ModelStatus,
		) -> Result<ModelId, DispatchError> {
			let id = NextModelId::<T>::get();
			let next = id.checked_add(1).ok_or(Error::<T>::TooManyModels)?;
			NextModelId::<T>::put(next);
			ActiveFingerprints::<T>::insert(fingerprint(&info), id);
			let proposed_at = frame_system::Pallet::<T>::block_number();
			Models::<T>::insert(
				id,
				ModelEntry {
					info,
					proposer,
					deposit,
					status,
					proposed_at,
				},
			);
			Golden::<T>::insert(id, golden_vectors);
			Ok(id)
		}

		/// The entry `id`, if it is a proposal waiting for a decision.
		fn proposed_entry(id: ModelId) -> Result<EntryOf<T>, DispatchError> {
			let entry = Models::<T>::get(id).ok_or(Error::<T>::UnknownModel)?;
			ensure!(
				entry.status == ModelStatus::Proposed,
				Error::<T>::NotProposed
			);
			Ok(entry)
		}

		/// Releases a proposal's whole deposit to its proposer.
		fn release_deposit(entry: &EntryOf<T>) -> Result<BalanceOf<T>, DispatchError> {
			T::Currency::release(
				&HoldReason::ProposalDeposit.into(),
				&entry.proposer,
				entry.deposit,
				Precision::BestEffort,
			)
		}

		/// Removes a decided proposal and frees its fingerprint.
		fn remove_entry(id: ModelId, entry: &EntryOf<T>) {
			ActiveFingerprints::<T>::remove(fingerprint(&entry.info));
			Models::<T>::remove(id);
			Golden::<T>::remove(id);
		}

		/// Invariants: each proposer's held deposits equal the deposits of their open proposals;
		/// exactly the proposed and approved entries have their fingerprint recorded; every
		/// entry, and only an entry, has golden vectors.
		#[cfg(any(test, feature = "try-runtime"))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			use alloc::collections::btree_map::BTreeMap;
			use frame_support::traits::fungible::InspectHold;
			let mut deposits: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
			let mut active = 0usize;
			for (id, entry) in Models::<T>::iter() {
				invariant(
					id < NextModelId::<T>::get(),
					"an entry id is not below NextModelId",
				)?;
				invariant(
					Golden::<T>::contains_key(id),
					"an entry has no golden vectors",
				)?;
				let recorded = ActiveFingerprints::<T>::get(fingerprint(&entry.info));
				match entry.status {
					ModelStatus::Proposed => {
						let sum = deposits.entry(entry.proposer.clone()).or_default();
						*sum = sum.saturating_add(entry.deposit);
						invariant(
							recorded == Some(id),
							"a proposal's fingerprint is not recorded",
						)?;
						active += 1;
					}
					ModelStatus::Approved => {
						invariant(
							entry.deposit.is_zero(),
							"an approved entry still has a deposit",
						)?;
						invariant(
							recorded == Some(id),
							"an approved fingerprint is not recorded",
						)?;
						active += 1;
					}
					ModelStatus::Retired => {
						invariant(
							entry.deposit.is_zero(),
							"a retired entry still has a deposit",
						)?;
						invariant(
							recorded != Some(id),
							"a retired entry keeps its fingerprint",
						)?;
					}
				}
			}
			invariant(
				Golden::<T>::iter_keys().all(Models::<T>::contains_key),
				"golden vectors without an entry",
			)?;
			invariant(
				ActiveFingerprints::<T>::iter().count() == active,
				"a fingerprint has no active entry",
			)?;
			let reason = HoldReason::ProposalDeposit.into();
			for (proposer, expected) in deposits {
				invariant(
					T::Currency::balance_on_hold(&reason, &proposer) == expected,
					"held deposits differ from the open proposals' deposits",
				)?;
			}
			Ok(())
		}
	}

	/// An invariant of [`Pallet::do_try_state`]: `Ok` if it holds, the message if not.
	#[cfg(any(test, feature = "try-runtime"))]
	fn invariant(holds: bool, broken: &'static str) -> Result<(), sp_runtime::TryRuntimeError> {
		if holds {
			Ok(())
		} else {
			Err(broken.into())
		}
	}

	impl<T: Config> ModelRegistry<BalanceOf<T>> for Pallet<T> {
		fn model(id: ModelId) -> Option<ModelSummary<BalanceOf<T>>> {
			let entry = Models::<T>::get(id)?;
			let accepts_jobs = match entry.status {
				ModelStatus::Proposed => return None,
				ModelStatus::Approved => true,
				ModelStatus::Retired => false,
			};
			Some(ModelSummary {
				kind: entry.info.kind,
				model_hash: entry.info.model_hash,
				weights_hash: entry.info.weights_hash,
				tokenizer_hash: entry.info.tokenizer_hash,
				policy: entry.info.policy,
				min_fee: entry.info.min_fee,
				accepts_jobs,
			})
		}

		#[cfg(feature = "runtime-benchmarks")]
		fn register_benchmark_model(kind: JobKind) -> Option<ModelId> {
			crate::benchmarking::register_approved::<T>(kind)
		}
	}
}
