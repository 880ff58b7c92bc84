//! The model registry (`pallet-models`): proposals hold a deposit; the council, by two thirds
//! (or root on development chains), approves, rejects and retires models.

use frame_support::{parameter_types, traits::tokens::imbalance::ResolveTo};
use frame_system::EnsureRoot;
use sp_runtime::Perbill;
use verity_primitives::token::UNIT;

use crate::{
	configs::governance::{EnsureTwoThirdsCouncil, TreasuryAccount},
	AccountId, Balance, Balances, Runtime, RuntimeHoldReason,
};

parameter_types! {
	/// Held from a model's proposer until the council decides.
	pub const ModelProposalDeposit: Balance = 100 * UNIT;
	/// Share of the deposit a rejected proposer loses to the treasury.
	pub const ModelRejectionSlash: Perbill = Perbill::from_percent(50);
}

impl pallet_models::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	/// Two thirds of the council through a motion; root (sudo) as well, which only development
	/// chains have.
	type GovernanceOrigin =
		frame_support::traits::EitherOfDiverse<EnsureRoot<AccountId>, EnsureTwoThirdsCouncil>;
	type ProposalDeposit = ModelProposalDeposit;
	type RejectionSlash = ModelRejectionSlash;
	type Slashed = ResolveTo<TreasuryAccount, Balances>;
	type WeightInfo = crate::weights::pallet_models::WeightInfo<Runtime>;
}
