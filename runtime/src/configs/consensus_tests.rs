//! Runtime tests of the consensus wiring: genesis authorities from the session keys, a validator
//! the council adds authoring from the session after next, BABE equivocation reports with real
//! key-owner proofs, and the VRF randomness adapter.

use codec::Encode;
use frame_support::{
	assert_noop, assert_ok,
	traits::{KeyOwnerProofSystem, OnFinalize, OnInitialize, Randomness},
};
use sp_consensus_babe::{
	digests::{CompatibleDigestItem, PreDigest, SecondaryPlainPreDigest, SecondaryVRFPreDigest},
	AuthorityId as BabeId, AuthorityPair as BabePair, Slot, BABE_ENGINE_ID,
};
use sp_core::crypto::Pair as _;
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};
use sp_keystore::{testing::MemoryKeystore, KeystoreExt};
use sp_runtime::{generic::DigestItem, traits::Header as _, Digest};

use super::{MinValidators, DEV_SESSION_LENGTH};
use crate::{
	configs::jobs::VrfRandomness, genesis_config_presets as presets, AllPalletsWithSystem, Babe,
	Grandpa, Historical, Runtime, RuntimeCall, RuntimeEvent, RuntimeOrigin, Session, SessionKeys,
	System, Validators,
};

/// The dev chain (Alice alone) or the local one (Alice, Bob, Charlie, Dave), with a keystore for
/// generating session keys.
fn chain(local: bool) -> sp_io::TestExternalities {
	let preset = if local {
		presets::local_testnet_genesis()
	} else {
		presets::development_config_genesis()
	};
	let mut ext = crate::testing::genesis([preset]);
	ext.register_extension(KeystoreExt::new(MemoryKeystore::new()));
	ext.execute_with(|| start_block(1, 1));
	ext
}

fn pre_digest(pre: PreDigest) -> Digest {
	Digest {
		logs: vec![DigestItem::PreRuntime(BABE_ENGINE_ID, pre.encode())],
	}
}

/// Starts block `number` in `slot`, authored by the session's first validator (a secondary slot
/// without VRF: the runtime does not check slot claims, the node does).
fn start_block(number: u32, slot: u64) {
	let digest = pre_digest(PreDigest::SecondaryPlain(SecondaryPlainPreDigest {
		authority_index: 0,
		slot: Slot::from(slot),
	}));
	start_block_with(number, digest);
}

fn start_block_with(number: u32, digest: Digest) {
	let parent = if number > 1 {
		System::finalize().hash()
	} else {
		System::parent_hash()
	};
	System::reset_events();
	System::initialize(&number, &parent, &digest);
	AllPalletsWithSystem::on_initialize(number);
	// The timestamp inherent, in the block's slot (BABE checks that they agree).
	let slot = u64::from(*pallet_babe::CurrentSlot::<Runtime>::get());
	assert_ok!(crate::Timestamp::set(
		RuntimeOrigin::none(),
		slot * verity_primitives::time::SLOT_DURATION
	));
}

/// Ends the current block and runs blocks, one per slot, until `session` has started.
fn run_to_session(session: u32) {
	while Session::current_index() < session {
		let number = System::block_number();
		AllPalletsWithSystem::on_finalize(number);
		let slot = u64::from(*pallet_babe::CurrentSlot::<Runtime>::get()) + 1;
		start_block(number + 1, slot);
	}
}

fn babe_key(who: Sr25519Keyring) -> BabeId {
	who.public().into()
}

/// `who` generates session keys in the keystore and registers them with their ownership proof, as
/// `author_rotateKeysWithOwner` + `session.setKeys` do; returns the keys.
fn set_keys(who: Sr25519Keyring) -> SessionKeys {
	let owner = who.to_account_id().encode();
	let generated = SessionKeys::generate(&owner, None);
	assert_ok!(Session::set_keys(
		RuntimeOrigin::signed(who.to_account_id()),
		generated.keys.clone(),
		generated.proof.encode(),
	));
	generated.keys
}

#[test]
fn genesis_authorities_come_from_the_session_keys() {
	chain(true).execute_with(|| {
		let validators: Vec<_> = [
			Sr25519Keyring::Alice,
			Sr25519Keyring::Bob,
			Sr25519Keyring::Charlie,
			Sr25519Keyring::Dave,
		]
		.iter()
		.map(|k| k.to_account_id())
		.collect();
		assert_eq!(Session::validators(), validators);
		assert_eq!(
			pallet_validators::Validators::<Runtime>::get().to_vec(),
			validators
		);
		let babe: Vec<_> = Babe::authorities()
			.iter()
			.map(|(id, _)| id.clone())
			.collect();
		assert_eq!(babe[0], babe_key(Sr25519Keyring::Alice));
		assert_eq!(babe.len(), 4);
		let grandpa: Vec<_> = Grandpa::grandpa_authorities()
			.into_iter()
			.map(|(id, _)| id)
			.collect();
		assert_eq!(grandpa[1], Ed25519Keyring::Bob.public().into());
		assert_eq!(
			pallet_validators::SessionLength::<Runtime>::get(),
			DEV_SESSION_LENGTH
		);
		assert_eq!(Babe::epoch_config(), Some(super::BABE_GENESIS_EPOCH_CONFIG));
	});
}

/// A validator the council adds in session `n` authors (is a BABE authority and a GRANDPA voter)
/// from session `n + 2`, not before; an account without session keys cannot be added.
#[test]
fn a_council_motion_adds_a_validator_from_the_session_after_next() {
	use Sr25519Keyring::{Alice, Bob, Charlie, Eve};
	chain(false).execute_with(|| {
		let eve = Eve.to_account_id();
		let add =
			RuntimeCall::Validators(pallet_validators::Call::add_validator { who: eve.clone() });
		// Without session keys, refused.
		assert_noop!(
			Validators::add_validator(RuntimeOrigin::root(), eve.clone()),
			pallet_validators::Error::<Runtime>::NoSessionKeys
		);
		let keys = set_keys(Eve);
		// One council member is not enough.
		crate::testing::motion(add.clone(), &[Alice]);
		assert!(!pallet_validators::Validators::<Runtime>::get().contains(&eve));

		let n = Session::current_index();
		crate::testing::motion(add, &[Alice, Bob, Charlie]);
		assert!(pallet_validators::Validators::<Runtime>::get().contains(&eve));
		assert!(System::events().iter().any(|record| matches!(
			&record.event,
			RuntimeEvent::Validators(pallet_validators::Event::ValidatorAdded { who, from_session })
				if *who == eve && *from_session == n + 2
		)));

		run_to_session(n + 1);
		assert!(
			!Session::validators().contains(&eve),
			"not in session n + 1"
		);
		assert!(!Babe::authorities().iter().any(|(id, _)| *id == keys.babe));

		run_to_session(n + 2);
		assert!(Session::validators().contains(&eve), "in session n + 2");
		assert!(Babe::authorities().iter().any(|(id, _)| *id == keys.babe));
		// GRANDPA enacts the new set by a scheduled change at the session boundary.
		assert!(
			pallet_grandpa::PendingChange::<Runtime>::get().is_some_and(|change| change
				.next_authorities
				.iter()
				.any(|(id, _)| *id == keys.grandpa))
		);
	});
}

#[test]
fn the_council_cannot_remove_the_last_validator() {
	chain(false).execute_with(|| {
		assert_eq!(MinValidators::get(), 1);
		assert_noop!(
			Validators::remove_validator(
				RuntimeOrigin::root(),
				Sr25519Keyring::Alice.to_account_id()
			),
			pallet_validators::Error::<Runtime>::TooFewValidators
		);
	});
}

/// Two different headers for the same slot, both sealed by `offender`'s BABE key.
fn babe_equivocation(
	offender: Sr25519Keyring,
	authority_index: u32,
	slot: Slot,
) -> sp_consensus_babe::EquivocationProof<crate::Header> {
	let pair = BabePair::from(offender.pair());
	let header = |extra: u8| {
		let mut header = crate::Header::new(
			System::block_number(),
			Default::default(),
			Default::default(),
			System::parent_hash(),
			pre_digest(PreDigest::SecondaryPlain(SecondaryPlainPreDigest {
				authority_index,
				slot,
			})),
		);
		header.digest_mut().push(DigestItem::Other(vec![extra]));
		let seal =
			<DigestItem as CompatibleDigestItem>::babe_seal(pair.sign(header.hash().as_ref()));
		header.digest_mut().push(seal);
		header
	};
	sp_consensus_babe::EquivocationProof {
		offender: pair.public(),
		slot,
		first_header: header(1),
		second_header: header(2),
	}
}

/// A validator that signs two blocks for one slot is reported with a key-owner proof from the
/// session history, disabled at once and out of the set from the session after next; the same
/// report again is refused; a proof of another key is refused.
#[test]
fn a_babe_equivocation_disables_the_offender_and_removes_it() {
	use Sr25519Keyring::Bob;
	chain(true).execute_with(|| {
		run_to_session(1);
		let slot = pallet_babe::CurrentSlot::<Runtime>::get();
		let bob = Bob.to_account_id();
		let proof = babe_equivocation(Bob, 1, slot);
		let key_owner_proof =
			Historical::prove((sp_consensus_babe::KEY_TYPE, babe_key(Bob))).expect("Bob's key is in the session");

		// A key-owner proof of someone else's key does not prove Bob's equivocation.
		let wrong_owner =
			Historical::prove((sp_consensus_babe::KEY_TYPE, babe_key(Sr25519Keyring::Charlie))).unwrap();
		assert_noop!(
			Babe::report_equivocation_unsigned(RuntimeOrigin::none(), Box::new(proof.clone()), wrong_owner),
			pallet_babe::Error::<Runtime>::InvalidKeyOwnershipProof
		);

		let n = Session::current_index();
		assert_ok!(Babe::report_equivocation_unsigned(
			RuntimeOrigin::none(),
			Box::new(proof.clone()),
			key_owner_proof.clone()
		));
		assert!(Session::disabled_validators().contains(&1), "disabled at once");
		assert!(!pallet_validators::Validators::<Runtime>::get().contains(&bob));
		assert!(System::events().iter().any(|record| matches!(
			&record.event,
			RuntimeEvent::Validators(pallet_validators::Event::OffenceReported { offender, removed: true, .. })
				if *offender == bob
		)));
		assert_noop!(
			Babe::report_equivocation_unsigned(RuntimeOrigin::none(), Box::new(proof), key_owner_proof),
			pallet_babe::Error::<Runtime>::DuplicateOffenceReport
		);

		run_to_session(n + 2);
		assert!(!Session::validators().contains(&bob));
		assert_eq!(Session::validators().len(), 3);
	});
}

/// Before any block carries a VRF output the adapter says so (`None`) rather than falling back to
/// a block hash; after one, it gives the output mixed with the subject.
#[test]
fn vrf_randomness_is_none_until_a_block_has_a_vrf_output() {
	use sp_core::crypto::VrfSecret;
	chain(false).execute_with(|| {
		// Block 1 had no VRF output.
		AllPalletsWithSystem::on_finalize(1);
		start_block(2, 2);
		assert_eq!(VrfRandomness::random(b"job").0, None);

		// Block 2's author signs with a VRF (a secondary VRF slot, as every block has on Verity).
		AllPalletsWithSystem::on_finalize(2);
		let slot = Slot::from(3);
		let epoch = pallet_babe::EpochIndex::<Runtime>::get();
		let randomness = pallet_babe::Randomness::<Runtime>::get();
		let sign_data = sp_consensus_babe::make_vrf_sign_data(&randomness, slot, epoch);
		let vrf_signature = Sr25519Keyring::Alice.pair().vrf_sign(&sign_data);
		start_block_with(
			3,
			pre_digest(PreDigest::SecondaryVRF(SecondaryVRFPreDigest {
				authority_index: 0,
				slot,
				vrf_signature,
			})),
		);
		AllPalletsWithSystem::on_finalize(3);
		start_block(4, 4);
		let (job, block) = VrfRandomness::random(b"job");
		let (audit, _) = VrfRandomness::random(b"audit");
		assert_eq!(block, 3);
		assert!(job.is_some() && audit.is_some());
		assert_ne!(job, audit, "mixed with the subject");
		assert_ne!(job, Some(System::parent_hash()));
		// The job market's beacon took in that one output, and only it (blocks 2 to 3 had none).
		assert_eq!(pallet_jobs::Beacon::<Runtime>::get().outputs, 1);
	});
}

/// Two prevotes for different blocks in one round, both signed by `offender`'s GRANDPA key.
fn grandpa_equivocation(
	offender: Ed25519Keyring,
	set_id: sp_consensus_grandpa::SetId,
	round: u64,
) -> sp_consensus_grandpa::EquivocationProof<crate::Hash, crate::BlockNumber> {
	let prevote = |target: u8| {
		let prevote = finality_grandpa::Prevote {
			target_hash: crate::Hash::repeat_byte(target),
			target_number: System::block_number(),
		};
		let message = finality_grandpa::Message::Prevote(prevote.clone());
		let payload = sp_consensus_grandpa::localized_payload(round, set_id, &message);
		(prevote, offender.sign(&payload).into())
	};
	sp_consensus_grandpa::EquivocationProof::new(
		set_id,
		sp_consensus_grandpa::Equivocation::Prevote(finality_grandpa::Equivocation {
			round_number: round,
			identity: offender.public().into(),
			first: prevote(1),
			second: prevote(2),
		}),
	)
}

/// A GRANDPA voter that prevotes for two blocks in one round is reported with a key-owner proof of
/// its `gran` key, disabled and removed like a BABE equivocator; a proof for a set id that is not
/// the proof's session is refused.
#[test]
fn a_grandpa_equivocation_disables_the_offender_and_removes_it() {
	chain(true).execute_with(|| {
		run_to_session(1);
		let charlie = Sr25519Keyring::Charlie.to_account_id();
		let set_id = Grandpa::current_set_id();
		let key_owner_proof = Historical::prove((
			sp_consensus_grandpa::KEY_TYPE,
			sp_consensus_grandpa::AuthorityId::from(Ed25519Keyring::Charlie.public()),
		))
		.expect("Charlie's key is in the session");

		// The same votes claimed for another set (whose session the proof does not match).
		assert_noop!(
			Grandpa::report_equivocation_unsigned(
				RuntimeOrigin::none(),
				Box::new(grandpa_equivocation(Ed25519Keyring::Charlie, set_id + 1, 1)),
				key_owner_proof.clone()
			),
			pallet_grandpa::Error::<Runtime>::InvalidEquivocationProof
		);

		assert_ok!(Grandpa::report_equivocation_unsigned(
			RuntimeOrigin::none(),
			Box::new(grandpa_equivocation(Ed25519Keyring::Charlie, set_id, 1)),
			key_owner_proof
		));
		assert!(
			Session::disabled_validators().contains(&2),
			"disabled at once"
		);
		assert!(!pallet_validators::Validators::<Runtime>::get().contains(&charlie));
		let n = Session::current_index();
		run_to_session(n + 2);
		assert!(!Session::validators().contains(&charlie));
	});
}
