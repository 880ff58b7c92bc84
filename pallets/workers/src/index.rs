//! The model index ([`ModelWorkers`]): which workers serve a model and with what draw weight,
//! how a full index takes a stronger newcomer (the weakest entry is evicted), and what a worker's
//! list of served models holds (capacity and busy slots).

use alloc::vec::Vec;
use frame_support::{ensure, pallet_prelude::DispatchError, traits::Get};
use sp_runtime::{traits::Zero, DispatchResult};
use verity_primitives::{registry::ModelRegistry, ModelId};

use crate::{
	pallet::{
		BalanceOf, Config, Error, Event, IndexPlan, LedgerOf, ModelWorkers, ModelsOf, Pallet,
		WorkerInfoOf, Workers,
	},
	ModelCapacity, ServedModel, WorkerStatus,
};

impl<T: Config> Pallet<T> {
	/// The served-model list for `offers`, keeping what is in flight of models already
	/// served (`current`).
	pub(crate) fn served(offers: &[ModelCapacity], current: &[ServedModel]) -> ModelsOf<T> {
		let served: Vec<ServedModel> = offers
			.iter()
			.map(|offer| ServedModel {
				model: offer.model,
				capacity: offer.capacity,
				busy: current
					.iter()
					.find(|served| served.model == offer.model)
					.map_or(0, |served| served.busy),
			})
			.collect();
		// As long as `offers`, which has the same bound.
		ModelsOf::<T>::truncate_from(served)
	}

	/// Checks a list of models `who` offers to serve with draw weight `weight`: not empty,
	/// no duplicates, capacities in range, each model either in `current` (kept) or
	/// approved, and for every new model room in its index, or a weaker worker to evict.
	/// Returns the models to index and whom each evicts.
	pub(crate) fn check_models(
		who: &T::AccountId,
		offers: &[ModelCapacity],
		current: &[ServedModel],
		weight: BalanceOf<T>,
	) -> Result<IndexPlan<T>, DispatchError> {
		ensure!(!offers.is_empty(), Error::<T>::NoModels);
		let mut plan = Vec::new();
		for (i, offer) in offers.iter().enumerate() {
			ensure!(
				!offers[..i].iter().any(|o| o.model == offer.model),
				Error::<T>::DuplicateModel
			);
			ensure!(offer.capacity > 0, Error::<T>::ZeroCapacity);
			ensure!(
				offer.capacity <= T::MaxCapacity::get(),
				Error::<T>::CapacityTooLarge
			);
			if current.iter().any(|served| served.model == offer.model) {
				continue;
			}
			ensure!(
				T::Models::accepts_jobs(offer.model),
				Error::<T>::ModelNotAccepting
			);
			let index = ModelWorkers::<T>::get(offer.model);
			if index.len() < T::MaxWorkersPerModel::get() as usize {
				plan.push((offer.model, None));
				continue;
			}
			let weakest = index
				.iter()
				.filter(|(worker, _)| worker != who)
				.min_by_key(|(_, weight)| *weight)
				.ok_or(Error::<T>::ModelWorkersFull)?;
			ensure!(weight > weakest.1, Error::<T>::ModelWorkersFull);
			let busy = Workers::<T>::get(&weakest.0).is_some_and(|info| {
				info.models
					.iter()
					.any(|served| served.model == offer.model && served.busy > 0)
			});
			ensure!(!busy, Error::<T>::ModelWorkersFull);
			plan.push((offer.model, Some(weakest.0.clone())));
		}
		Ok(plan)
	}

	/// Indexes `who` for the models of `plan`, evicting the workers it names.
	pub(crate) fn apply_plan(
		who: &T::AccountId,
		plan: IndexPlan<T>,
		weight: BalanceOf<T>,
	) -> DispatchResult {
		for (model, evicted) in plan {
			if let Some(evicted) = evicted {
				Self::evict(&evicted, model, who);
			}
			Self::index_add(who, model, weight)?;
		}
		Ok(())
	}

	/// Takes `model` from `who`'s models and the model's index (it computes no job of it;
	/// answered jobs of it still settle). A worker left with no model stays registered,
	/// drawn for nothing, until it sets models again or deregisters.
	pub(crate) fn evict(who: &T::AccountId, model: ModelId, by: &T::AccountId) {
		Self::index_remove(who, model);
		if let Some(mut info) = Workers::<T>::get(who) {
			info.models.retain(|served| served.model != model);
			Workers::<T>::insert(who, info);
		}
		Self::deposit_event(Event::WorkerEvicted {
			who: who.clone(),
			model,
			by: by.clone(),
		});
	}

	/// A worker's weight in draws: its bond while it is active and bonded at least the
	/// minimum, zero otherwise.
	pub(crate) fn draw_weight(
		info: Option<&WorkerInfoOf<T>>,
		ledger: Option<&LedgerOf<T>>,
	) -> BalanceOf<T> {
		match (info, ledger) {
			(Some(info), Some(ledger))
				if info.status == WorkerStatus::Active
					&& ledger.bonded >= T::MinWorkerBond::get() =>
			{
				ledger.bonded
			}
			_ => Zero::zero(),
		}
	}

	/// Adds `who` to the index of `model` (room was checked by [`Self::check_models`]).
	pub(crate) fn index_add(
		who: &T::AccountId,
		model: ModelId,
		weight: BalanceOf<T>,
	) -> DispatchResult {
		ModelWorkers::<T>::try_mutate(model, |list| {
			list.try_push((who.clone(), weight))
				.map_err(|_| Error::<T>::ModelWorkersFull)
		})?;
		Ok(())
	}

	/// Removes `who` from the index of `model`.
	pub(crate) fn index_remove(who: &T::AccountId, model: ModelId) {
		ModelWorkers::<T>::mutate_exists(model, |list| {
			if let Some(entries) = list {
				entries.retain(|(worker, _)| worker != who);
				if entries.is_empty() {
					*list = None;
				}
			}
		});
	}

	/// Writes `who`'s current draw weight into the index of every model it serves.
	pub(crate) fn index_weight(
		who: &T::AccountId,
		info: Option<&WorkerInfoOf<T>>,
		ledger: &LedgerOf<T>,
	) {
		let Some(info) = info else { return };
		let weight = Self::draw_weight(Some(info), Some(ledger));
		for served in info.models.iter() {
			ModelWorkers::<T>::mutate(served.model, |list| {
				for entry in list.iter_mut().filter(|(worker, _)| worker == who) {
					entry.1 = weight;
				}
			});
		}
	}
}
