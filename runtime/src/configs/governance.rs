//! Who decides: a council (`pallet-collective` + `pallet-membership`) and the treasury it spends.
//!
//! * The council votes on motions; most decisions need two thirds of its members
//!   ([`EnsureTwoThirdsCouncil`]). Later pallets (the model registry among them) take this origin.
//! * Membership changes need root (sudo on development chains) or a council majority.
//! * The treasury is a pallet-owned account ([`TreasuryAccount`]). Transaction fees, dust and, with
//!   the job market, protocol fees and slashes flow into it; only a council motion spends from it.
//! * `Sudo` exists for development chains; a production chain spec leaves its key empty.

use frame_support::{
	parameter_types,
	traits::{
		tokens::{pay::PayFromAccount, UnityAssetBalanceConversion},
		EitherOfDiverse,
	},
	weights::Weight,
	PalletId,
};
use frame_system::{EnsureRoot, EnsureWithSuccess};
use sp_runtime::{
	traits::{AccountIdConversion, IdentityLookup},
	Perbill, Permill,
};
use verity_primitives::{
	time::{DAYS, HOURS},
	token::UNIT,
};

use crate::{
	configs::system::RuntimeBlockWeights, AccountId, Balance, Balances, BlockNumber, Council,
	Runtime, RuntimeCall, RuntimeEvent, RuntimeOrigin, System,
};

/// The council's instance of `pallet-collective` (and of `pallet-membership`).
pub type CouncilCollective = pallet_collective::Instance1;

/// At least two thirds of the council, through a motion.
pub type EnsureTwoThirdsCouncil =
	pallet_collective::EnsureProportionAtLeast<AccountId, CouncilCollective, 2, 3>;

/// More than half of the council, through a motion.
pub type EnsureCouncilMajority =
	pallet_collective::EnsureProportionMoreThan<AccountId, CouncilCollective, 1, 2>;

/// Root (sudo, on development chains) or a council majority.
pub type EnsureRootOrCouncilMajority =
	EitherOfDiverse<EnsureRoot<AccountId>, EnsureCouncilMajority>;

parameter_types! {
	/// How long a council motion stays open for votes.
	pub const CouncilMotionDuration: BlockNumber = DAYS;
	/// Open motions at any one time.
	pub const CouncilMaxProposals: u32 = 100;
	/// Seats on the council.
	pub const CouncilMaxMembers: u32 = 32;
	/// A motion may dispatch a call of at most half a block.
	pub MaxCouncilProposalWeight: Weight = Perbill::from_percent(50) * RuntimeBlockWeights::get().max_block;
}

impl pallet_collective::Config<CouncilCollective> for Runtime {
	type RuntimeOrigin = RuntimeOrigin;
	type Proposal = RuntimeCall;
	type RuntimeEvent = RuntimeEvent;
	type MotionDuration = CouncilMotionDuration;
	type MaxProposals = CouncilMaxProposals;
	type MaxMembers = CouncilMaxMembers;
	/// Members who do not vote follow the prime member, if there is one.
	type DefaultVote = pallet_collective::PrimeDefaultVote;
	type WeightInfo = pallet_collective::weights::SubstrateWeight<Runtime>;
	/// Members are managed by `CouncilMembership`; direct resets need root.
	type SetMembersOrigin = EnsureRoot<AccountId>;
	type MaxProposalWeight = MaxCouncilProposalWeight;
	type DisapproveOrigin = EnsureRoot<AccountId>;
	type KillOrigin = EnsureRoot<AccountId>;
	/// Proposing a motion costs only the transaction fee.
	type Consideration = ();
}

impl pallet_membership::Config<pallet_membership::Instance1> for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type AddOrigin = EnsureRootOrCouncilMajority;
	type RemoveOrigin = EnsureRootOrCouncilMajority;
	type SwapOrigin = EnsureRootOrCouncilMajority;
	type ResetOrigin = EnsureRootOrCouncilMajority;
	type PrimeOrigin = EnsureRootOrCouncilMajority;
	type MembershipInitialized = Council;
	type MembershipChanged = Council;
	type MaxMembers = CouncilMaxMembers;
	type WeightInfo = pallet_membership::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	/// Derives the treasury's account.
	pub const TreasuryPalletId: PalletId = PalletId(*b"py/trsry");
	/// The account protocol fees and slashes are paid into.
	pub TreasuryAccount: AccountId = TreasuryPalletId::get().into_account_truncating();
	/// Approved spends are paid out once per period.
	pub const SpendPeriod: BlockNumber = 6 * HOURS;
	/// Nothing is burned at the end of a spend period.
	pub const TreasuryBurn: Permill = Permill::zero();
	/// Approved spends waiting for payout.
	pub const MaxApprovals: u32 = 100;
	/// The most one council motion may spend.
	pub const MaxCouncilSpend: Balance = 1_000_000 * UNIT;
	/// How long a beneficiary has to claim an approved spend.
	pub const PayoutPeriod: BlockNumber = 30 * DAYS;
}

impl pallet_treasury::Config for Runtime {
	type Currency = Balances;
	type RejectOrigin = EnsureRootOrCouncilMajority;
	type RuntimeEvent = RuntimeEvent;
	type SpendPeriod = SpendPeriod;
	type Burn = TreasuryBurn;
	type PalletId = TreasuryPalletId;
	type BurnDestination = ();
	type WeightInfo = pallet_treasury::weights::SubstrateWeight<Runtime>;
	type SpendFunds = ();
	type MaxApprovals = MaxApprovals;
	/// Spending is a council decision: two thirds, up to [`MaxCouncilSpend`] per motion.
	type SpendOrigin = EnsureWithSuccess<EnsureTwoThirdsCouncil, AccountId, MaxCouncilSpend>;
	type AssetKind = ();
	type Beneficiary = AccountId;
	type BeneficiaryLookup = IdentityLookup<AccountId>;
	type Paymaster = PayFromAccount<Balances, TreasuryAccount>;
	type BalanceConverter = UnityAssetBalanceConversion;
	type PayoutPeriod = PayoutPeriod;
	type BlockNumberProvider = System;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = TreasuryBenchmarkHelper;
}

/// Spends of the native token to plain accounts, for the treasury's benchmarks.
#[cfg(feature = "runtime-benchmarks")]
pub struct TreasuryBenchmarkHelper;

#[cfg(feature = "runtime-benchmarks")]
impl pallet_treasury::ArgumentsFactory<(), AccountId> for TreasuryBenchmarkHelper {
	fn create_asset_kind(_seed: u32) {}

	fn create_beneficiary(seed: [u8; 32]) -> AccountId {
		AccountId::from(seed)
	}
}

impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}
