//! Tests of the validator pallet: genesis, both calls and their refusals, the `n + 2` rule
//! against real session rotations, the session history's pruning, and offences. Each test ends
//! with `do_try_state`.

use frame_support::{
	assert_noop, assert_ok, assert_storage_noop,
	traits::{Get, Hooks},
};
use sp_runtime::{traits::BadOrigin, BuildStorage, Perbill};
use sp_staking::{
	offence::{Kind, Offence, OffenceError, ReportOffence},
	SessionIndex,
};

use crate::{
	mock::*,
	pallet::{Error, Event, SessionLength, SetChanged, Validators as Set},
	SessionLengthOf,
};

/// Runs `f` in a fresh test runtime, then checks the invariants.
fn test(f: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		f();
		Validators::do_try_state().expect("the invariants hold");
	});
}

fn signed(who: AccountId) -> RuntimeOrigin {
	RuntimeOrigin::signed(who)
}

fn root() -> RuntimeOrigin {
	RuntimeOrigin::root()
}

/// The set this pallet holds (for the next planned session).
fn set() -> Vec<AccountId> {
	Set::<Test>::get().into_inner()
}

/// The set validating the current session.
fn session_set() -> Vec<AccountId> {
	pallet_session::Validators::<Test>::get()
}

fn current_session() -> SessionIndex {
	pallet_session::CurrentIndex::<Test>::get()
}

/// Produces blocks until session `index` has started.
fn run_to_session(index: SessionIndex) {
	while current_session() < index {
		System::run_to_block::<AllPalletsWithSystem>(System::block_number() + 1);
	}
}

/// This pallet's events so far.
fn events() -> Vec<Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::Validators(event) => Some(event),
			_ => None,
		})
		.collect()
}

/// The number of session roots the history holds.
fn roots() -> usize {
	pallet_session::historical::HistoricalSessions::<Test>::iter_keys().count()
}

/// Session indexes of the validators disabled in the current session, as account ids.
fn disabled() -> Vec<AccountId> {
	let set = session_set();
	Session::disabled_validators()
		.into_iter()
		.map(|index| set[index as usize])
		.collect()
}

/// An equivocation as BABE or GRANDPA would report it.
struct Equivocation {
	offenders: Vec<AccountId>,
	session: SessionIndex,
}

/// The kind of the test offence.
const KIND: Kind = *b"test:equivocatio";

impl Offence<(AccountId, ())> for Equivocation {
	const ID: Kind = KIND;
	type Slot = u64;

	fn offenders(&self) -> Vec<(AccountId, ())> {
		self.offenders.iter().map(|who| (*who, ())).collect()
	}

	fn session_index(&self) -> SessionIndex {
		self.session
	}

	fn validator_set_count(&self) -> u32 {
		GENESIS.len() as u32
	}

	fn slot(&self) -> u64 {
		7
	}

	fn slash_fraction(&self, _offenders_count: u32) -> Perbill {
		Perbill::one()
	}
}

/// Reports an equivocation by `offenders` in the current session.
fn report(offenders: &[AccountId]) -> Result<(), OffenceError> {
	let offence = Equivocation {
		offenders: offenders.to_vec(),
		session: current_session(),
	};
	<Validators as ReportOffence<AccountId, (AccountId, ()), Equivocation>>::report_offence(
		vec![OUTSIDER],
		offence,
	)
}

/// Whether a report of `offenders` would be known (refused before inclusion).
fn is_known(offenders: &[AccountId]) -> bool {
	let offenders: Vec<(AccountId, ())> = offenders.iter().map(|who| (*who, ())).collect();
	<Validators as ReportOffence<AccountId, (AccountId, ()), Equivocation>>::is_known_offence(
		&offenders, &7,
	)
}

#[test]
fn genesis_set_validates_the_first_sessions() {
	test(|| {
		assert_eq!(set(), GENESIS.to_vec());
		assert_eq!(session_set(), GENESIS.to_vec());
		let queued: Vec<AccountId> = Session::queued_keys().iter().map(|(v, _)| *v).collect();
		assert_eq!(queued, GENESIS.to_vec());
		assert!(!SetChanged::<Test>::get());
		assert_eq!(SessionLength::<Test>::get(), SESSION_LENGTH);
		assert_eq!(SessionLengthOf::<Test>::get(), SESSION_LENGTH);
		run_to_session(2);
		assert_eq!(session_set(), GENESIS.to_vec());
		<Validators as Hooks<u64>>::integrity_test();
	});
}

/// Builds this pallet's genesis alone with `validators` and `session_length`.
fn build_genesis(validators: Vec<AccountId>, session_length: u64) {
	crate::GenesisConfig::<Test> {
		validators,
		session_length,
	}
	.build_storage()
	.unwrap();
}

#[test]
fn genesis_accepts_a_valid_set() {
	build_genesis(vec![1, 2, 3], 1);
}

#[test]
fn the_default_genesis_builds_nothing() {
	let storage = crate::GenesisConfig::<Test>::default()
		.build_storage()
		.unwrap();
	sp_io::TestExternalities::new(storage).execute_with(|| {
		assert!(set().is_empty());
		assert_eq!(SessionLength::<Test>::get(), 0);
	});
}

#[test]
#[should_panic(expected = "the session length must not be zero")]
fn genesis_refuses_a_zero_session_length() {
	build_genesis(vec![1, 2, 3], 0);
}

#[test]
#[should_panic(expected = "fewer genesis validators than MinValidators")]
fn genesis_refuses_a_length_without_validators() {
	build_genesis(vec![], 5);
}

#[test]
#[should_panic(expected = "a genesis validator is listed twice")]
fn genesis_refuses_duplicates() {
	build_genesis(vec![1, 2, 1], 5);
}

#[test]
#[should_panic(expected = "fewer genesis validators than MinValidators")]
fn genesis_refuses_too_few() {
	build_genesis(vec![1, 2], 5);
}

#[test]
#[should_panic(expected = "more genesis validators than MaxValidators")]
fn genesis_refuses_too_many() {
	build_genesis((1..=7).collect(), 5);
}

#[test]
fn add_is_refused_without_the_origin_keys_or_room() {
	test(|| {
		let candidate = CANDIDATES[0];
		assert_noop!(
			Validators::add_validator(signed(OUTSIDER), candidate),
			BadOrigin
		);
		assert_noop!(
			Validators::add_validator(signed(candidate), candidate),
			BadOrigin
		);
		assert_noop!(
			Validators::add_validator(root(), KEYLESS),
			Error::<Test>::NoSessionKeys
		);
		assert_noop!(
			Validators::add_validator(root(), GENESIS[0]),
			Error::<Test>::AlreadyValidator
		);
		assert_ok!(Validators::add_validator(root(), CANDIDATES[0]));
		assert_ok!(Validators::add_validator(root(), CANDIDATES[1]));
		assert_eq!(set().len() as u32, MAX_VALIDATORS);
		assert_noop!(
			Validators::add_validator(root(), CANDIDATES[2]),
			Error::<Test>::TooManyValidators
		);
	});
}

#[test]
fn add_takes_effect_two_sessions_later() {
	test(|| {
		run_to_session(1);
		let candidate = CANDIDATES[0];
		assert_ok!(Validators::add_validator(root(), candidate));
		assert_eq!(
			events().last(),
			Some(&Event::ValidatorAdded {
				who: candidate,
				from_session: 3
			})
		);
		assert!(set().contains(&candidate));
		assert!(SetChanged::<Test>::get());
		assert!(!session_set().contains(&candidate));

		run_to_session(2);
		assert!(!SetChanged::<Test>::get(), "handed to the session");
		assert!(
			!session_set().contains(&candidate),
			"not in session current + 1"
		);
		let queued: Vec<AccountId> = Session::queued_keys().iter().map(|(v, _)| *v).collect();
		assert!(queued.contains(&candidate), "queued for session 3");

		run_to_session(3);
		assert!(session_set().contains(&candidate), "in session current + 2");
		assert_eq!(session_set().len(), GENESIS.len() + 1);
	});
}

#[test]
fn the_council_origin_may_add_and_remove() {
	test(|| {
		assert_ok!(Validators::add_validator(signed(COUNCIL), CANDIDATES[0]));
		assert_ok!(Validators::remove_validator(signed(COUNCIL), GENESIS[0]));
		assert!(set().contains(&CANDIDATES[0]));
		assert!(!set().contains(&GENESIS[0]));
	});
}

#[test]
fn a_validator_added_after_setting_keys_is_accepted() {
	test(|| {
		assert_noop!(
			Validators::add_validator(root(), KEYLESS),
			Error::<Test>::NoSessionKeys
		);
		assert_ok!(Session::set_keys(
			signed(KEYLESS),
			sp_runtime::testing::UintAuthorityId(KEYLESS),
			vec![]
		));
		assert_ok!(Validators::add_validator(root(), KEYLESS));
		run_to_session(2);
		assert!(session_set().contains(&KEYLESS));
	});
}

#[test]
fn remove_is_refused_for_a_stranger_or_under_the_minimum() {
	test(|| {
		assert_noop!(
			Validators::remove_validator(signed(OUTSIDER), GENESIS[0]),
			BadOrigin
		);
		assert_noop!(
			Validators::remove_validator(root(), OUTSIDER),
			Error::<Test>::NotValidator
		);
		assert_noop!(
			Validators::remove_validator(root(), CANDIDATES[0]),
			Error::<Test>::NotValidator
		);
		assert_ok!(Validators::remove_validator(root(), GENESIS[3]));
		assert_eq!(set().len() as u32, MIN_VALIDATORS);
		assert_noop!(
			Validators::remove_validator(root(), GENESIS[0]),
			Error::<Test>::TooFewValidators
		);
		assert_noop!(
			Validators::remove_validator(root(), GENESIS[3]),
			Error::<Test>::NotValidator
		);
	});
}

#[test]
fn remove_takes_effect_two_sessions_later() {
	test(|| {
		run_to_session(2);
		let leaving = GENESIS[1];
		assert_ok!(Validators::remove_validator(root(), leaving));
		assert_eq!(
			events().last(),
			Some(&Event::ValidatorRemoved {
				who: leaving,
				from_session: 4
			})
		);
		assert!(!set().contains(&leaving));

		run_to_session(3);
		assert!(
			session_set().contains(&leaving),
			"still in session current + 1"
		);

		run_to_session(4);
		assert!(
			!session_set().contains(&leaving),
			"gone from session current + 2"
		);
		assert_eq!(session_set().len(), GENESIS.len() - 1);
	});
}

#[test]
fn an_unchanged_set_is_not_handed_over_again_but_history_is_recorded() {
	test(|| {
		use pallet_session::historical::{HistoricalSessions, SessionManager};
		assert_eq!(
			<Validators as SessionManager<AccountId, ()>>::new_session(5),
			None
		);
		assert_eq!(
			<Validators as pallet_session::SessionManager<AccountId>>::new_session(5),
			None
		);
		assert_eq!(
			<Validators as pallet_session::SessionManager<AccountId>>::new_session_genesis(5),
			Some(GENESIS.to_vec())
		);
		System::reset_events();
		run_to_session(3);
		let queued = System::events().into_iter().any(|record| {
			matches!(
				record.event,
				RuntimeEvent::Session(pallet_session::Event::NewQueued)
			)
		});
		assert!(!queued, "no new set queued while nothing changed");
		let genesis_root = HistoricalSessions::<Test>::get(0).expect("session 0 recorded");
		for index in 0..=4 {
			assert_eq!(
				HistoricalSessions::<Test>::get(index),
				Some(genesis_root),
				"session {index} recorded with the unchanged set"
			);
		}
		assert_eq!(session_set(), GENESIS.to_vec());
	});
}

#[test]
fn a_changed_set_is_handed_over_once() {
	test(|| {
		use pallet_session::historical::SessionManager;
		assert_ok!(Validators::add_validator(root(), CANDIDATES[0]));
		let mut expected = GENESIS.to_vec();
		expected.push(CANDIDATES[0]);
		let handed = <Validators as SessionManager<AccountId, ()>>::new_session(2);
		assert_eq!(
			handed,
			Some(expected.iter().map(|who| (*who, ())).collect())
		);
		assert!(!SetChanged::<Test>::get());
		assert_eq!(
			<Validators as SessionManager<AccountId, ()>>::new_session(3),
			None
		);
	});
}

#[test]
fn history_is_pruned_to_its_depth() {
	test(|| {
		use pallet_session::historical::{HistoricalSessions, StoredRange};
		let sessions = 3 * HISTORY_DEPTH;
		for index in 1..=sessions {
			// Change the set now and then, so the roots differ.
			if index % 3 == 0 {
				let candidate = CANDIDATES[0];
				if set().contains(&candidate) {
					assert_ok!(Validators::remove_validator(root(), candidate));
				} else {
					assert_ok!(Validators::add_validator(root(), candidate));
				}
			}
			run_to_session(index);
			assert!(roots() <= HISTORY_DEPTH as usize + 2);
			Validators::do_try_state().expect("the history stays bounded");
		}
		assert_eq!(current_session(), sessions);
		assert_eq!(roots(), HISTORY_DEPTH as usize + 2);
		let oldest = sessions - HISTORY_DEPTH;
		assert!(HistoricalSessions::<Test>::get(oldest - 1).is_none());
		assert!(HistoricalSessions::<Test>::get(oldest).is_some());
		assert!(HistoricalSessions::<Test>::get(sessions + 1).is_some());
		assert_eq!(StoredRange::<Test>::get(), Some((oldest, sessions + 2)));
	});
}

#[test]
fn an_offender_is_disabled_and_removed() {
	test(|| {
		run_to_session(1);
		let offender = GENESIS[3];
		assert!(!is_known(&[offender]));
		assert_ok!(report(&[offender]));
		assert_eq!(
			disabled(),
			vec![offender],
			"disabled in the current session"
		);
		assert!(!set().contains(&offender));
		assert!(SetChanged::<Test>::get());
		let events = events();
		assert_eq!(
			events[events.len() - 2..],
			[
				Event::ValidatorRemoved {
					who: offender,
					from_session: 3
				},
				Event::OffenceReported {
					offender,
					kind: KIND,
					disabled: true,
					removed: true
				},
			]
		);
		assert!(is_known(&[offender]));
		assert_storage_noop!(assert_eq!(
			report(&[offender]),
			Err(OffenceError::DuplicateReport)
		));

		run_to_session(2);
		assert!(session_set().contains(&offender));
		run_to_session(3);
		assert!(!session_set().contains(&offender));
		assert!(disabled().is_empty(), "a changed set clears the disabled");
	});
}

#[test]
fn an_offender_at_the_minimum_is_disabled_but_kept() {
	test(|| {
		assert_ok!(Validators::remove_validator(root(), GENESIS[3]));
		assert_eq!(set().len() as u32, MIN_VALIDATORS);
		let offender = GENESIS[0];
		assert_ok!(report(&[offender]));
		assert_eq!(disabled(), vec![offender]);
		assert!(set().contains(&offender), "kept: the council must act");
		assert_eq!(
			events().last(),
			Some(&Event::OffenceReported {
				offender,
				kind: KIND,
				disabled: true,
				removed: false
			})
		);
		assert!(!is_known(&[offender]), "still in the set: a report is news");
		assert_ok!(report(&[offender]));
		assert_eq!(disabled(), vec![offender]);
	});
}

#[test]
fn a_non_validator_offender_changes_nothing() {
	test(|| {
		assert!(is_known(&[OUTSIDER]));
		assert!(is_known(&[OUTSIDER, CANDIDATES[0]]));
		assert!(!is_known(&[OUTSIDER, GENESIS[0]]));
		assert_storage_noop!(assert_eq!(
			report(&[OUTSIDER]),
			Err(OffenceError::DuplicateReport)
		));
		assert_storage_noop!(assert_eq!(report(&[]), Err(OffenceError::DuplicateReport)));
		assert!(disabled().is_empty());
		assert_eq!(set(), GENESIS.to_vec());
	});
}

#[test]
fn only_offenders_in_the_set_are_acted_on() {
	test(|| {
		let offender = GENESIS[2];
		assert_ok!(report(&[OUTSIDER, offender]));
		assert_eq!(disabled(), vec![offender]);
		assert!(!set().contains(&offender));
		let reported: Vec<AccountId> = events()
			.into_iter()
			.filter_map(|event| match event {
				Event::OffenceReported { offender, .. } => Some(offender),
				_ => None,
			})
			.collect();
		assert_eq!(reported, vec![offender]);
	});
}

#[test]
fn disabling_follows_the_session_and_its_limit() {
	test(|| {
		// Not yet validating: removed, but nothing to disable.
		let newcomer = CANDIDATES[0];
		assert_ok!(Validators::add_validator(root(), newcomer));
		assert_ok!(Validators::add_validator(root(), CANDIDATES[1]));
		assert_ok!(report(&[newcomer]));
		assert_eq!(
			events().last(),
			Some(&Event::OffenceReported {
				offender: newcomer,
				kind: KIND,
				disabled: false,
				removed: true
			})
		);
		assert!(disabled().is_empty());
		// A session of four disables at most one ((4 - 1) / 3): the second offender is removed
		// but keeps validating this session.
		assert_ok!(report(&[GENESIS[0]]));
		assert_ok!(report(&[GENESIS[1]]));
		assert_eq!(disabled(), vec![GENESIS[0]]);
		assert_eq!(
			events().last(),
			Some(&Event::OffenceReported {
				offender: GENESIS[1],
				kind: KIND,
				disabled: false,
				removed: true
			})
		);
		assert_eq!(set(), vec![GENESIS[2], GENESIS[3], CANDIDATES[1]]);
	});
}

#[test]
fn try_state_catches_broken_invariants() {
	new_test_ext().execute_with(|| {
		assert_ok!(Validators::do_try_state());
		Set::<Test>::put(frame_support::BoundedVec::truncate_from(vec![1, 2, 2, 3]));
		assert!(Validators::do_try_state().is_err());
		Set::<Test>::put(frame_support::BoundedVec::truncate_from(vec![1, 2]));
		assert!(Validators::do_try_state().is_err());
		Set::<Test>::put(frame_support::BoundedVec::truncate_from(GENESIS.to_vec()));
		assert_ok!(Validators::do_try_state());
		SessionLength::<Test>::put(0);
		assert!(Validators::do_try_state().is_err());
		SessionLength::<Test>::put(SESSION_LENGTH);
		for index in 0..(HISTORY_DEPTH + 3) {
			pallet_session::historical::HistoricalSessions::<Test>::insert(index, (any_hash(), 4));
		}
		assert!(Validators::do_try_state().is_err());
	});
}

/// Any hash, for a forged history entry.
fn any_hash() -> <Test as frame_system::Config>::Hash {
	Default::default()
}
