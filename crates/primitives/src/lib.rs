//! Types shared by every Verity crate.
//!
//! `verity-primitives` is `no_std`: the runtime, the pallets, the node and the command line all
//! use the same definitions of accounts, balances, block numbers and the native token, so that a
//! value means the same thing on every side of the wire.
//!
//! The job modules define the data an inference job carries and how it is verified:
//! - [`job`]: the canonical job input and output (SCALE, bounded) and their hashes;
//! - [`policy`]: the verification policy of a model and the one [`policy::check`] both sides use;
//! - [`receipt`]: the receipt a worker signs over (chain, job, model, input, output);
//! - [`model`]: the model hash rule and the engine profile a model is registered with;
//! - [`registry`]: model ids, golden vectors and the [`registry::ModelRegistry`] trait;
//! - [`workers`]: the [`workers::WorkerSelection`] and [`workers::Slashing`] traits of the staked
//!   compute providers.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

extern crate alloc;

pub mod job;
pub mod model;
pub mod policy;
pub mod receipt;
pub mod registry;
pub mod workers;

pub use registry::{ModelId, ModelRegistry};
pub use workers::{Slashing, WorkerSelection};

use sp_runtime::{
	traits::{BlakeTwo256, IdentifyAccount, Verify},
	MultiSignature,
};

/// Block number: a `u32` lasts 800 years at a 6 s block time.
pub type BlockNumber = u32;

/// A transaction signature (sr25519, ed25519 or ecdsa).
pub type Signature = MultiSignature;

/// An account on chain: the public key of its signer.
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;

/// An amount of the native token, in its smallest unit (see [`token::DECIMALS`]).
pub type Balance = u128;

/// A transaction counter of an account.
pub type Nonce = u32;

/// The hash of a block, a transaction or a piece of job data.
pub type Hash = sp_core::H256;

/// The hashing algorithm of the chain.
pub type Hashing = BlakeTwo256;

/// BLAKE2-256 of `bytes`: the hash of every piece of job data and every model file.
pub fn blake2_256(bytes: &[u8]) -> Hash {
	<Hashing as sp_runtime::traits::Hash>::hash(bytes)
}

/// Block time and the durations derived from it.
pub mod time {
	use super::BlockNumber;

	/// Target time between two blocks, in milliseconds.
	pub const MILLI_SECS_PER_BLOCK: u64 = 6_000;
	/// BABE's slot length (at most one block per slot).
	pub const SLOT_DURATION: u64 = MILLI_SECS_PER_BLOCK;
	/// One minute, in blocks.
	pub const MINUTES: BlockNumber = 60_000 / (MILLI_SECS_PER_BLOCK as BlockNumber);
	/// One hour, in blocks.
	pub const HOURS: BlockNumber = MINUTES * 60;
	/// One day, in blocks.
	pub const DAYS: BlockNumber = HOURS * 24;
}

/// The key types of a worker's keys in a node's keystore, which its off-chain worker signs with.
///
/// A worker node holds two keys: the worker's account (sr25519, signs the transactions that answer
/// jobs and cast jury votes) and its receipt key (ed25519, registered with the worker, signs every
/// result receipt). Insert them with `verity-node key insert --key-type vwrk --scheme sr25519`
/// and `--key-type vrcp --scheme ed25519`.
pub mod keys {
	use sp_core::crypto::KeyTypeId;

	/// The worker account's key (sr25519).
	pub const WORKER_KEY_TYPE: KeyTypeId = KeyTypeId(*b"vwrk");
	/// The worker's receipt key (ed25519).
	pub const RECEIPT_KEY_TYPE: KeyTypeId = KeyTypeId(*b"vrcp");
}

/// The native token: VRT, with 12 decimals.
pub mod token {
	use super::Balance;

	/// Ticker shown by wallets.
	pub const SYMBOL: &str = "VRT";
	/// Decimal places: one VRT is `10^DECIMALS` of the smallest unit.
	pub const DECIMALS: u8 = 12;
	/// One VRT.
	pub const UNIT: Balance = 1_000_000_000_000;
	/// A thousandth of a VRT.
	pub const MILLI_UNIT: Balance = UNIT / 1_000;
	/// A millionth of a VRT.
	pub const MICRO_UNIT: Balance = UNIT / 1_000_000;
	/// The smallest balance an account may hold; below it the account is reaped.
	pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_UNIT;
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn block_time_units_are_consistent() {
		assert_eq!(time::MINUTES, 10);
		assert_eq!(time::DAYS, 14_400);
	}

	#[test]
	fn token_units_scale_by_decimals() {
		assert_eq!(token::UNIT, 10u128.pow(token::DECIMALS as u32));
		assert_eq!(token::MICRO_UNIT * 1_000_000, token::UNIT);
		const { assert!(token::EXISTENTIAL_DEPOSIT > 0) };
	}
}
