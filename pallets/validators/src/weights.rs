//! Weights of `pallet-validators`' calls.
//!
//! **`SubstrateWeight`'s figures are estimates, not measurements**: the database reads and writes
//! are counted from the code, and the execution times and proof sizes are guesses on the safe
//! side, until `scripts/bench-weights.sh` regenerates them from the benchmarks in
//! `benchmarking.rs` (into `runtime/src/weights/pallet_validators.rs`, in this format). `()` (zero
//! weights) is for the pallet's own tests only.
//!
//! What each call touches:
//! * `add_validator`: `Validators` (r/w), `Session::NextKeys` (r), `Session::CurrentIndex` (r),
//!   `SetChanged` (w).
//! * `remove_validator`: `Validators` (r/w), `Session::CurrentIndex` (r), `SetChanged` (w).
//!
//! The origin check reads nothing (root, or a council motion being executed).

#![allow(unused_parens, unused_imports, missing_docs)]

use core::marker::PhantomData;
use frame_support::{
	traits::Get,
	weights::{constants::RocksDbWeight, Weight},
};

/// Weight functions needed for `pallet-validators`.
pub trait WeightInfo {
	fn add_validator() -> Weight;
	fn remove_validator() -> Weight;
}

/// Estimated weights (see the module docs) until the benchmarks regenerate them.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// Storage: `Validators::Validators` (r:1 w:1)
	/// Proof: `Validators::Validators` (`max_values`: Some(1), `max_size`: Some(1025), added: 1520, mode: `MaxEncodedLen`)
	/// Storage: `Session::NextKeys` (r:1 w:0)
	/// Proof: `Session::NextKeys` (`max_values`: None, `max_size`: None, mode: `Measured`)
	/// Storage: `Session::CurrentIndex` (r:1 w:0)
	/// Proof: `Session::CurrentIndex` (`max_values`: Some(1), `max_size`: None, mode: `Measured`)
	/// Storage: `Validators::SetChanged` (r:0 w:1)
	/// Proof: `Validators::SetChanged` (`max_values`: Some(1), `max_size`: Some(1), added: 496, mode: `MaxEncodedLen`)
	fn add_validator() -> Weight {
		// Estimated, not measured (a set of 32, the duplicate scan over all of it).
		Weight::from_parts(30_000_000, 0)
			.saturating_add(Weight::from_parts(0, 4000))
			.saturating_add(T::DbWeight::get().reads(3))
			.saturating_add(T::DbWeight::get().writes(2))
	}
	/// Storage: `Validators::Validators` (r:1 w:1)
	/// Proof: `Validators::Validators` (`max_values`: Some(1), `max_size`: Some(1025), added: 1520, mode: `MaxEncodedLen`)
	/// Storage: `Session::CurrentIndex` (r:1 w:0)
	/// Proof: `Session::CurrentIndex` (`max_values`: Some(1), `max_size`: None, mode: `Measured`)
	/// Storage: `Validators::SetChanged` (r:0 w:1)
	/// Proof: `Validators::SetChanged` (`max_values`: Some(1), `max_size`: Some(1), added: 496, mode: `MaxEncodedLen`)
	fn remove_validator() -> Weight {
		// Estimated, not measured (a full set, removing the last one).
		Weight::from_parts(25_000_000, 0)
			.saturating_add(Weight::from_parts(0, 2600))
			.saturating_add(T::DbWeight::get().reads(2))
			.saturating_add(T::DbWeight::get().writes(2))
	}
}

/// Zero weights, for tests.
impl WeightInfo for () {
	fn add_validator() -> Weight {
		Weight::zero()
	}
	fn remove_validator() -> Weight {
		Weight::zero()
	}
}
