// Provisional: replaced by scripts/bench-weights.sh output before landing.
#![allow(missing_docs)]
use core::marker::PhantomData;
use frame_support::{traits::Get, weights::Weight};
pub struct WeightInfo<T>(PhantomData<T>);
impl<T: frame_system::Config> pallet_workers::WeightInfo for WeightInfo<T> {
	fn bond() -> Weight {
		Weight::from_parts(1_000_000_000, 100_000)
			.saturating_add(T::DbWeight::get().reads_writes(20, 20))
	}
	fn unbond() -> Weight {
		Weight::from_parts(1_000_000_000, 100_000)
			.saturating_add(T::DbWeight::get().reads_writes(20, 20))
	}
	fn withdraw_unbonded() -> Weight {
		Weight::from_parts(1_000_000_000, 100_000)
			.saturating_add(T::DbWeight::get().reads_writes(20, 20))
	}
	fn register_worker(_m: u32) -> Weight {
		Weight::from_parts(1_000_000_000, 100_000)
			.saturating_add(T::DbWeight::get().reads_writes(20, 20))
	}
	fn set_models(_m: u32) -> Weight {
		Weight::from_parts(1_000_000_000, 100_000)
			.saturating_add(T::DbWeight::get().reads_writes(20, 20))
	}
	fn pause() -> Weight {
		Weight::from_parts(1_000_000_000, 100_000)
			.saturating_add(T::DbWeight::get().reads_writes(20, 20))
	}
	fn resume() -> Weight {
		Weight::from_parts(1_000_000_000, 100_000)
			.saturating_add(T::DbWeight::get().reads_writes(20, 20))
	}
	fn deregister() -> Weight {
		Weight::from_parts(1_000_000_000, 100_000)
			.saturating_add(T::DbWeight::get().reads_writes(20, 20))
	}
}
