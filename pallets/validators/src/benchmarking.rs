//! Benchmarks of both calls (frame-benchmarking v2); `weights.rs` is generated from them.
//!
//! Each takes the worst case the bounds allow: `add_validator` scans a set one short of
//! [`Config::MaxValidators`] for a duplicate before adding the last member, and
//! `remove_validator` scans a full set to remove its last member.

use alloc::vec::Vec;
use codec::Decode;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{EnsureOrigin, Get},
	BoundedVec,
};
use pallet_session::SessionInterface;
use sp_runtime::traits::TrailingZeroInput;

use super::*;

/// Fills the set with `n` accounts that are not `whitelisted_caller`.
fn fill_set<T: Config>(n: u32) -> Vec<T::AccountId> {
	let members: Vec<T::AccountId> = (0..n)
		.map(|i| account::<T::AccountId>("validator", i, 0))
		.collect();
	Validators::<T>::put(BoundedVec::truncate_from(members.clone()));
	members
}

/// Registers session keys for `who` the way another pallet would (`SessionInterface::set_keys`:
/// no deposit, no proof), with keys decoded from zeroes, which decode in any runtime's key type
/// (in Verity's, `SessionKeys { babe, grandpa }` of zero bytes; in the mock, `UintAuthorityId(0)`).
fn set_keys<T: Config>(who: &T::AccountId) -> Result<(), BenchmarkError> {
	let keys = T::Keys::decode(&mut TrailingZeroInput::zeroes())
		.map_err(|_| BenchmarkError::Stop("session keys do not decode from zeroes"))?;
	<pallet_session::Pallet<T> as SessionInterface>::set_keys(who, keys)
		.map_err(|_| BenchmarkError::Stop("the session refused the keys"))
}

/// The origin that may manage validators.
fn validator_origin<T: Config>() -> Result<T::RuntimeOrigin, BenchmarkError> {
	T::ValidatorOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn add_validator() -> Result<(), BenchmarkError> {
		let max = T::MaxValidators::get();
		fill_set::<T>(max.saturating_sub(1));
		let candidate: T::AccountId = whitelisted_caller();
		set_keys::<T>(&candidate)?;
		let origin = validator_origin::<T>()?;
		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, candidate.clone());
		let set = Validators::<T>::get();
		assert_eq!(set.len() as u32, max);
		assert_eq!(set.last(), Some(&candidate));
		assert!(SetChanged::<T>::get());
		Ok(())
	}

	#[benchmark]
	fn remove_validator() -> Result<(), BenchmarkError> {
		let max = T::MaxValidators::get();
		if max <= T::MinValidators::get() {
			return Err(BenchmarkError::Stop(
				"MaxValidators leaves no room above MinValidators",
			));
		}
		let members = fill_set::<T>(max);
		let leaving = members
			.last()
			.cloned()
			.ok_or(BenchmarkError::Stop("MaxValidators is zero"))?;
		let origin = validator_origin::<T>()?;
		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, leaving.clone());
		let set = Validators::<T>::get();
		assert_eq!(set.len() as u32, max - 1);
		assert!(!set.contains(&leaving));
		assert!(SetChanged::<T>::get());
		Ok(())
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
