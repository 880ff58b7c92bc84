//! Benchmarks of every call (frame-benchmarking v2); `weights.rs` is generated from them.
//! Each benchmark takes the worst case the bounds allow: the longest name, version, source and
//! engine profile, the most golden vectors with the largest inputs, and a `previous` to check.

use alloc::{boxed::Box, vec, vec::Vec};
use frame_benchmarking::v2::*;
use frame_support::traits::{fungible::Mutate, EnsureOrigin};
use frame_system::RawOrigin;
use sp_core::H256;
use sp_runtime::{traits::Bounded, BoundedVec};
use verity_primitives::{
	job::{JobInput, JobKind, MAX_EMBED_TEXTS, MAX_EMBED_TEXT_BYTES},
	model::{EngineProfile, MAX_PROFILE_TEXT_BYTES},
	policy::VerificationPolicy,
	registry::{GoldenVector, MAX_GOLDEN_VECTORS},
	ModelId,
};

use super::*;
use crate::pallet::BalanceOf;

fn filled<const N: u32>(byte: u8) -> BoundedVec<u8, sp_runtime::traits::ConstU32<N>> {
	BoundedVec::truncate_from(vec![byte; N as usize])
}

/// The largest golden vectors the bounds allow.
fn largest_golden(seed: u8) -> GoldenVectors {
	let text = "x".repeat(MAX_EMBED_TEXT_BYTES as usize);
	let texts: Vec<&str> = vec![text.as_str(); MAX_EMBED_TEXTS as usize];
	let input = JobInput::embed(&texts).expect("texts within the bounds");
	let golden = GoldenVector {
		input,
		output_hash: H256::repeat_byte(seed),
	};
	BoundedVec::truncate_from(vec![golden; MAX_GOLDEN_VECTORS as usize])
}

/// The largest proposal the bounds allow.
fn largest_info<T: Config>(seed: u8, previous: Option<ModelId>) -> ModelInfo<BalanceOf<T>> {
	let profile_text = "p".repeat(MAX_PROFILE_TEXT_BYTES as usize);
	ModelInfo {
		name: filled::<MAX_MODEL_NAME_LEN>(seed),
		version: filled::<MAX_MODEL_VERSION_LEN>(seed),
		kind: JobKind::Embed,
		model_hash: H256::repeat_byte(seed),
		weights_hash: H256::repeat_byte(seed),
		tokenizer_hash: H256::repeat_byte(seed),
		engine: EngineProfile::new(&profile_text, &profile_text, &profile_text, u32::MAX),
		policy: VerificationPolicy::Tolerance {
			max_abs_diff_ppm: 1_000,
		},
		source: filled::<MAX_SOURCE_LEN>(seed),
		min_fee: 1u32.into(),
		previous,
	}
}

/// A funded proposer with an open proposal (model 1) over an approved first version (model 0).
fn proposal<T: Config>() -> Result<T::AccountId, BenchmarkError> {
	let proposer: T::AccountId = whitelisted_caller();
	T::Currency::set_balance(&proposer, BalanceOf::<T>::max_value() / 2u32.into());
	let signed = || RawOrigin::Signed(proposer.clone()).into();
	Pallet::<T>::propose_model(
		signed(),
		Box::new(largest_info::<T>(1, None)),
		largest_golden(1),
	)?;
	let governance =
		T::GovernanceOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
	Pallet::<T>::approve_model(governance, 0)?;
	Pallet::<T>::propose_model(
		signed(),
		Box::new(largest_info::<T>(2, Some(0))),
		largest_golden(2),
	)?;
	Ok(proposer)
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn propose_model() -> Result<(), BenchmarkError> {
		let proposer = proposal::<T>()?;
		let info = largest_info::<T>(3, Some(0));
		#[extrinsic_call]
		_(
			RawOrigin::Signed(proposer),
			Box::new(info),
			largest_golden(3),
		);
		assert_eq!(
			Models::<T>::get(2).map(|e| e.status),
			Some(ModelStatus::Proposed)
		);
		Ok(())
	}

	#[benchmark]
	fn approve_model() -> Result<(), BenchmarkError> {
		proposal::<T>()?;
		let origin =
			T::GovernanceOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, 1);
		assert_eq!(
			Models::<T>::get(1).map(|e| e.status),
			Some(ModelStatus::Approved)
		);
		Ok(())
	}

	#[benchmark]
	fn reject_model() -> Result<(), BenchmarkError> {
		proposal::<T>()?;
		let origin =
			T::GovernanceOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, 1);
		assert!(!Models::<T>::contains_key(1));
		Ok(())
	}

	#[benchmark]
	fn retire_model() -> Result<(), BenchmarkError> {
		proposal::<T>()?;
		let origin =
			T::GovernanceOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, 0);
		assert_eq!(
			Models::<T>::get(0).map(|e| e.status),
			Some(ModelStatus::Retired)
		);
		Ok(())
	}

	#[benchmark]
	fn withdraw_proposal() -> Result<(), BenchmarkError> {
		let proposer = proposal::<T>()?;
		#[extrinsic_call]
		_(RawOrigin::Signed(proposer), 1);
		assert!(!Models::<T>::contains_key(1));
		Ok(())
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
