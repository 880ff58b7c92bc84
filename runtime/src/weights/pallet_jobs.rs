// Provisional: replaced by scripts/bench-weights.sh output before landing.
#![allow(missing_docs)]
use core::marker::PhantomData;
use frame_support::{traits::Get, weights::Weight};
pub struct WeightInfo<T>(PhantomData<T>);
impl<T: frame_system::Config> pallet_jobs::WeightInfo for WeightInfo<T> {
	fn submit_job() -> Weight {
		Weight::from_parts(1_000_000_000, 200_000)
			.saturating_add(T::DbWeight::get().reads_writes(30, 30))
	}
	fn cancel_job() -> Weight {
		Weight::from_parts(1_000_000_000, 200_000)
			.saturating_add(T::DbWeight::get().reads_writes(30, 30))
	}
	fn submit_result() -> Weight {
		Weight::from_parts(1_000_000_000, 200_000)
			.saturating_add(T::DbWeight::get().reads_writes(30, 30))
	}
	fn commit_challenge() -> Weight {
		Weight::from_parts(1_000_000_000, 200_000)
			.saturating_add(T::DbWeight::get().reads_writes(30, 30))
	}
	fn reveal_challenge(_j: u32) -> Weight {
		Weight::from_parts(1_000_000_000, 200_000)
			.saturating_add(T::DbWeight::get().reads_writes(30, 30))
	}
	fn commit_vote(_j: u32) -> Weight {
		Weight::from_parts(1_000_000_000, 200_000)
			.saturating_add(T::DbWeight::get().reads_writes(30, 30))
	}
	fn reveal_vote(_j: u32) -> Weight {
		Weight::from_parts(1_000_000_000, 200_000)
			.saturating_add(T::DbWeight::get().reads_writes(30, 30))
	}
	fn set_params() -> Weight {
		Weight::from_parts(1_000_000_000, 200_000)
			.saturating_add(T::DbWeight::get().reads_writes(30, 30))
	}
	fn decide_dispute() -> Weight {
		Weight::from_parts(1_000_000_000, 200_000)
			.saturating_add(T::DbWeight::get().reads_writes(30, 30))
	}
	fn on_initialize_empty() -> Weight {
		Weight::from_parts(1_000_000_000, 200_000)
			.saturating_add(T::DbWeight::get().reads_writes(30, 30))
	}
	fn settle_stale() -> Weight {
		Weight::from_parts(1_000_000_000, 200_000)
			.saturating_add(T::DbWeight::get().reads_writes(30, 30))
	}
	fn settle_missed_deadline() -> Weight {
		Weight::from_parts(1_000_000_000, 200_000)
			.saturating_add(T::DbWeight::get().reads_writes(30, 30))
	}
	fn settle_audit_draw(_j: u32) -> Weight {
		Weight::from_parts(1_000_000_000, 200_000)
			.saturating_add(T::DbWeight::get().reads_writes(30, 30))
	}
	fn settle_finalize() -> Weight {
		Weight::from_parts(1_000_000_000, 200_000)
			.saturating_add(T::DbWeight::get().reads_writes(30, 30))
	}
	fn settle_dispute(_j: u32) -> Weight {
		Weight::from_parts(1_000_000_000, 200_000)
			.saturating_add(T::DbWeight::get().reads_writes(30, 30))
	}
	fn settle_commitment_expiry() -> Weight {
		Weight::from_parts(1_000_000_000, 200_000)
			.saturating_add(T::DbWeight::get().reads_writes(30, 30))
	}
	fn settle_prune() -> Weight {
		Weight::from_parts(1_000_000_000, 200_000)
			.saturating_add(T::DbWeight::get().reads_writes(30, 30))
	}
}
