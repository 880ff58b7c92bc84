//! Block production (BABE), finality (GRANDPA), sessions, and the validator set the council
//! chooses (`pallet-validators`, the session manager).
//!
//! * **Sessions are BABE epochs.** `pallet-session` ends a session when BABE starts an epoch
//!   (`ShouldEndSession = Babe`). BABE's epoch length cannot change once a chain runs, so it is not
//!   a runtime constant: each genesis preset writes its own into `pallet-validators`'
//!   `SessionLength` (no call changes it), and BABE reads it ([`EpochDuration`]). The development
//!   and local chains use [`DEV_SESSION_LENGTH`] slots (36 s), a live network [`LIVE_SESSION_LENGTH`]
//!   (one hour); one runtime build serves them all.
//! * **Every slot can have a block with VRF randomness**: the genesis epoch configuration
//!   ([`BABE_GENESIS_EPOCH_CONFIG`]) allows primary and *secondary VRF* slots, so a single
//!   authority fills every slot and every block carries a VRF output
//!   (`pallet_babe::ParentBlockRandomness`, exposed to the job market as
//!   [`crate::configs::jobs::VrfRandomness`]).
//! * **Validators**: the council adds and removes them (two thirds,
//!   [`crate::configs::governance`]); a change made in session `n` takes effect in session `n + 2`.
//!   They earn nothing yet: fees go to the treasury.
//! * **Equivocation**: BABE and GRANDPA reports carry key-owner proofs against the session history
//!   (`pallet_session::historical`, kept for [`HistoryDepth`] sessions). A proven offender is
//!   disabled for the rest of the session and removed from the set from session `n + 2`
//!   (`pallet-validators`' offence handler). Nothing is slashed: validators bond nothing yet.

use frame_support::{
	parameter_types,
	traits::{ConstU32, ConstU64, Get},
};
use sp_consensus_babe::{AllowedSlots, BabeEpochConfiguration};
use sp_runtime::traits::{Convert, OpaqueKeys};
use verity_primitives::{
	time::{MILLI_SECS_PER_BLOCK, SLOT_DURATION},
	token::UNIT,
	AccountId, Balance,
};

use crate::{Babe, Balances, Historical, Runtime, RuntimeEvent, Session, SessionKeys, Validators};

parameter_types! {
	/// Upper bound of the authority set, for bounded storage in BABE, GRANDPA and the validator set.
	pub const MaxAuthorities: u32 = 32;
	/// The smallest validator set the council may leave.
	pub const MinValidators: u32 = 1;
	/// Sessions of history kept for equivocation proofs (one day on a live network).
	pub const HistoryDepth: u32 = 24;
	/// What `session.set_keys` holds from the caller until `session.purge_keys`: the storage that
	/// registered keys take is paid for, so registering keys from many accounts costs money.
	pub const KeyDeposit: Balance = 10 * UNIT;
}

/// The slots of a session (a BABE epoch) on the development and local chains: 36 seconds, so the
/// tests see a validator set change within two minutes.
pub const DEV_SESSION_LENGTH: u64 = 6;

/// The slots of a session on a live network: one hour.
pub const LIVE_SESSION_LENGTH: u64 = 600;

/// BABE's configuration at genesis: a quarter of the slots have a primary author on average, and
/// every other slot gets a secondary author with a VRF output, so every block has VRF randomness
/// and a single authority authors a block in every slot.
pub const BABE_GENESIS_EPOCH_CONFIG: BabeEpochConfiguration = BabeEpochConfiguration {
	c: (1, 4),
	allowed_slots: AllowedSlots::PrimaryAndSecondaryVRFSlots,
};

/// BABE's epoch length: the genesis preset's session length.
pub type EpochDuration = pallet_validators::SessionLengthOf<Runtime>;

/// How long (in blocks) an equivocation report stays valid: as long as the session history that
/// proves it.
pub struct ReportLongevity;

impl Get<u64> for ReportLongevity {
	fn get() -> u64 {
		u64::from(HistoryDepth::get()).saturating_mul(EpochDuration::get())
	}
}

/// Validators bond nothing, so a validator's full identification in the session history is empty.
pub struct NoIdentification;

impl Convert<AccountId, Option<()>> for NoIdentification {
	fn convert(_: AccountId) -> Option<()> {
		Some(())
	}
}

impl pallet_timestamp::Config for Runtime {
	/// Milliseconds since the Unix epoch.
	type Moment = u64;
	type OnTimestampSet = Babe;
	/// BABE derives its slot length from this: two minimum periods make one slot.
	type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
	type WeightInfo = ();
}

impl pallet_babe::Config for Runtime {
	type EpochDuration = EpochDuration;
	type ExpectedBlockTime = ConstU64<MILLI_SECS_PER_BLOCK>;
	// Epochs change when sessions do.
	type EpochChangeTrigger = pallet_babe::ExternalTrigger;
	// A validator disabled for an offence cannot author for the rest of the session.
	type DisabledValidators = Session;
	type WeightInfo = ();
	type MaxAuthorities = MaxAuthorities;
	// Validators are chosen by governance, not by nomination.
	type MaxNominators = ConstU32<0>;
	type KeyOwnerProof = sp_session::MembershipProof;
	type EquivocationReportSystem =
		pallet_babe::EquivocationReportSystem<Self, Validators, Historical, ReportLongevity>;
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = MaxAuthorities;
	type MaxNominators = ConstU32<0>;
	// GRANDPA's set changes once a session at most, so the history depth bounds the set ids kept.
	type MaxSetIdSessionEntries = ConstU64<{ HistoryDepth::get() as u64 }>;
	type KeyOwnerProof = sp_session::MembershipProof;
	type EquivocationReportSystem =
		pallet_grandpa::EquivocationReportSystem<Self, Validators, Historical, ReportLongevity>;
}

impl pallet_authorship::Config for Runtime {
	/// The author of a block, from BABE's pre-digest and the session's validators: the reporter of
	/// an equivocation included by its block.
	type FindAuthor = pallet_session::FindAccountFromAuthorIndex<Self, Babe>;
	type EventHandler = ();
}

impl pallet_session::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type ValidatorId = AccountId;
	// Any account may register keys; only the council makes it a validator.
	type ValidatorIdOf = sp_runtime::traits::ConvertInto;
	type ShouldEndSession = Babe;
	type NextSessionRotation = Babe;
	type SessionManager = pallet_session::historical::NoteHistoricalRoot<Self, Validators>;
	type SessionHandler = <SessionKeys as OpaqueKeys>::KeyTypeIdProviders;
	type Keys = SessionKeys;
	// At most a third of the set is disabled at once, so an offence report cannot halt the chain.
	type DisablingStrategy = pallet_session::disabling::UpToLimitDisablingStrategy;
	type WeightInfo = ();
	type Currency = Balances;
	type KeyDeposit = KeyDeposit;
}

impl pallet_session::historical::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type FullIdentification = ();
	type FullIdentificationOf = NoIdentification;
}

impl pallet_validators::Config for Runtime {
	// Two thirds of the council (or root, which on a live network is the council too).
	type ValidatorOrigin = frame_support::traits::EitherOfDiverse<
		frame_system::EnsureRoot<AccountId>,
		crate::configs::governance::EnsureTwoThirdsCouncil,
	>;
	type MinValidators = MinValidators;
	type MaxValidators = MaxAuthorities;
	type HistoryDepth = HistoryDepth;
	type WeightInfo = pallet_validators::weights::SubstrateWeight<Runtime>;
}

#[cfg(test)]
#[path = "consensus_tests.rs"]
mod tests;
