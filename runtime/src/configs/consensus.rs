//! Block production (Aura) and finality (GRANDPA), with authorities fixed at genesis.
//!
//! A council-managed validator set replaces the genesis authorities by putting `pallet-session`
//! in front of both pallets; nothing else in the runtime depends on how authorities are chosen.

use frame_support::{
	parameter_types,
	traits::{ConstBool, ConstU32, ConstU64},
};
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use verity_primitives::time::SLOT_DURATION;

use crate::{Aura, Runtime, RuntimeEvent};

parameter_types! {
	/// Upper bound of the authority set, for bounded storage in both pallets.
	pub const MaxAuthorities: u32 = 32;
}

impl pallet_timestamp::Config for Runtime {
	/// Milliseconds since the Unix epoch.
	type Moment = u64;
	type OnTimestampSet = Aura;
	/// Aura derives its slot length from this: two minimum periods make one slot.
	type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
	type WeightInfo = ();
}

impl pallet_aura::Config for Runtime {
	type AuthorityId = AuraId;
	type DisabledValidators = ();
	type MaxAuthorities = MaxAuthorities;
	type AllowMultipleBlocksPerSlot = ConstBool<false>;
	type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Runtime>;
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = MaxAuthorities;
	// Validators are chosen by governance, not by nomination.
	type MaxNominators = ConstU32<0>;
	// Equivocation reports need session history, which comes with the validator-set pallet.
	type MaxSetIdSessionEntries = ConstU64<0>;
	type KeyOwnerProof = sp_core::Void;
	type EquivocationReportSystem = ();
}
