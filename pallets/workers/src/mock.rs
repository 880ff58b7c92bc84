//! A test runtime: System, Balances and the worker pallet, with a registry of models kept in a
//! thread-local table so tests can approve and retire models.

use core::cell::RefCell;
use std::collections::BTreeMap;

use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU128, ConstU32, ConstU64},
};
use sp_runtime::BuildStorage;
use verity_primitives::{
	job::JobKind,
	policy::VerificationPolicy,
	receipt::ReceiptPublic,
	registry::{ModelRegistry, ModelSummary},
	Hash, ModelId,
};

use crate as pallet_workers;

/// Account ids are plain numbers in tests.
pub type AccountId = u64;
/// Balances in tests.
pub type Balance = u128;
type Block = frame_system::mocking::MockBlock<Test>;

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Test;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type Balances = pallet_balances;
	#[runtime::pallet_index(2)]
	pub type Workers = pallet_workers;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = Balance;
	type ExistentialDeposit = ConstU128<1>;
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
}

thread_local! {
	/// Model id -> accepts jobs (approved) or not (retired). Absent: unknown or only proposed.
	static MODELS: RefCell<BTreeMap<ModelId, bool>> = const { RefCell::new(BTreeMap::new()) };
}

/// Approved models at the start of every test.
pub const APPROVED: [ModelId; 3] = [0, 1, 2];
/// A model that was approved and is now retired.
pub const RETIRED: ModelId = 3;
/// A model nobody approved.
pub const UNKNOWN: ModelId = 9;

/// The registry as the worker pallet sees it in tests.
pub struct MockModels;

impl MockModels {
	/// Approves model `id` (or re-approves it).
	pub fn approve(id: ModelId) {
		MODELS.with(|m| m.borrow_mut().insert(id, true));
	}

	/// Retires model `id`.
	pub fn retire(id: ModelId) {
		MODELS.with(|m| m.borrow_mut().insert(id, false));
	}
}

impl ModelRegistry<Balance> for MockModels {
	fn model(id: ModelId) -> Option<ModelSummary<Balance>> {
		let accepts_jobs = MODELS.with(|m| m.borrow().get(&id).copied())?;
		Some(ModelSummary {
			kind: JobKind::Generate,
			model_hash: Hash::repeat_byte(id as u8),
			weights_hash: Hash::repeat_byte(id as u8),
			tokenizer_hash: Hash::repeat_byte(id as u8),
			policy: VerificationPolicy::Exact,
			min_fee: 1,
			accepts_jobs,
		})
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn register_benchmark_model(_kind: JobKind) -> Option<ModelId> {
		let id = MODELS.with(|m| m.borrow().keys().last().map_or(0, |last| last + 1));
		Self::approve(id);
		Some(id)
	}
}

/// Where slashes sent to the treasury go in tests: this account.
pub const TREASURY: AccountId = 99;
/// The smallest bond in tests.
pub const MIN_BOND: Balance = 100;
/// Blocks of unbonding in tests.
pub const UNBONDING: u64 = 20;

parameter_types! {
	pub const Treasury: AccountId = TREASURY;
}

impl pallet_workers::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Models = MockModels;
	type MinWorkerBond = ConstU128<MIN_BOND>;
	type UnbondingPeriod = ConstU64<UNBONDING>;
	type MaxJobLifetime = ConstU64<10>;
	type MaxWorkersPerModel = ConstU32<4>;
	type MaxModelsPerWorker = ConstU32<3>;
	type MaxUnbondingChunks = ConstU32<3>;
	type MaxCapacity = ConstU32<8>;
	type Slashed = frame_support::traits::tokens::imbalance::ResolveTo<Treasury, Balances>;
	type WeightInfo = ();
}

/// Funded accounts that act as workers.
pub const WORKERS: [AccountId; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
/// A funded account that never registers (a challenger, a juror's payee).
pub const OUTSIDER: AccountId = 30;
/// An account with less than the minimum bond.
pub const POOR: AccountId = 20;
/// An account that does not exist until it is paid.
pub const NEWCOMER: AccountId = 40;
/// What funded accounts start with.
pub const ENDOWMENT: Balance = 1_000_000;

/// A receipt key that differs per worker.
pub fn receipt_key(who: AccountId) -> ReceiptPublic {
	ReceiptPublic::from_raw([who as u8; 32])
}

/// Genesis: funded workers, a treasury account, approved and retired models, nobody registered.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default()
		.build_storage()
		.unwrap();
	let mut balances: Vec<(AccountId, Balance)> = WORKERS.iter().map(|w| (*w, ENDOWMENT)).collect();
	balances.extend([(OUTSIDER, ENDOWMENT), (POOR, 50), (TREASURY, 1)]);
	pallet_balances::GenesisConfig::<Test> {
		balances,
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	MODELS.with(|m| {
		let mut models = m.borrow_mut();
		models.clear();
		models.extend(APPROVED.iter().map(|id| (*id, true)));
		models.insert(RETIRED, false);
	});
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}
