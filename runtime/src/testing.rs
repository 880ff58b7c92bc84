//! Helpers for the runtime's own tests: genesis state from a preset, as the node builds it.

use codec::Encode;
use frame_support::{assert_ok, dispatch::GetDispatchInfo};
use serde_json::Value;
use sp_keyring::Sr25519Keyring;
use sp_runtime::{
	traits::{BlakeTwo256, Hash as _},
	BuildStorage,
};

use crate::{Council, Runtime, RuntimeCall, RuntimeGenesisConfig, RuntimeOrigin};

/// Merges `patch` into `base`, objects key by key (what the node does with a preset).
pub fn merge(base: &mut Value, patch: Value) {
	match (base, patch) {
		(Value::Object(base), Value::Object(patch)) => {
			for (key, value) in patch {
				merge(base.entry(key).or_insert(Value::Null), value);
			}
		}
		(base, patch) => *base = patch,
	}
}

/// The genesis state of the runtime's defaults with `patches` merged in order, before block 1.
pub fn genesis(patches: impl IntoIterator<Item = Value>) -> sp_io::TestExternalities {
	let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).unwrap();
	for patch in patches {
		merge(&mut config, patch);
	}
	let config: RuntimeGenesisConfig = serde_json::from_value(config).unwrap();
	config.build_storage().unwrap().into()
}

/// What a chain spec adds to make the well-known `validators` (e.g. Alice) the genesis validators:
/// their session keys (BABE sr25519 and GRANDPA ed25519 from the keyrings) and the set.
pub fn validators_patch(validators: &[Sr25519Keyring]) -> Value {
	let keys: alloc::vec::Vec<_> = validators
		.iter()
		.map(|sr| {
			let ed = sr25519_to_ed25519(*sr).expect("a well-known keyring account");
			let account = sr.to_account_id();
			let keys = crate::SessionKeys {
				babe: sr.public().into(),
				grandpa: ed.public().into(),
			};
			(account.clone(), account, keys)
		})
		.collect();
	let accounts: alloc::vec::Vec<_> = keys.iter().map(|(a, _, _)| a.clone()).collect();
	serde_json::json!({
		"session": { "keys": keys },
		"validators": { "validators": accounts },
	})
}

/// The ed25519 keyring entry of the same name as `sr` (Alice → Alice).
fn sr25519_to_ed25519(sr: Sr25519Keyring) -> Option<sp_keyring::Ed25519Keyring> {
	sp_keyring::Ed25519Keyring::iter().find(|ed| format!("{ed:?}") == format!("{sr:?}"))
}

/// Passes `call` through a council motion that `ayes` of the three members vote for (one
/// member's motion runs at once, as that member alone).
pub fn motion(call: RuntimeCall, ayes: &[Sr25519Keyring]) {
	let proposer = RuntimeOrigin::signed(ayes[0].to_account_id());
	let length = call.encoded_size() as u32;
	let weight = call.get_dispatch_info().call_weight;
	let hash = BlakeTwo256::hash_of(&call);
	let index = pallet_collective::ProposalCount::<
		Runtime,
		crate::configs::governance::CouncilCollective,
	>::get();
	assert_ok!(Council::propose(
		proposer.clone(),
		ayes.len() as u32,
		Box::new(call),
		length
	));
	// The proposer votes like every other member (proposing is not a vote).
	for member in ayes.iter().filter(|_| ayes.len() > 1) {
		assert_ok!(Council::vote(
			RuntimeOrigin::signed(member.to_account_id()),
			hash,
			index,
			true
		));
	}
	if ayes.len() > 1 {
		assert_ok!(Council::close(proposer, hash, index, weight, length));
	}
}
