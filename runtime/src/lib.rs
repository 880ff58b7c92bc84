//! # Verity runtime
//!
//! The state transition function of the Verity chain, compiled both natively and to WebAssembly
//! (the on-chain code every node executes).
//!
//! | pallet | index | what it does here |
//! |---|---|---|
//! | `System` | 0 | accounts, blocks, events |
//! | `Timestamp` | 1 | block time, fed by an inherent |
//! | `Babe` | 2 | block production (BABE slots with VRF), the randomness of every block |
//! | `Grandpa` | 3 | finality |
//! | `Balances` | 4 | the native token, VRT; holds for bonds and escrow |
//! | `TransactionPayment` | 5 | transaction fees, paid into the treasury |
//! | `Sudo` | 6 | a superuser for development chains only (the `live` preset sets no key) |
//! | `Council` | 7 | the council's motions and votes (`pallet-collective`) |
//! | `CouncilMembership` | 8 | who sits on the council (`pallet-membership`) |
//! | `Treasury` | 9 | the pot that fees and slashes flow into; council spends from it |
//! | `Models` | 10 | the model registry: proposals, council approval, versions, retirement |
//! | `Workers` | 11 | compute providers: bonds, capacity, stake-weighted draws, slashing |
//! | `Jobs` | 12 | the inference-job market: fees, assignment, results, challenges, juries |
//! | `Preimage` | 13 | call preimages, for the council's path to root |
//! | `Whitelist` | 14 | the council's path to root without sudo (see `configs::root`) |
//! | `Authorship` | 15 | the author of each block (the reporter of an equivocation) |
//! | `Validators` | 16 | the validator set the council chooses; offences (`pallet-validators`) |
//! | `Session` | 17 | sessions (= BABE epochs) and validators' session keys |
//! | `Historical` | 18 | past sessions' validator sets, for equivocation proofs |
//!
//! The consensus wiring (`configs::consensus`) is kept apart from the rest: BABE and GRANDPA take
//! their authorities from `Session`, whose validator set `Validators` manages by council motion.
//! Declaration order matters there: `Babe` before `Session` (its epoch change drives the session's),
//! and `Validators` before `Session` (the session's genesis asks it for the first set). The
//! runtime never depends on the inference engine: models run off chain.
#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime` and `impl_runtime_apis` expand to large recursive types.
#![recursion_limit = "256"]

// The WebAssembly blob built by `build.rs`, for the node to embed.
#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

/// The same runtime one `spec_version` later, as WebAssembly (`WASM_BINARY`, compressed; `None`
/// under `SKIP_WASM_BUILD`): the blob the end-to-end test of a runtime upgrade through the council
/// enacts (`node/tests/e2e_upgrade.rs`). Not for production: a real upgrade is built from its
/// release's own source.
#[cfg(feature = "std")]
pub mod upgrade_test {
	include!(concat!(env!("OUT_DIR"), "/verity_runtime_next"));
}

extern crate alloc;

pub mod apis;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarks;
pub mod configs;
pub mod genesis_config_presets;
#[cfg(test)]
mod testing;
pub mod weights;

use alloc::{borrow::Cow, vec::Vec};
use sp_runtime::{generic, impl_opaque_keys};
use sp_version::RuntimeVersion;

pub use verity_primitives::{token, AccountId, Balance, BlockNumber, Hash, Nonce, Signature};

/// Types the node needs without knowing the runtime's extrinsic format.
pub mod opaque {
	use super::*;
	pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

	/// A block header.
	pub type Header = generic::Header<BlockNumber, sp_runtime::traits::BlakeTwo256>;
	/// A block whose extrinsics are opaque bytes.
	pub type Block = generic::Block<Header, UncheckedExtrinsic>;
	/// A block id.
	pub type BlockId = generic::BlockId<Block>;

	impl_opaque_keys! {
		/// The keys a validator registers (`session.set_keys`): BABE for block production
		/// (sr25519, key type `babe`), GRANDPA for finality (ed25519, key type `gran`).
		pub struct SessionKeys {
			pub babe: super::Babe,
			pub grandpa: super::Grandpa,
		}
	}
}

pub use opaque::SessionKeys;

/// Declares [`VERSION`] with the given `spec_version` (the runtime-version attribute needs a
/// literal).
macro_rules! runtime_version {
	($spec_version:tt) => {
		/// Identifies this runtime to nodes and clients. Bump `spec_version` on every change of
		/// logic, `transaction_version` on every change of call indices or transaction format.
		#[sp_version::runtime_version]
		pub const VERSION: RuntimeVersion = RuntimeVersion {
			spec_name: Cow::Borrowed("verity"),
			impl_name: Cow::Borrowed("verity-node"),
			authoring_version: 1,
			spec_version: $spec_version,
			impl_version: 1,
			apis: apis::RUNTIME_API_VERSIONS,
			// 2: `jobs.set_params` takes `JobParams` with `draw_delay`.
			transaction_version: 2,
			system_version: 1,
		};
	};
}

#[cfg(not(feature = "spec-next"))]
runtime_version!(111);
// The same runtime one `spec_version` later, built by `build.rs` only for the end-to-end test of a
// runtime upgrade through the council ([`upgrade_test`]). Keep it one above the line before.
#[cfg(feature = "spec-next")]
runtime_version!(112);

/// A block header.
pub type Header = generic::Header<BlockNumber, sp_runtime::traits::BlakeTwo256>;
/// A block.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;
/// How a transaction names its sender: an account id or an index.
pub type Address = sp_runtime::MultiAddress<AccountId, ()>;

/// The checks every signed transaction goes through, in order. Wallets (Polkadot-JS, subxt) read
/// this list from the metadata.
pub type TxExtension = (
	frame_system::AuthorizeCall<Runtime>,
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
	frame_system::WeightReclaim<Runtime>,
);

/// A transaction as it sits in a block.
pub type UncheckedExtrinsic =
	generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;

/// The payload a transaction's signer signs.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// Storage migrations run on the next runtime upgrade (none yet).
type Migrations = ();

/// Dispatches blocks and transactions to the pallets.
pub type Executive = frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
	Migrations,
>;

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
	pub struct Runtime;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;

	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;

	#[runtime::pallet_index(2)]
	pub type Babe = pallet_babe;

	#[runtime::pallet_index(3)]
	pub type Grandpa = pallet_grandpa;

	#[runtime::pallet_index(4)]
	pub type Balances = pallet_balances;

	#[runtime::pallet_index(5)]
	pub type TransactionPayment = pallet_transaction_payment;

	#[runtime::pallet_index(6)]
	pub type Sudo = pallet_sudo;

	#[runtime::pallet_index(7)]
	pub type Council = pallet_collective<Instance1>;

	#[runtime::pallet_index(8)]
	pub type CouncilMembership = pallet_membership<Instance1>;

	#[runtime::pallet_index(9)]
	pub type Treasury = pallet_treasury;

	#[runtime::pallet_index(10)]
	pub type Models = pallet_models;

	#[runtime::pallet_index(11)]
	pub type Workers = pallet_workers;

	#[runtime::pallet_index(12)]
	pub type Jobs = pallet_jobs;

	#[runtime::pallet_index(13)]
	pub type Preimage = pallet_preimage;

	#[runtime::pallet_index(14)]
	pub type Whitelist = pallet_whitelist;

	#[runtime::pallet_index(15)]
	pub type Authorship = pallet_authorship;

	// Before `Session`: the session's genesis build asks it for the first validator set.
	#[runtime::pallet_index(16)]
	pub type Validators = pallet_validators;

	#[runtime::pallet_index(17)]
	pub type Session = pallet_session;

	#[runtime::pallet_index(18)]
	pub type Historical = pallet_session::historical;
}
