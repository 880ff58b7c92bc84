//! Stake-weighted, deterministic draws of workers ([`WorkerSelection`]).
//!
//! A draw reads the model's index (one bounded list of workers and their weights), then picks one
//! worker at a time: a point in `[0, total weight)` is derived from `BLAKE2-256("verity/draw",
//! seed, draw number)` and the worker whose cumulative weight interval holds it is taken and
//! removed from the pool. So:
//!
//! * the first pick is proportional to bond, and every later pick is proportional to bond among
//!   the workers left;
//! * the chance that *none* of a group of accounts is drawn depends only on the group's total
//!   bond, so splitting a bond over several accounts does not raise the chance that one of them is
//!   drawn (it can raise the number of seats the group holds when it is drawn, as one account holds
//!   at most one seat);
//! * for a job ([`Demand::Job`]), a worker with no free slot of its capacity for the model, or
//!   whose unreserved bond is below the job's collateral, is removed from the pool when drawn and the draw is
//!   repeated, which keeps the picks proportional to bond among the workers that can take the
//!   job; only drawn workers' records are read. A jury seat ([`Demand::JurySeat`]) takes any
//!   active worker of the model.
//!
//! Jury seats ([`WorkerSelection::draw_seats`]) are drawn the other way, **with replacement**:
//! every seat is an independent stake-weighted pick over the same pool, so a group holding a
//! share `s` of the pool's bond wins Binomial(seats, s) seats whether it is one account or a
//! hundred. Splitting a bond wins no jury weight.
//!
//! The point is the first 16 bytes of the hash reduced modulo the total weight; the bias this adds
//! is below `total / 2^128`, far under one part in a billion for any real total.

use alloc::vec::Vec;
use codec::Encode;
use sp_runtime::traits::{SaturatedConversion, Zero};
use verity_primitives::{
	receipt::ReceiptPublic,
	workers::{Demand, WorkerSelection},
	Hash, ModelId,
};

use crate::{
	pallet::{BalanceOf, Config, Ledgers, ModelWorkers, Pallet, Workers},
	WorkerStatus,
};

/// Domain tag of the hash that places each draw.
const DRAW_TAG: &[u8] = b"verity/draw";

/// The point of draw number `draw` in `[0, total)`; `total` must not be zero.
fn draw_point(seed: &Hash, draw: u32, total: u128) -> u128 {
	let digest = verity_primitives::blake2_256(&(DRAW_TAG, seed, draw).encode());
	let mut low = [0u8; 16];
	low.copy_from_slice(&digest.as_bytes()[..16]);
	u128::from_le_bytes(low) % total
}

/// The index in `pool` whose cumulative weight interval holds `point`.
fn pick<A>(pool: &[(A, u128)], point: u128) -> usize {
	let mut cumulative = 0u128;
	for (i, (_, weight)) in pool.iter().enumerate() {
		cumulative = cumulative.saturating_add(*weight);
		if point < cumulative {
			return i;
		}
	}
	pool.len().saturating_sub(1)
}

impl<T: Config> Pallet<T> {
	/// The workers of `model` with a non-zero draw weight that are not in `exclude`.
	fn pool(model: ModelId, exclude: &[T::AccountId]) -> Vec<(T::AccountId, u128)> {
		ModelWorkers::<T>::get(model)
			.into_iter()
			.filter(|(worker, weight)| !weight.is_zero() && !exclude.contains(worker))
			.map(|(worker, weight)| (worker, weight.saturated_into::<u128>()))
			.collect()
	}

	/// Whether `who` can take `demand` for `model`: for a job, a free slot of its capacity for
	/// the model and the job's collateral in unreserved bond.
	pub(crate) fn can_take(
		who: &T::AccountId,
		model: ModelId,
		demand: Demand<BalanceOf<T>>,
	) -> bool {
		let Demand::Job(collateral) = demand else {
			return true;
		};
		let slot = Workers::<T>::get(who).is_some_and(|info| {
			info.models
				.iter()
				.any(|served| served.model == model && served.has_free_slot())
		});
		slot && (collateral.is_zero()
			|| Ledgers::<T>::get(who).is_some_and(|l| l.free() >= collateral))
	}
}

impl<T: Config> WorkerSelection<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn select(
		model: ModelId,
		exclude: &[T::AccountId],
		seed: Hash,
		n: u32,
		demand: Demand<BalanceOf<T>>,
	) -> Vec<T::AccountId> {
		let mut pool = Self::pool(model, exclude);
		let mut total = pool
			.iter()
			.fold(0u128, |sum, (_, weight)| sum.saturating_add(*weight));
		let mut chosen = Vec::new();
		let mut draw = 0u32;
		while (chosen.len() as u32) < n && total > 0 && !pool.is_empty() {
			let index = pick(&pool, draw_point(&seed, draw, total));
			draw = draw.saturating_add(1);
			let (worker, weight) = pool.remove(index);
			total = total.saturating_sub(weight);
			if Self::can_take(&worker, model, demand) {
				chosen.push(worker);
			}
		}
		chosen
	}

	fn draw_seats(
		model: ModelId,
		exclude: &[T::AccountId],
		seed: Hash,
		seats: u32,
	) -> (Vec<(T::AccountId, u32)>, BalanceOf<T>) {
		let pool = Self::pool(model, exclude);
		let total = pool
			.iter()
			.fold(0u128, |sum, (_, weight)| sum.saturating_add(*weight));
		let mut drawn: Vec<(T::AccountId, u32)> = Vec::new();
		if total == 0 {
			return (drawn, Zero::zero());
		}
		for seat in 0..seats {
			let (worker, _) = &pool[pick(&pool, draw_point(&seed, seat, total))];
			match drawn.iter_mut().find(|(account, _)| account == worker) {
				Some((_, count)) => *count = count.saturating_add(1),
				None => drawn.push((worker.clone(), 1)),
			}
		}
		(drawn, total.saturated_into())
	}

	fn eligible_count(
		model: ModelId,
		exclude: &[T::AccountId],
		demand: Demand<BalanceOf<T>>,
	) -> u32 {
		Self::pool(model, exclude)
			.iter()
			.filter(|(worker, _)| Self::can_take(worker, model, demand))
			.count() as u32
	}

	fn receipt_key(who: &T::AccountId) -> Option<ReceiptPublic> {
		Workers::<T>::get(who).map(|info| info.receipt_key)
	}

	fn serves(who: &T::AccountId, model: ModelId) -> bool {
		Workers::<T>::get(who).is_some_and(|info| {
			info.status == WorkerStatus::Active && info.models.iter().any(|s| s.model == model)
		})
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn register_benchmark_worker(
		who: &T::AccountId,
		bond: BalanceOf<T>,
		model: ModelId,
		receipt_key: ReceiptPublic,
	) -> bool {
		let offer = crate::ModelCapacity {
			model,
			capacity: <T::MaxCapacity as frame_support::traits::Get<u32>>::get(),
		};
		let Ok(models) = crate::OffersOf::<T>::try_from(alloc::vec![offer]) else {
			return false;
		};
		Self::do_bond(who, bond).is_ok() && Self::do_register(who, models, receipt_key).is_ok()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn pick_maps_points_to_cumulative_intervals() {
		let pool = [(1u8, 2u128), (2, 0), (3, 5)];
		assert_eq!(pick(&pool, 0), 0);
		assert_eq!(pick(&pool, 1), 0);
		assert_eq!(pick(&pool, 2), 2, "a zero weight owns no point");
		assert_eq!(pick(&pool, 6), 2);
	}

	#[test]
	fn draw_points_stay_below_the_total_and_depend_on_seed_and_draw() {
		let seed = Hash::repeat_byte(7);
		for total in [1u128, 2, 3, 1_000, u128::MAX] {
			assert!(draw_point(&seed, 0, total) < total);
		}
		assert_eq!(draw_point(&seed, 0, 1), 0);
		assert_ne!(
			draw_point(&seed, 0, u128::MAX),
			draw_point(&seed, 1, u128::MAX)
		);
		assert_ne!(
			draw_point(&seed, 0, u128::MAX),
			draw_point(&Hash::repeat_byte(8), 0, u128::MAX)
		);
	}
}
