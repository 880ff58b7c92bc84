//! Genesis presets: the starting state of the `development` and `local_testnet` chains.
//!
//! The node's chain specs name a preset; `verity-node build-spec --chain dev` prints the result.

use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use pallet_grandpa::AuthorityId as GrandpaId;
use serde_json::Value;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_genesis_builder::{self, PresetId};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};
use verity_primitives::token::UNIT;

use crate::{
	AccountId, Balance, BalancesConfig, CouncilMembershipConfig, RuntimeGenesisConfig, SudoConfig,
};

/// What every well-known development account starts with: one million VRT.
pub const DEV_ENDOWMENT: Balance = 1_000_000 * UNIT;

/// A validator's consensus keys.
struct Authority {
	aura: AuraId,
	grandpa: GrandpaId,
}

impl Authority {
	fn from_keyring(sr: Sr25519Keyring, ed: Ed25519Keyring) -> Self {
		Self {
			aura: sr.public().into(),
			grandpa: ed.public().into(),
		}
	}
}

/// The genesis state shared by the development presets: authorities, endowed accounts, a sudo
/// key and a council.
fn testnet_genesis(
	authorities: Vec<Authority>,
	endowed: Vec<AccountId>,
	sudo: AccountId,
	council: Vec<AccountId>,
) -> Value {
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: endowed
				.into_iter()
				.map(|account| (account, DEV_ENDOWMENT))
				.collect::<Vec<_>>(),
		},
		aura: pallet_aura::GenesisConfig {
			authorities: authorities
				.iter()
				.map(|a| a.aura.clone())
				.collect::<Vec<_>>(),
		},
		grandpa: pallet_grandpa::GenesisConfig {
			authorities: authorities
				.iter()
				.map(|a| (a.grandpa.clone(), 1))
				.collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(sudo) },
		council_membership: CouncilMembershipConfig {
			members: council
				.try_into()
				.expect("the development council fits CouncilMaxMembers"),
		},
	})
}

/// Every well-known development account (Alice … Ferdie and their `//stash` accounts).
fn dev_accounts() -> Vec<AccountId> {
	Sr25519Keyring::well_known()
		.map(|k| k.to_account_id())
		.collect()
}

/// The development council: Alice, Bob and Charlie.
fn dev_council() -> Vec<AccountId> {
	[
		Sr25519Keyring::Alice,
		Sr25519Keyring::Bob,
		Sr25519Keyring::Charlie,
	]
	.into_iter()
	.map(|k| k.to_account_id())
	.collect()
}

/// `development`: Alice alone produces and finalizes blocks.
pub fn development_config_genesis() -> Value {
	testnet_genesis(
		vec![Authority::from_keyring(
			Sr25519Keyring::Alice,
			Ed25519Keyring::Alice,
		)],
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
		dev_council(),
	)
}

/// `local_testnet`: four authorities (Alice, Bob, Charlie, Dave), so GRANDPA survives one failure.
pub fn local_testnet_genesis() -> Value {
	testnet_genesis(
		vec![
			Authority::from_keyring(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
			Authority::from_keyring(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
			Authority::from_keyring(Sr25519Keyring::Charlie, Ed25519Keyring::Charlie),
			Authority::from_keyring(Sr25519Keyring::Dave, Ed25519Keyring::Dave),
		],
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
		dev_council(),
	)
}

/// The preset called `id`, as JSON bytes; `None` for an unknown name.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		sp_genesis_builder::DEV_RUNTIME_PRESET => development_config_genesis(),
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => local_testnet_genesis(),
		_ => return None,
	};
	Some(
		serde_json::to_string(&patch)
			.expect("serialization to json is expected to work. qed.")
			.into_bytes(),
	)
}

/// The names of the presets this runtime offers.
pub fn preset_names() -> Vec<PresetId> {
	vec![
		PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
		PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
	]
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn presets_are_named_and_unknown_names_are_refused() {
		assert_eq!(preset_names().len(), 2);
		for name in preset_names() {
			assert!(get_preset(&name).is_some(), "preset {name:?} must build");
		}
		assert!(get_preset(&PresetId::from("mainnet")).is_none());
	}

	#[test]
	fn local_testnet_has_four_authorities_and_dev_has_one() {
		let local = local_testnet_genesis();
		assert_eq!(
			local["aura"]["authorities"].as_array().map(Vec::len),
			Some(4)
		);
		assert_eq!(
			local["grandpa"]["authorities"].as_array().map(Vec::len),
			Some(4)
		);
		let dev = development_config_genesis();
		assert_eq!(dev["aura"]["authorities"].as_array().map(Vec::len), Some(1));
		assert_eq!(
			dev["councilMembership"]["members"].as_array().map(Vec::len),
			Some(3)
		);
	}
}
