//! The native token (`pallet-balances`) and transaction fees (`pallet-transaction-payment`).
//!
//! Every transaction fee, tip included, is paid into the treasury: fees belong to the protocol,
//! not to whoever authored the block.

use frame_support::{
	parameter_types,
	traits::{tokens::imbalance::ResolveTo, ConstU128, ConstU32, ConstU8, VariantCountOf},
	weights::{ConstantMultiplier, IdentityFee},
};
use pallet_transaction_payment::{ConstFeeMultiplier, FungibleAdapter, Multiplier};
use sp_runtime::traits::One;
use verity_primitives::token::{EXISTENTIAL_DEPOSIT, MICRO_UNIT};

use crate::{
	configs::governance::TreasuryAccount, Balance, Balances, Runtime, RuntimeEvent,
	RuntimeFreezeReason, RuntimeHoldReason,
};

impl pallet_balances::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
	type Balance = Balance;
	/// Dust left when an account is reaped goes to the treasury too.
	type DustRemoval = ResolveTo<TreasuryAccount, Balances>;
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = frame_system::Pallet<Runtime>;
	type ReserveIdentifier = [u8; 8];
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxLocks = ConstU32<50>;
	type MaxReserves = ConstU32<50>;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
	type DoneSlashHandler = ();
}

parameter_types! {
	/// Fees do not float with block fullness (yet): a fixed multiplier of one.
	pub FeeMultiplier: Multiplier = Multiplier::one();
}

/// Where fees go: the treasury account.
pub type DealWithFees = ResolveTo<TreasuryAccount, Balances>;

impl pallet_transaction_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type OnChargeTransaction = FungibleAdapter<Balances, DealWithFees>;
	/// Operational transactions (e.g. council emergencies) pay five times the priority.
	type OperationalFeeMultiplier = ConstU8<5>;
	/// One unit of balance per picosecond of weight: a transfer costs about 0.2 milli-VRT.
	type WeightToFee = IdentityFee<Balance>;
	/// One micro-VRT per byte of transaction.
	type LengthToFee = ConstantMultiplier<Balance, ConstU128<MICRO_UNIT>>;
	type FeeMultiplierUpdate = ConstFeeMultiplier<FeeMultiplier>;
	type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}
