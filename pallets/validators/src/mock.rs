//! A test runtime: System, Balances, this pallet, Session and its history, with sessions of
//! [`PERIOD`] blocks and `UintAuthorityId` session keys.
//!
//! As in a real runtime, `Validators` is declared before `Session`: the session's genesis build
//! asks it for the first validator set.

use frame_support::{
	derive_impl,
	traits::{ConstU32, ConstU64},
};
use frame_system::{EnsureRoot, EnsureSignedBy};
use sp_runtime::{
	testing::UintAuthorityId,
	traits::{Convert, ConvertInto},
	BuildStorage,
};

use crate as pallet_validators;

/// Account ids are plain numbers in tests.
pub type AccountId = u64;
/// Balances in tests.
pub type Balance = u64;
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
	// Before `Session`: its genesis build reads the first set from here.
	#[runtime::pallet_index(2)]
	pub type Validators = pallet_validators;
	#[runtime::pallet_index(3)]
	pub type Session = pallet_session;
	#[runtime::pallet_index(4)]
	pub type Historical = pallet_session::historical;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = Balance;
	type ExistentialDeposit = ConstU64<1>;
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
}

/// Blocks of a session: sessions end at every multiple of it.
pub const PERIOD: u64 = 5;
/// What `session.set_keys` holds.
pub const KEY_DEPOSIT: Balance = 10;

impl pallet_session::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type ValidatorId = AccountId;
	type ValidatorIdOf = ConvertInto;
	type ShouldEndSession = pallet_session::PeriodicSessions<ConstU64<PERIOD>, ConstU64<0>>;
	type NextSessionRotation = pallet_session::PeriodicSessions<ConstU64<PERIOD>, ConstU64<0>>;
	type SessionManager = pallet_session::historical::NoteHistoricalRoot<Test, Validators>;
	type SessionHandler = pallet_session::TestSessionHandler;
	type Keys = UintAuthorityId;
	// At most a third of the session's set disabled at once, as in the runtime.
	type DisablingStrategy = pallet_session::disabling::UpToLimitDisablingStrategy;
	type WeightInfo = ();
	type Currency = Balances;
	type KeyDeposit = ConstU64<KEY_DEPOSIT>;
}

/// Validators bond nothing: every validator's full identification is `()`.
pub struct NoIdentification;

impl Convert<AccountId, Option<()>> for NoIdentification {
	fn convert(_: AccountId) -> Option<()> {
		Some(())
	}
}

impl pallet_session::historical::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type FullIdentification = ();
	type FullIdentificationOf = NoIdentification;
}

/// The account that stands for the council in tests, next to root.
pub const COUNCIL: AccountId = 100;
/// The smallest set in tests.
pub const MIN_VALIDATORS: u32 = 3;
/// The largest set in tests.
pub const MAX_VALIDATORS: u32 = 6;
/// Sessions of history kept in tests.
pub const HISTORY_DEPTH: u32 = 4;
/// The session length written at genesis.
pub const SESSION_LENGTH: u64 = 7;

impl pallet_validators::Config for Test {
	type ValidatorOrigin = frame_support::traits::EitherOfDiverse<
		EnsureRoot<AccountId>,
		EnsureSignedBy<CouncilMembers, AccountId>,
	>;
	type MinValidators = ConstU32<MIN_VALIDATORS>;
	type MaxValidators = ConstU32<MAX_VALIDATORS>;
	type HistoryDepth = ConstU32<HISTORY_DEPTH>;
	type WeightInfo = ();
}

/// [`COUNCIL`] as the only member of the signed origin that may manage validators.
pub struct CouncilMembers;

impl frame_support::traits::SortedMembers<AccountId> for CouncilMembers {
	fn sorted_members() -> Vec<AccountId> {
		vec![COUNCIL]
	}
}

/// The genesis validators, each with session keys.
pub const GENESIS: [AccountId; 4] = [1, 2, 3, 4];
/// Funded accounts with session keys that are not validators.
pub const CANDIDATES: [AccountId; 3] = [5, 6, 7];
/// A funded account without session keys.
pub const KEYLESS: AccountId = 9;
/// A funded account that is neither validator nor council.
pub const OUTSIDER: AccountId = 30;
/// What funded accounts start with.
pub const ENDOWMENT: Balance = 1_000;

/// Genesis: [`GENESIS`] validating, [`CANDIDATES`] with keys, everyone funded, block 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default()
		.build_storage()
		.unwrap();
	let funded = GENESIS
		.iter()
		.chain(CANDIDATES.iter())
		.chain([KEYLESS, OUTSIDER, COUNCIL].iter());
	pallet_balances::GenesisConfig::<Test> {
		balances: funded.map(|who| (*who, ENDOWMENT)).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	// In declaration order: this pallet before the session, which reads the set.
	pallet_validators::GenesisConfig::<Test> {
		validators: GENESIS.to_vec(),
		session_length: SESSION_LENGTH,
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let keys = |who: &AccountId| (*who, *who, UintAuthorityId(*who));
	pallet_session::GenesisConfig::<Test> {
		keys: GENESIS.iter().map(keys).collect(),
		non_authority_keys: CANDIDATES.iter().map(keys).collect(),
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}
