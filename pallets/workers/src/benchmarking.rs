//! Benchmarks of every call (frame-benchmarking v2); `weights.rs` is generated from them.
//!
//! Each benchmark takes the worst case the bounds allow: a worker serving the most models, each of
//! whose indexes is full (registering evicts the weakest entry of each), and the most unbonding
//! chunks.

use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{fungible::Mutate, Get},
	BoundedVec,
};
use frame_system::RawOrigin;
use sp_runtime::traits::{Bounded, One, Saturating};
use verity_primitives::{job::JobKind, receipt::ReceiptPublic, registry::ModelRegistry, ModelId};

use super::*;
use crate::pallet::{BalanceOf, OffersOf};

/// `n` new approved models from the registry.
fn approved_models<T: Config>(n: u32) -> Result<Vec<ModelId>, BenchmarkError> {
	(0..n)
		.map(|_| {
			T::Models::register_benchmark_model(JobKind::Generate).ok_or(BenchmarkError::Stop(
				"the registry cannot register benchmark models",
			))
		})
		.collect()
}

/// Fills the index of `model` with other accounts, each of weight one, so a newcomer evicts one.
fn fill_index<T: Config>(model: ModelId) {
	let room = T::MaxWorkersPerModel::get();
	let fillers: Vec<_> = (0..room)
		.map(|i| {
			(
				account::<T::AccountId>("filler", i, model),
				BalanceOf::<T>::one(),
			)
		})
		.collect();
	ModelWorkers::<T>::insert(model, BoundedVec::truncate_from(fillers));
}

/// A funded caller.
fn funded_caller<T: Config>() -> T::AccountId {
	let caller: T::AccountId = whitelisted_caller();
	T::Currency::set_balance(&caller, BalanceOf::<T>::max_value() / 4u32.into());
	caller
}

/// Twice the minimum bond, so some of it can be unbonded by a registered worker.
fn bond_amount<T: Config>() -> BalanceOf<T> {
	T::MinWorkerBond::get().saturating_mul(2u32.into())
}

fn models_of<T: Config>(ids: Vec<ModelId>) -> OffersOf<T> {
	BoundedVec::truncate_from(
		ids.into_iter()
			.map(|model| ModelCapacity {
				model,
				capacity: T::MaxCapacity::get(),
			})
			.collect::<Vec<_>>(),
	)
}

/// A funded caller, bonded and registered for the most models, last in each full index.
fn registered_worker<T: Config>() -> Result<T::AccountId, BenchmarkError> {
	let caller = funded_caller::<T>();
	let models = approved_models::<T>(T::MaxModelsPerWorker::get())?;
	for model in &models {
		fill_index::<T>(*model);
	}
	Pallet::<T>::bond(RawOrigin::Signed(caller.clone()).into(), bond_amount::<T>())?;
	Pallet::<T>::register_worker(
		RawOrigin::Signed(caller.clone()).into(),
		models_of::<T>(models),
		ReceiptPublic::from_raw([7; 32]),
	)?;
	Ok(caller)
}

/// Adds unbonding chunks, one per block, leaving room for `room` more.
fn unbonding_chunks<T: Config>(who: &T::AccountId, room: u32) -> Result<(), BenchmarkError> {
	T::Currency::set_balance(who, BalanceOf::<T>::max_value() / 4u32.into());
	Pallet::<T>::bond(RawOrigin::Signed(who.clone()).into(), bond_amount::<T>())?;
	let chunks = T::MaxUnbondingChunks::get().saturating_sub(room);
	for _ in 0..chunks {
		let next = frame_system::Pallet::<T>::block_number().saturating_add(One::one());
		frame_system::Pallet::<T>::set_block_number(next);
		Pallet::<T>::unbond(RawOrigin::Signed(who.clone()).into(), One::one())?;
	}
	Ok(())
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn bond() -> Result<(), BenchmarkError> {
		let caller = registered_worker::<T>()?;
		let before = Ledgers::<T>::get(&caller).map(|l| l.bonded);
		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), T::MinWorkerBond::get());
		assert!(Ledgers::<T>::get(&caller).map(|l| l.bonded) > before);
		Ok(())
	}

	#[benchmark]
	fn unbond() -> Result<(), BenchmarkError> {
		let caller = registered_worker::<T>()?;
		unbonding_chunks::<T>(&caller, 1)?;
		let next = frame_system::Pallet::<T>::block_number().saturating_add(One::one());
		frame_system::Pallet::<T>::set_block_number(next);
		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), One::one());
		let chunks = Ledgers::<T>::get(&caller).map_or(0, |l| l.unbonding.len() as u32);
		assert_eq!(chunks, T::MaxUnbondingChunks::get());
		Ok(())
	}

	#[benchmark]
	fn withdraw_unbonded() -> Result<(), BenchmarkError> {
		let caller = funded_caller::<T>();
		unbonding_chunks::<T>(&caller, 0)?;
		let later =
			frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get());
		frame_system::Pallet::<T>::set_block_number(later);
		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()));
		let chunks = Ledgers::<T>::get(&caller).map_or(0, |l| l.unbonding.len());
		assert_eq!(chunks, 0);
		Ok(())
	}

	#[benchmark]
	fn register_worker(
		m: Linear<1, { T::MaxModelsPerWorker::get() }>,
	) -> Result<(), BenchmarkError> {
		let caller = funded_caller::<T>();
		let models = approved_models::<T>(m)?;
		for model in &models {
			fill_index::<T>(*model);
		}
		Pallet::<T>::bond(RawOrigin::Signed(caller.clone()).into(), bond_amount::<T>())?;
		#[extrinsic_call]
		_(
			RawOrigin::Signed(caller.clone()),
			models_of::<T>(models),
			ReceiptPublic::from_raw([7; 32]),
		);
		assert!(Workers::<T>::contains_key(&caller));
		Ok(())
	}

	#[benchmark]
	fn set_models(m: Linear<1, { T::MaxModelsPerWorker::get() }>) -> Result<(), BenchmarkError> {
		let caller = registered_worker::<T>()?;
		let models = approved_models::<T>(m)?;
		for model in &models {
			fill_index::<T>(*model);
		}
		let expected = models.clone();
		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), models_of::<T>(models));
		assert_eq!(
			Workers::<T>::get(&caller).map(|i| i
				.models
				.iter()
				.map(|s| s.model)
				.collect::<Vec<_>>()),
			Some(expected)
		);
		Ok(())
	}

	#[benchmark]
	fn pause() -> Result<(), BenchmarkError> {
		let caller = registered_worker::<T>()?;
		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()));
		assert_eq!(
			Workers::<T>::get(&caller).map(|i| i.status),
			Some(WorkerStatus::Paused)
		);
		Ok(())
	}

	#[benchmark]
	fn resume() -> Result<(), BenchmarkError> {
		let caller = registered_worker::<T>()?;
		Pallet::<T>::pause(RawOrigin::Signed(caller.clone()).into())?;
		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()));
		assert_eq!(
			Workers::<T>::get(&caller).map(|i| i.status),
			Some(WorkerStatus::Active)
		);
		Ok(())
	}

	#[benchmark]
	fn deregister() -> Result<(), BenchmarkError> {
		let caller = registered_worker::<T>()?;
		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()));
		assert!(!Workers::<T>::contains_key(&caller));
		Ok(())
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
