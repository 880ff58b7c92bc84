//! A test runtime: System, Balances, a three-member council and the registry.
//!
//! The registry's governance origin is root *or* two thirds of the council, so unit tests can
//! act as root while the governance tests go through real council motions.

use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU128, ConstU32, ConstU64, EitherOfDiverse},
	weights::Weight,
};
use frame_system::EnsureRoot;
use sp_runtime::{BuildStorage, Perbill};

use crate as pallet_models;

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
	pub type Council = pallet_collective<Instance1>;
	#[runtime::pallet_index(3)]
	pub type Models = pallet_models;
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

parameter_types! {
	pub MaxProposalWeight: Weight = Weight::from_parts(1_000_000_000_000, u64::MAX);
}

impl pallet_collective::Config<pallet_collective::Instance1> for Test {
	type RuntimeOrigin = RuntimeOrigin;
	type Proposal = RuntimeCall;
	type RuntimeEvent = RuntimeEvent;
	type MotionDuration = ConstU64<10>;
	type MaxProposals = ConstU32<10>;
	type MaxMembers = ConstU32<10>;
	type DefaultVote = pallet_collective::PrimeDefaultVote;
	type WeightInfo = ();
	type SetMembersOrigin = EnsureRoot<AccountId>;
	type MaxProposalWeight = MaxProposalWeight;
	type DisapproveOrigin = EnsureRoot<AccountId>;
	type KillOrigin = EnsureRoot<AccountId>;
	type Consideration = ();
}

/// Two thirds of the council, as in the Verity runtime.
pub type TwoThirdsCouncil =
	pallet_collective::EnsureProportionAtLeast<AccountId, pallet_collective::Instance1, 2, 3>;

/// Where slashed deposits go in tests: this account.
pub const TREASURY: AccountId = 99;

parameter_types! {
	pub const Treasury: AccountId = TREASURY;
	/// Proposal deposit in tests.
	pub const ProposalDeposit: Balance = 100;
	/// A rejected proposer loses half the deposit.
	pub const RejectionSlash: Perbill = Perbill::from_percent(50);
}

impl pallet_models::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type GovernanceOrigin = EitherOfDiverse<EnsureRoot<AccountId>, TwoThirdsCouncil>;
	type ProposalDeposit = ProposalDeposit;
	type RejectionSlash = RejectionSlash;
	type Slashed = frame_support::traits::tokens::imbalance::ResolveTo<Treasury, Balances>;
	type WeightInfo = ();
}

/// Council members.
pub const COUNCIL: [AccountId; 3] = [1, 2, 3];
/// A funded account that proposes models.
pub const PROPOSER: AccountId = 10;
/// A funded account that proposes nothing.
pub const OTHER: AccountId = 11;
/// An account with less than the deposit.
pub const POOR: AccountId = 12;
/// What funded accounts start with.
pub const ENDOWMENT: Balance = 10_000;

/// Genesis: funded accounts, the council, an existing treasury account, no models.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default()
		.build_storage()
		.unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: vec![
			(PROPOSER, ENDOWMENT),
			(OTHER, ENDOWMENT),
			(POOR, 50),
			(TREASURY, 1),
			(1, ENDOWMENT),
			(2, ENDOWMENT),
			(3, ENDOWMENT),
		],
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	pallet_collective::GenesisConfig::<Test, pallet_collective::Instance1> {
		members: COUNCIL.to_vec(),
		phantom: Default::default(),
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}
