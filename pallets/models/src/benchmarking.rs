//! Benchmarks of every call (frame-benchmarking v2); `weights.rs` is generated from them.
//! Each benchmark takes the worst case the bounds allow: the longest name, version, source and
//! engine profile, the most golden vectors with the largest inputs, and a `previous` to check.

use alloc::{boxed::Box, vec, vec::Vec};
use frame_benchmarking::v2::*;
use frame_support::traits::{fungible::Mutate, EnsureOrigin};
use frame_system::RawOrigin;
use sp_core::H256;
use sp_runtime::{
	traits::{Bounded, Zero},
	BoundedVec,
};
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

/// A model set up for a benchmark: an approved first version and an open proposal over it.
struct Setup<AccountId> {
	proposer: AccountId,
	approved: ModelId,
	proposed: ModelId,
}

/// A funded proposer with an open proposal over an approved first version, after whatever models
/// genesis registered.
fn proposal<T: Config>() -> Result<Setup<T::AccountId>, BenchmarkError> {
	let proposer: T::AccountId = whitelisted_caller();
	T::Currency::set_balance(&proposer, BalanceOf::<T>::max_value() / 2u32.into());
	let signed = || RawOrigin::Signed(proposer.clone()).into();
	let approved = NextModelId::<T>::get();
	Pallet::<T>::propose_model(
		signed(),
		Box::new(largest_info::<T>(1, None)),
		largest_golden(1),
	)?;
	Pallet::<T>::approve_model(governance::<T>()?, approved)?;
	let proposed = NextModelId::<T>::get();
	let second = largest_info::<T>(2, Some(approved));
	Pallet::<T>::propose_model(signed(), Box::new(second), largest_golden(2))?;
	Ok(Setup {
		proposer,
		approved,
		proposed,
	})
}

/// Registers an approved model of `kind` with hashes no other entry has, without a deposit (as
/// genesis does), for the benchmarks of pallets that need approved models.
pub(crate) fn register_approved<T: Config>(kind: JobKind) -> Option<ModelId> {
	let id = NextModelId::<T>::get();
	// The id in the low bytes, big-endian (no `from_low_u64_be`: its `byteorder` feature is off in
	// the runtime's no_std build).
	let mut bytes = [0u8; 32];
	bytes[24..].copy_from_slice(&(0xbe00_0000_0000_0000 | u64::from(id)).to_be_bytes());
	let hash = H256(bytes);
	let (input, policy) = match kind {
		JobKind::Generate => (
			JobInput::generate("benchmark", 8).ok()?,
			VerificationPolicy::Exact,
		),
		JobKind::Embed => (
			JobInput::embed(&["benchmark"]).ok()?,
			VerificationPolicy::Tolerance {
				max_abs_diff_ppm: 100,
			},
		),
	};
	let info = ModelInfo {
		name: filled::<MAX_MODEL_NAME_LEN>(b'b'),
		version: filled::<MAX_MODEL_VERSION_LEN>(b'1'),
		kind,
		model_hash: hash,
		weights_hash: hash,
		tokenizer_hash: hash,
		engine: EngineProfile::new("candle", "x86_64", "avx2", 2),
		policy,
		source: filled::<MAX_SOURCE_LEN>(b's'),
		min_fee: 1u32.into(),
		previous: None,
	};
	let golden: GoldenVectors = BoundedVec::truncate_from(vec![GoldenVector {
		input,
		output_hash: hash,
	}]);
	Pallet::<T>::check_proposal(&info, &golden).ok()?;
	let proposer = account("benchmark-proposer", 0, 0);
	Pallet::<T>::insert_entry(proposer, info, golden, Zero::zero(), ModelStatus::Approved).ok()
}

/// The origin that decides on models.
fn governance<T: Config>() -> Result<T::RuntimeOrigin, BenchmarkError> {
	T::GovernanceOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)
}

fn status<T: Config>(id: ModelId) -> Option<ModelStatus> {
	Models::<T>::get(id).map(|entry| entry.status)
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn propose_model() -> Result<(), BenchmarkError> {
		let setup = proposal::<T>()?;
		let info = largest_info::<T>(3, Some(setup.approved));
		let id = NextModelId::<T>::get();
		#[extrinsic_call]
		_(
			RawOrigin::Signed(setup.proposer),
			Box::new(info),
			largest_golden(3),
		);
		assert_eq!(status::<T>(id), Some(ModelStatus::Proposed));
		Ok(())
	}

	#[benchmark]
	fn approve_model() -> Result<(), BenchmarkError> {
		let setup = proposal::<T>()?;
		let origin = governance::<T>()?;
		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, setup.proposed);
		assert_eq!(status::<T>(setup.proposed), Some(ModelStatus::Approved));
		Ok(())
	}

	#[benchmark]
	fn reject_model() -> Result<(), BenchmarkError> {
		let setup = proposal::<T>()?;
		let origin = governance::<T>()?;
		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, setup.proposed);
		assert_eq!(status::<T>(setup.proposed), None);
		Ok(())
	}

	#[benchmark]
	fn retire_model() -> Result<(), BenchmarkError> {
		let setup = proposal::<T>()?;
		let origin = governance::<T>()?;
		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, setup.approved);
		assert_eq!(status::<T>(setup.approved), Some(ModelStatus::Retired));
		Ok(())
	}

	#[benchmark]
	fn withdraw_proposal() -> Result<(), BenchmarkError> {
		let setup = proposal::<T>()?;
		#[extrinsic_call]
		_(RawOrigin::Signed(setup.proposer), setup.proposed);
		assert_eq!(status::<T>(setup.proposed), None);
		Ok(())
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
