//! The council's path to root, for chains without sudo (`pallet-whitelist` over `pallet-preimage`).
//!
//! Root can do what no other origin can: upgrade the runtime (`system.set_code`), change the
//! council's own membership rules, move any account's funds. On development chains sudo holds it;
//! on a live chain ([`crate::genesis_config_presets::LIVE_PRESET`]) nobody does, and a privileged
//! call reaches root only like this:
//!
//! 1. anyone notes the call's preimage (`preimage.note_preimage(call)`; free once requested);
//! 2. a two-thirds council motion whitelists its hash (`whitelist.whitelist_call(hash)`), which
//!    requests the preimage: everyone can read the exact call before the next step;
//! 3. a second two-thirds council motion dispatches it as root
//!    (`whitelist.dispatch_whitelisted_call(hash, length, weight)`).
//!
//! Two motions rather than one: the first fixes the exact call (by hash) and gives the world a
//! motion's duration to inspect it; the second decides when it runs, so nobody else picks the
//! block. A motion carries only the hash, so a runtime upgrade (half a megabyte) never sits in
//! the council's proposal storage. A dispatch approved before its call is whitelisted is deferred
//! (the pallet's own rule) and can be relayed by anyone once the hash is whitelisted.

use frame_support::{
	parameter_types,
	traits::{fungible::HoldConsideration, ConstU32, LinearStoragePrice},
};
use frame_system::EnsureRoot;
use verity_primitives::{
	time::DAYS,
	token::{MICRO_UNIT, UNIT},
};

use crate::{
	configs::governance::EnsureTwoThirdsCouncil, AccountId, Balance, Balances, Preimage, Runtime,
	RuntimeCall, RuntimeEvent, RuntimeHoldReason, System,
};

parameter_types! {
	/// Noting a preimage nobody requested holds 1 VRT...
	pub const PreimageBaseDeposit: Balance = UNIT;
	/// ...plus a millionth of a VRT per byte (a runtime of 0.6 MB: 0.6 VRT).
	pub const PreimageByteDeposit: Balance = MICRO_UNIT;
	/// The hold reason of preimage deposits.
	pub const PreimageHoldReason: RuntimeHoldReason =
		RuntimeHoldReason::Preimage(pallet_preimage::HoldReason::Preimage);
}

impl pallet_preimage::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = pallet_preimage::weights::SubstrateWeight<Runtime>;
	type Currency = Balances;
	/// Root may request or clear any preimage (the council, through the whitelist).
	type ManagerOrigin = EnsureRoot<AccountId>;
	type Consideration = HoldConsideration<
		AccountId,
		Balances,
		PreimageHoldReason,
		LinearStoragePrice<PreimageBaseDeposit, PreimageByteDeposit, Balance>,
	>;
}

impl pallet_whitelist::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	/// Two thirds of the council fix the exact call.
	type WhitelistOrigin = EnsureTwoThirdsCouncil;
	/// Two thirds of the council run it as root.
	type DispatchWhitelistedOrigin = EnsureTwoThirdsCouncil;
	type Preimages = Preimage;
	/// A deferred dispatch nobody relayed can be cleared after a week.
	type DeferredDispatchExpiration = ConstU32<{ 7 * DAYS }>;
	type BlockNumberProvider = System;
	type WeightInfo = pallet_whitelist::weights::SubstrateWeight<Runtime>;
}

#[cfg(test)]
mod tests {
	use codec::Encode;
	use frame_support::{assert_noop, assert_ok, dispatch::GetDispatchInfo, traits::OnInitialize};
	use sp_keyring::Sr25519Keyring;
	use sp_runtime::{
		traits::{BlakeTwo256, Hash as _},
		DispatchError,
	};

	use crate::{
		genesis_config_presets::live_template_genesis, Balances, Preimage, Runtime, RuntimeCall,
		RuntimeEvent, RuntimeOrigin, System, Whitelist,
	};

	/// A live network as its operators would write it: the live template plus a council of
	/// Alice, Bob and Charlie and their balances in the chain-spec file.
	fn live_network() -> sp_io::TestExternalities {
		let council: Vec<_> = [
			Sr25519Keyring::Alice,
			Sr25519Keyring::Bob,
			Sr25519Keyring::Charlie,
		]
		.iter()
		.map(|k| k.to_account_id())
		.collect();
		let mut ext = crate::testing::genesis([
			live_template_genesis(),
			serde_json::json!({
				"councilMembership": { "members": council },
				"balances": { "balances": council.iter().map(|a| (a, 1_000_000_000_000_000u128)).collect::<Vec<_>>() },
			}),
			crate::testing::validators_patch(&[Sr25519Keyring::Alice]),
		]);
		ext.execute_with(|| {
			System::set_block_number(1);
			crate::AllPalletsWithSystem::on_initialize(1);
		});
		ext
	}

	fn executed_ok() -> Vec<bool> {
		System::events()
			.into_iter()
			.filter_map(|record| match record.event {
				RuntimeEvent::Council(pallet_collective::Event::Executed { result, .. }) => {
					Some(result.is_ok())
				}
				_ => None,
			})
			.collect()
	}

	/// On a live network nobody holds sudo; two thirds of the council reach root through the
	/// whitelist (here: a root-only balance change), one member or a plain account cannot.
	#[test]
	fn on_a_live_network_two_thirds_of_the_council_reach_root_and_nobody_else_does() {
		use Sr25519Keyring::{Alice, Bob, Dave};
		live_network().execute_with(|| {
			assert_eq!(
				pallet_sudo::Key::<Runtime>::get(),
				None,
				"no sudo key on a live network"
			);
			let target = Dave.to_account_id();
			let call = RuntimeCall::Balances(pallet_balances::Call::force_set_balance {
				who: target.clone().into(),
				new_free: 42_000_000_000_000,
			});
			let hash = BlakeTwo256::hash_of(&call);
			let encoded = call.encode();
			assert_noop!(
				Whitelist::whitelist_call(RuntimeOrigin::signed(Alice.to_account_id()), hash),
				DispatchError::BadOrigin
			);
			// One member's motion executes at once, as a third of the council: refused.
			crate::testing::motion(
				RuntimeCall::Whitelist(pallet_whitelist::Call::whitelist_call { call_hash: hash }),
				&[Alice],
			);
			assert_eq!(executed_ok(), vec![false]);
			assert!(!pallet_whitelist::WhitelistedCall::<Runtime>::contains_key(
				hash
			));
			// Two thirds: whitelisted, and the preimage is requested (so noting it is free).
			crate::testing::motion(
				RuntimeCall::Whitelist(pallet_whitelist::Call::whitelist_call { call_hash: hash }),
				&[Alice, Bob],
			);
			assert_eq!(executed_ok(), vec![false, true]);
			let free_before = Balances::free_balance(Bob.to_account_id());
			assert_ok!(Preimage::note_preimage(
				RuntimeOrigin::signed(Bob.to_account_id()),
				encoded.clone()
			));
			assert_eq!(
				Balances::free_balance(Bob.to_account_id()),
				free_before,
				"a requested preimage costs no deposit"
			);
			// Nobody but the council dispatches it.
			assert!(Whitelist::dispatch_whitelisted_call(
				RuntimeOrigin::signed(Dave.to_account_id()),
				hash,
				encoded.len() as u32,
				call.get_dispatch_info().call_weight
			)
			.is_err());
			assert_eq!(Balances::free_balance(&target), 0);
			crate::testing::motion(
				RuntimeCall::Whitelist(pallet_whitelist::Call::dispatch_whitelisted_call {
					call_hash: hash,
					call_encoded_len: encoded.len() as u32,
					call_weight_witness: call.get_dispatch_info().call_weight,
				}),
				&[Alice, Bob],
			);
			assert_eq!(executed_ok(), vec![false, true, true]);
			assert_eq!(
				Balances::free_balance(&target),
				42_000_000_000_000,
				"ran as root"
			);
			assert!(!pallet_whitelist::WhitelistedCall::<Runtime>::contains_key(
				hash
			));
		});
	}
}
