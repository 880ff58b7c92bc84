//! Tests of the worker pallet: every call and refusal, slashing, jobs in flight, and the
//! statistical properties of draws. Each test ends with `do_try_state`.

use frame_support::{
	assert_noop, assert_ok,
	traits::{
		fungible::{Inspect, InspectHold},
		Hooks,
	},
	BoundedVec,
};
use sp_runtime::{traits::BadOrigin, Perbill};
use verity_primitives::{
	blake2_256,
	workers::{Demand, FaultKind, SlashAmount, SlashDestination, Slashing, WorkerSelection},
	Hash, ModelId,
};

use crate::{
	mock::*,
	pallet::{
		Error, Event, HoldReason, LedgerOf, Ledgers, ModelWorkers, OffersOf, Stats,
		Workers as Registered,
	},
	FaultCounts, ModelCapacity, WorkerStatus,
};

/// Runs `f` in a fresh test runtime, then checks the books.
fn test(f: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		f();
		Workers::do_try_state().expect("the books balance");
	});
}

/// Each of `ids` with a capacity of [`CAPACITY`].
fn models(ids: &[ModelId]) -> OffersOf<Test> {
	let offers: Vec<ModelCapacity> = ids
		.iter()
		.map(|model| ModelCapacity {
			model: *model,
			capacity: CAPACITY,
		})
		.collect();
	BoundedVec::try_from(offers).expect("within MaxModelsPerWorker")
}

/// The capacity of every model a test worker serves.
const CAPACITY: u32 = 2;

/// The ids of the models `who` serves.
fn served(who: AccountId) -> Vec<ModelId> {
	Registered::<Test>::get(who)
		.map(|info| info.models.iter().map(|s| s.model).collect())
		.unwrap_or_default()
}

fn signed(who: AccountId) -> RuntimeOrigin {
	RuntimeOrigin::signed(who)
}

/// Bonds `bond` for `who` and registers it for `served`.
fn worker(who: AccountId, bond: Balance, served: &[ModelId]) {
	assert_ok!(Workers::bond(signed(who), bond));
	assert_ok!(Workers::register_worker(
		signed(who),
		models(served),
		receipt_key(who)
	));
}

fn held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::Bond.into(), &who)
}

fn ledger(who: AccountId) -> LedgerOf<Test> {
	Ledgers::<Test>::get(who).expect("a ledger")
}

fn index(model: ModelId) -> Vec<(AccountId, Balance)> {
	ModelWorkers::<Test>::get(model).to_vec()
}

fn last_event() -> RuntimeEvent {
	System::events().pop().expect("an event").event
}

/// Whether `event` of this pallet was deposited.
fn deposited(event: Event<Test>) -> bool {
	System::events()
		.iter()
		.any(|record| record.event == RuntimeEvent::Workers(event.clone()))
}

fn seed(i: u32) -> Hash {
	blake2_256(&i.to_le_bytes())
}

fn run_to(block: u64) {
	System::set_block_number(block);
}

mod config {
	use super::*;

	#[test]
	fn integrity_test_accepts_the_mock_configuration() {
		test(Workers::integrity_test);
	}
}

mod bonding {
	use super::*;

	#[test]
	fn bond_holds_funds_and_records_them() {
		test(|| {
			assert_ok!(Workers::bond(signed(1), 150));
			assert_eq!(held(1), 150);
			assert_eq!(Balances::balance(&1), ENDOWMENT - 150);
			assert_eq!(ledger(1).bonded, 150);
			assert_eq!(
				last_event(),
				Event::Bonded {
					who: 1,
					amount: 150,
					bonded: 150
				}
				.into()
			);
			assert_ok!(Workers::bond(signed(1), 1));
			assert_eq!((held(1), ledger(1).bonded), (151, 151));
		});
	}

	#[test]
	fn bond_refusals_change_nothing() {
		test(|| {
			assert_noop!(Workers::bond(signed(1), 0), Error::<Test>::ZeroAmount);
			assert_noop!(
				Workers::bond(signed(1), MIN_BOND - 1),
				Error::<Test>::BondBelowMinimum
			);
			assert_noop!(
				Workers::bond(signed(POOR), MIN_BOND),
				Error::<Test>::InsufficientBalance
			);
			assert_noop!(
				Workers::bond(signed(1), ENDOWMENT + 1),
				Error::<Test>::InsufficientBalance
			);
			assert_noop!(Workers::bond(RuntimeOrigin::root(), MIN_BOND), BadOrigin);
			assert!(Ledgers::<Test>::get(1).is_none());
		});
	}

	#[test]
	fn unbond_moves_funds_to_a_chunk_that_unlocks_after_the_period() {
		test(|| {
			assert_ok!(Workers::bond(signed(1), 300));
			run_to(5);
			assert_ok!(Workers::unbond(signed(1), 100));
			assert_eq!(
				last_event(),
				Event::Unbonding {
					who: 1,
					amount: 100,
					unlock_at: 5 + UNBONDING
				}
				.into()
			);
			assert_ok!(Workers::unbond(signed(1), 50));
			let l = ledger(1);
			assert_eq!(l.bonded, 150);
			assert_eq!(
				l.unbonding.len(),
				1,
				"two unbonds in one block share a chunk"
			);
			assert_eq!(l.unbonding[0].amount, 150);
			assert_eq!(held(1), 300, "unbonding funds stay held");
		});
	}

	#[test]
	fn unbond_refusals_change_nothing() {
		test(|| {
			assert_noop!(Workers::unbond(signed(1), 10), Error::<Test>::NotBonded);
			assert_ok!(Workers::bond(signed(1), 300));
			assert_noop!(Workers::unbond(signed(1), 0), Error::<Test>::ZeroAmount);
			assert_noop!(
				Workers::unbond(signed(1), 301),
				Error::<Test>::UnbondExceedsBond
			);
			assert_noop!(
				Workers::unbond(signed(1), 250),
				Error::<Test>::BondBelowMinimum
			);
			// Unregistered: all of it may go.
			assert_ok!(Workers::unbond(signed(1), 300));
			// Registered: the minimum must stay.
			worker(2, 300, &[0]);
			assert_noop!(
				Workers::unbond(signed(2), 300),
				Error::<Test>::BondBelowMinimum
			);
			assert_ok!(Workers::unbond(signed(2), 200));
		});
	}

	#[test]
	fn unbonding_chunks_are_bounded() {
		test(|| {
			assert_ok!(Workers::bond(signed(1), 1_000));
			for block in 1..=3 {
				run_to(block);
				assert_ok!(Workers::unbond(signed(1), 10));
			}
			run_to(4);
			assert_noop!(
				Workers::unbond(signed(1), 10),
				Error::<Test>::TooManyUnbondingChunks
			);
		});
	}

	#[test]
	fn withdraw_releases_only_unlocked_chunks_and_drops_an_empty_ledger() {
		test(|| {
			assert_ok!(Workers::bond(signed(1), 300));
			assert_noop!(
				Workers::withdraw_unbonded(signed(1)),
				Error::<Test>::NothingToWithdraw
			);
			assert_ok!(Workers::unbond(signed(1), 100));
			run_to(3);
			assert_ok!(Workers::unbond(signed(1), 200));
			run_to(UNBONDING);
			assert_noop!(
				Workers::withdraw_unbonded(signed(1)),
				Error::<Test>::NothingToWithdraw
			);
			run_to(1 + UNBONDING);
			assert_ok!(Workers::withdraw_unbonded(signed(1)));
			assert_eq!(
				last_event(),
				Event::Withdrawn {
					who: 1,
					amount: 100
				}
				.into()
			);
			assert_eq!((held(1), Balances::balance(&1)), (200, ENDOWMENT - 200));
			run_to(3 + UNBONDING);
			assert_ok!(Workers::withdraw_unbonded(signed(1)));
			assert_eq!((held(1), Balances::balance(&1)), (0, ENDOWMENT));
			assert!(
				Ledgers::<Test>::get(1).is_none(),
				"nothing left: the ledger is gone"
			);
			assert_noop!(
				Workers::withdraw_unbonded(signed(1)),
				Error::<Test>::NotBonded
			);
		});
	}
}

mod registration {
	use super::*;

	#[test]
	fn register_indexes_the_worker_under_each_model_with_its_bond() {
		test(|| {
			worker(1, 250, &[0, 2]);
			let info = Registered::<Test>::get(1).expect("registered");
			assert_eq!(served(1), vec![0, 2]);
			assert_eq!(info.receipt_key, receipt_key(1));
			assert_eq!(info.status, WorkerStatus::Active);
			assert_eq!(index(0), vec![(1, 250)]);
			assert_eq!(index(2), vec![(1, 250)]);
			assert!(index(1).is_empty());
			assert_eq!(
				last_event(),
				Event::WorkerRegistered {
					who: 1,
					models: models(&[0, 2]).to_vec(),
					receipt_key: receipt_key(1)
				}
				.into()
			);
			// Bonding more raises the draw weight everywhere.
			assert_ok!(Workers::bond(signed(1), 50));
			assert_eq!((index(0), index(2)), (vec![(1, 300)], vec![(1, 300)]));
		});
	}

	#[test]
	fn register_refusals_change_nothing() {
		test(|| {
			let key = receipt_key(1);
			assert_noop!(
				Workers::register_worker(signed(1), models(&[0]), key),
				Error::<Test>::InsufficientBond
			);
			assert_ok!(Workers::bond(signed(1), MIN_BOND));
			assert_noop!(
				Workers::register_worker(signed(1), models(&[]), key),
				Error::<Test>::NoModels
			);
			assert_noop!(
				Workers::register_worker(signed(1), models(&[0, 1, 0]), key),
				Error::<Test>::DuplicateModel
			);
			assert_noop!(
				Workers::register_worker(signed(1), models(&[0, UNKNOWN]), key),
				Error::<Test>::ModelNotAccepting
			);
			assert_noop!(
				Workers::register_worker(signed(1), models(&[RETIRED]), key),
				Error::<Test>::ModelNotAccepting
			);
			assert_ok!(Workers::register_worker(signed(1), models(&[0]), key));
			assert_noop!(
				Workers::register_worker(signed(1), models(&[1]), key),
				Error::<Test>::AlreadyRegistered
			);
		});
	}

	#[test]
	fn a_full_model_index_refuses_more_workers() {
		test(|| {
			for w in 1..=4 {
				worker(w, MIN_BOND, &[0]);
			}
			assert_ok!(Workers::bond(signed(5), MIN_BOND));
			assert_noop!(
				Workers::register_worker(signed(5), models(&[1, 0]), receipt_key(5)),
				Error::<Test>::ModelWorkersFull
			);
			assert!(
				index(1).is_empty(),
				"nothing written for the model that had room"
			);
			// Room comes back when a worker leaves.
			assert_ok!(Workers::deregister(signed(4)));
			assert_ok!(Workers::register_worker(
				signed(5),
				models(&[1, 0]),
				receipt_key(5)
			));
		});
	}

	#[test]
	fn set_models_moves_the_worker_between_indexes() {
		test(|| {
			worker(1, 200, &[0, 1]);
			assert_ok!(Workers::set_models(signed(1), models(&[1, 2])));
			assert!(index(0).is_empty());
			assert_eq!((index(1), index(2)), (vec![(1, 200)], vec![(1, 200)]));
			assert_eq!(
				last_event(),
				Event::ModelsChanged {
					who: 1,
					models: models(&[1, 2]).to_vec()
				}
				.into()
			);
			// A retired model it serves may stay; a retired one cannot be added.
			MockModels::retire(1);
			assert_ok!(Workers::set_models(signed(1), models(&[1])));
			assert_noop!(
				Workers::set_models(signed(1), models(&[1, RETIRED])),
				Error::<Test>::ModelNotAccepting
			);
			assert_noop!(
				Workers::set_models(signed(1), models(&[])),
				Error::<Test>::NoModels
			);
			assert_noop!(
				Workers::set_models(signed(2), models(&[0])),
				Error::<Test>::NotRegistered
			);
		});
	}

	#[test]
	fn pause_and_resume_toggle_the_draw_weight() {
		test(|| {
			worker(1, 200, &[0]);
			assert_ok!(Workers::pause(signed(1)));
			assert_eq!(index(0), vec![(1, 0)]);
			assert!(!Workers::serves(&1, 0));
			assert_noop!(Workers::pause(signed(1)), Error::<Test>::AlreadyPaused);
			assert_ok!(Workers::resume(signed(1)));
			assert_eq!(index(0), vec![(1, 200)]);
			assert!(Workers::serves(&1, 0));
			assert_noop!(Workers::resume(signed(1)), Error::<Test>::NotPaused);
			assert_noop!(Workers::pause(signed(2)), Error::<Test>::NotRegistered);
			assert_noop!(Workers::resume(signed(2)), Error::<Test>::NotRegistered);
		});
	}

	#[test]
	fn deregister_keeps_the_bond_and_the_record_but_leaves_every_index() {
		test(|| {
			worker(1, 200, &[0, 1]);
			assert_ok!(Workers::note_job_started(&1, 0, Demand::Job(50)));
			assert_noop!(Workers::deregister(signed(1)), Error::<Test>::JobsInFlight);
			Workers::note_job_finished(&1, 0, Demand::Job(50), true, true);
			assert_ok!(Workers::deregister(signed(1)));
			assert_eq!(last_event(), Event::WorkerDeregistered { who: 1 }.into());
			assert!(Registered::<Test>::get(1).is_none());
			assert!(index(0).is_empty() && index(1).is_empty());
			assert_eq!(held(1), 200);
			assert_eq!(Stats::<Test>::get(1).jobs_done, 1);
			assert_eq!(Workers::receipt_key(&1), None);
			// Now all of the bond may be unbonded.
			assert_ok!(Workers::unbond(signed(1), 200));
			assert_noop!(Workers::deregister(signed(1)), Error::<Test>::NotRegistered);
		});
	}
}

mod jobs_in_flight {
	use super::*;

	#[test]
	fn jobs_reserve_bond_and_are_capped_by_it() {
		test(|| {
			assert_noop!(
				Workers::note_job_started(&1, 0, Demand::Job(10)),
				Error::<Test>::NotRegistered
			);
			worker(1, 200, &[0]);
			assert_ok!(Workers::note_job_started(&1, 0, Demand::Job(150)));
			assert_eq!((ledger(1).reserved, ledger(1).jobs_in_flight), (150, 1));
			assert_noop!(
				Workers::note_job_started(&1, 0, Demand::Job(51)),
				Error::<Test>::InsufficientFreeBond
			);
			assert_ok!(Workers::note_job_started(&1, 0, Demand::Job(50)));
			// The reserved bond cannot leave (and the minimum must stay anyway).
			assert_ok!(Workers::bond(signed(1), 100));
			assert_noop!(
				Workers::unbond(signed(1), 101),
				Error::<Test>::BondReservedForJobs
			);
			Workers::note_job_finished(&1, 0, Demand::Job(150), true, true);
			Workers::note_job_finished(&1, 0, Demand::Job(50), true, false);
			let l = ledger(1);
			assert_eq!((l.reserved, l.jobs_in_flight), (0, 0));
			assert_eq!(
				Stats::<Test>::get(1).jobs_done,
				1,
				"only completed jobs count"
			);
		});
	}

	#[test]
	fn last_active_follows_job_events() {
		test(|| {
			worker(1, 200, &[0]);
			run_to(7);
			assert_ok!(Workers::note_job_started(&1, 0, Demand::Job(10)));
			assert_eq!(Stats::<Test>::get(1).last_active, 7);
			run_to(9);
			Workers::note_job_finished(&1, 0, Demand::Job(10), true, true);
			assert_eq!(Stats::<Test>::get(1).last_active, 9);
		});
	}
}

mod slashing {
	use super::*;

	#[test]
	fn a_fraction_is_taken_from_bonded_then_unbonding_funds() {
		test(|| {
			worker(1, 400, &[0]);
			assert_ok!(Workers::unbond(signed(1), 200));
			// Stake 400 (200 bonded + 200 unbonding); 75% = 300.
			let slashed = Workers::slash(
				&1,
				SlashAmount::Fraction(Perbill::from_percent(75)),
				FaultKind::WrongResult,
				SlashDestination::Treasury,
			);
			assert_eq!(slashed, 300);
			let l = ledger(1);
			assert_eq!(l.bonded, 0);
			assert_eq!(l.unbonding[0].amount, 100);
			assert_eq!(held(1), 100);
			assert_eq!(Balances::balance(&TREASURY), 1 + 300);
			assert_eq!(index(0), vec![(1, 0)], "below the minimum: no longer drawn");
			// The slash is recorded before the funds are paid out (a treasury deposit follows it).
			assert!(deposited(Event::Slashed {
				who: 1,
				fault: FaultKind::WrongResult,
				amount: 300
			}));
		});
	}

	#[test]
	fn an_exact_slash_is_capped_by_the_stake_and_counted_in_the_record() {
		test(|| {
			worker(1, 200, &[0]);
			let slashed = Workers::slash(
				&1,
				SlashAmount::Exact(1_000),
				FaultKind::MissedDeadline,
				SlashDestination::Account(OUTSIDER),
			);
			assert_eq!(slashed, 200);
			assert_eq!(Balances::balance(&OUTSIDER), ENDOWMENT + 200);
			assert_eq!(held(1), 0);
			// Nothing left: the fault still counts.
			let again = Workers::slash(
				&1,
				SlashAmount::Exact(10),
				FaultKind::JurorNoReveal,
				SlashDestination::Treasury,
			);
			assert_eq!(again, 0);
			let stats = Stats::<Test>::get(1);
			assert_eq!(stats.slashed_total, 200);
			assert_eq!(
				stats.faults,
				FaultCounts {
					missed_deadline: 1,
					juror_no_reveal: 1,
					..Default::default()
				}
			);
			assert_eq!(stats.faults.total(), 2);
		});
	}

	#[test]
	fn burning_lowers_total_issuance_and_paying_does_not() {
		test(|| {
			worker(1, 300, &[0]);
			let issuance = Balances::total_issuance();
			Workers::slash(
				&1,
				SlashAmount::Exact(100),
				FaultKind::JurorMinority,
				SlashDestination::Burn,
			);
			assert_eq!(Balances::total_issuance(), issuance - 100);
			Workers::slash(
				&1,
				SlashAmount::Exact(100),
				FaultKind::JurorMinority,
				SlashDestination::Account(NEWCOMER),
			);
			assert_eq!(Balances::total_issuance(), issuance - 100);
			assert_eq!(
				Balances::balance(&NEWCOMER),
				100,
				"a new account is created by the payment"
			);
		});
	}

	#[test]
	fn leaving_does_not_escape_a_slash_until_the_funds_are_withdrawn() {
		test(|| {
			worker(1, 300, &[0]);
			assert_ok!(Workers::deregister(signed(1)));
			assert_ok!(Workers::unbond(signed(1), 300));
			run_to(UNBONDING);
			let slashed = Workers::slash(
				&1,
				SlashAmount::Fraction(Perbill::from_percent(50)),
				FaultKind::WrongResult,
				SlashDestination::Treasury,
			);
			assert_eq!(slashed, 150, "unbonding funds are still slashable");
			run_to(1 + UNBONDING);
			assert_ok!(Workers::withdraw_unbonded(signed(1)));
			assert_eq!(Balances::balance(&1), ENDOWMENT - 150);
			assert!(Ledgers::<Test>::get(1).is_none());
		});
	}

	#[test]
	fn slashing_an_account_without_a_bond_takes_nothing() {
		test(|| {
			let slashed = Workers::slash(
				&OUTSIDER,
				SlashAmount::Fraction(Perbill::one()),
				FaultKind::WrongResult,
				SlashDestination::Treasury,
			);
			assert_eq!(slashed, 0);
			assert_eq!(Balances::balance(&OUTSIDER), ENDOWMENT);
		});
	}
}

mod selection {
	use super::*;

	/// How often each account is drawn (one draw per seed) over `rounds` seeds.
	fn frequencies(
		model: ModelId,
		n: u32,
		rounds: u32,
	) -> std::collections::BTreeMap<AccountId, u32> {
		let mut counts = std::collections::BTreeMap::new();
		for i in 0..rounds {
			for w in Workers::select(model, &[], seed(i), n, Demand::JurySeat) {
				*counts.entry(w).or_insert(0) += 1;
			}
		}
		counts
	}

	/// Five standard deviations of a binomial count.
	fn tolerance(rounds: u32, p: f64) -> f64 {
		5.0 * (rounds as f64 * p * (1.0 - p)).sqrt()
	}

	#[test]
	fn draws_are_deterministic_distinct_and_bounded_by_the_eligible() {
		test(|| {
			for (w, bond) in [(1, 100), (2, 200), (3, 300)] {
				worker(w, bond, &[0]);
			}
			let a = Workers::select(0, &[], seed(1), 3, Demand::JurySeat);
			assert_eq!(
				a,
				Workers::select(0, &[], seed(1), 3, Demand::JurySeat),
				"same seed, same draw"
			);
			let mut sorted = a.clone();
			sorted.sort();
			assert_eq!(sorted, vec![1, 2, 3], "three distinct workers");
			assert_eq!(
				Workers::select(0, &[], seed(1), 5, Demand::JurySeat).len(),
				3
			);
			assert!(
				Workers::select(1, &[], seed(1), 1, Demand::JurySeat).is_empty(),
				"nobody serves model 1"
			);
			let differs =
				(0..20).any(|i| Workers::select(0, &[], seed(i), 3, Demand::JurySeat) != a);
			assert!(differs, "other seeds give other orders");
			assert_eq!(Workers::eligible_count(0, &[2], Demand::JurySeat), 2);
		});
	}

	#[test]
	fn single_draws_follow_bond_shares() {
		test(|| {
			let bonds = [(1, 100), (2, 200), (3, 300), (4, 400)];
			for (w, bond) in bonds {
				worker(w, bond, &[0]);
			}
			let rounds = 20_000;
			let counts = frequencies(0, 1, rounds);
			println!("bond shares 10/20/30/40%, {rounds} draws: {counts:?}");
			for (w, bond) in bonds {
				let p = bond as f64 / 1_000.0;
				let expected = rounds as f64 * p;
				let observed = counts.get(&w).copied().unwrap_or(0) as f64;
				assert!(
					(observed - expected).abs() < tolerance(rounds, p),
					"worker {w}: {observed} draws, {expected} expected"
				);
			}
		});
	}

	/// Chance that one of `group` is among `n` drawn, over `rounds` seeds.
	fn group_chance(group: &[AccountId], n: u32, rounds: u32) -> f64 {
		let hits = (0..rounds)
			.filter(|i| {
				Workers::select(0, &[], seed(*i), n, Demand::JurySeat)
					.iter()
					.any(|w| group.contains(w))
			})
			.count();
		hits as f64 / rounds as f64
	}

	#[test]
	fn splitting_a_bond_over_accounts_does_not_raise_the_chance_of_being_drawn() {
		let rounds = 20_000;
		// One account with 400 against two with 300 each.
		let (single_1, single_2) = new_test_ext().execute_with(|| {
			worker(1, 400, &[0]);
			worker(2, 300, &[0]);
			worker(3, 300, &[0]);
			(group_chance(&[1], 1, rounds), group_chance(&[1], 2, rounds))
		});
		// The same 400 split over two accounts.
		let (split_1, split_2) = new_test_ext().execute_with(|| {
			worker(1, 200, &[0]);
			worker(4, 200, &[0]);
			worker(2, 300, &[0]);
			worker(3, 300, &[0]);
			(
				group_chance(&[1, 4], 1, rounds),
				group_chance(&[1, 4], 2, rounds),
			)
		});
		// Exact: one draw 0.4; two draws 1 - P(both others) = 1 - 2 * 0.3 * 0.3 / 0.7.
		let exact_2 = 1.0 - 2.0 * 0.3 * 0.3 / 0.7;
		println!(
			"chance of the 40% holder being drawn: single {single_1:.4} / split {split_1:.4} \
			 (exact 0.4); in a pair: single {single_2:.4} / split {split_2:.4} (exact {exact_2:.4})"
		);
		let tol_1 = tolerance(rounds, 0.4) / rounds as f64;
		let tol_2 = tolerance(rounds, exact_2) / rounds as f64;
		for (measured, exact, tol) in [
			(single_1, 0.4, tol_1),
			(split_1, 0.4, tol_1),
			(single_2, exact_2, tol_2),
			(split_2, exact_2, tol_2),
		] {
			assert!((measured - exact).abs() < tol, "{measured} vs {exact}");
		}
	}

	/// How often `group` wins at least `wanted` of 3 seats, and its mean seat count, over
	/// `rounds` seeds.
	fn seat_chance(group: &[AccountId], wanted: u32, rounds: u32) -> (f64, f64) {
		let mut hits = 0u32;
		let mut seats = 0u32;
		for i in 0..rounds {
			let (drawn, _) = Workers::draw_seats(0, &[], seed(i), 3);
			let won: u32 = drawn
				.iter()
				.filter(|(w, _)| group.contains(w))
				.map(|(_, n)| n)
				.sum();
			seats += won;
			hits += u32::from(won >= wanted);
		}
		(
			hits as f64 / rounds as f64,
			seats as f64 / (3 * rounds) as f64,
		)
	}

	#[test]
	fn jury_seats_are_drawn_with_replacement_and_splitting_wins_no_seats() {
		let rounds = 20_000;
		// 15% of the bond in one account, then the same 15% in two accounts of 7.5% (the mock's
		// index holds four workers).
		let single = new_test_ext().execute_with(|| {
			worker(1, 1_500, &[0]);
			worker(2, 4_250, &[0]);
			worker(3, 4_250, &[0]);
			let (drawn, pool) = Workers::draw_seats(0, &[], seed(7), 3);
			assert_eq!(pool, 10_000, "the pool's bond");
			assert_eq!(drawn.iter().map(|(_, n)| n).sum::<u32>(), 3, "three seats");
			assert_eq!(
				drawn,
				Workers::draw_seats(0, &[], seed(7), 3).0,
				"same seed"
			);
			assert_eq!(Workers::draw_seats(0, &[2, 3], seed(7), 3).0, vec![(1, 3)]);
			assert!(Workers::draw_seats(0, &[1, 2, 3], seed(7), 3).0.is_empty());
			seat_chance(&[1], 2, rounds)
		});
		let split = new_test_ext().execute_with(|| {
			for w in [1, 4] {
				worker(w, 750, &[0]);
			}
			worker(2, 4_250, &[0]);
			worker(3, 4_250, &[0]);
			seat_chance(&[1, 4], 2, rounds)
		});
		// Binomial(3, 0.15): P(at least 2) = 3 * 0.15^2 * 0.85 + 0.15^3.
		let exact = 3.0 * 0.15f64.powi(2) * 0.85 + 0.15f64.powi(3);
		println!(
			"15% of the bond, 3 seats: at least 2 seats single {:.4} / split over 2 {:.4} \
			 (exact {exact:.4}); seat share single {:.4} / split {:.4} (exact 0.15)",
			single.0, split.0, single.1, split.1
		);
		let tol = tolerance(rounds, exact) / rounds as f64;
		let tol_share = tolerance(3 * rounds, 0.15) / (3 * rounds) as f64;
		for (chance, share) in [single, split] {
			assert!((chance - exact).abs() < tol, "{chance} vs {exact}");
			assert!((share - 0.15).abs() < tol_share, "{share} vs 0.15");
		}
	}

	#[test]
	fn excluded_paused_and_underbonded_workers_are_never_drawn() {
		test(|| {
			for w in 1..=4 {
				worker(w, 1_000, &[0]);
			}
			assert_ok!(Workers::pause(signed(2)));
			Workers::slash(
				&3,
				SlashAmount::Exact(950),
				FaultKind::WrongResult,
				SlashDestination::Burn,
			);
			assert_ok!(Workers::note_job_started(&4, 0, Demand::Job(900)));
			for i in 0..500 {
				let drawn = Workers::select(0, &[1], seed(i), 4, Demand::JurySeat);
				assert!(drawn == vec![4], "draw {i}: {drawn:?}");
				let with_free = Workers::select(0, &[], seed(i), 4, Demand::Job(200));
				assert_eq!(with_free, vec![1], "only worker 1 has 200 unreserved");
			}
			assert_eq!(Workers::eligible_count(0, &[], Demand::JurySeat), 2);
			assert_eq!(Workers::eligible_count(0, &[], Demand::Job(200)), 1);
			Workers::note_job_finished(&4, 0, Demand::Job(900), true, true);
		});
	}

	#[test]
	fn the_free_bond_filter_keeps_draws_proportional_among_the_rest() {
		test(|| {
			worker(1, 100, &[0]);
			worker(2, 300, &[0]);
			worker(3, 600, &[0]);
			assert_ok!(Workers::note_job_started(&3, 0, Demand::Job(600)));
			let rounds = 10_000;
			let ones = (0..rounds)
				.filter(|i| Workers::select(0, &[], seed(*i), 1, Demand::Job(50)) == vec![1])
				.count() as f64;
			// Among workers 1 and 2 (bond 100 and 300), worker 1 has a 25% chance.
			assert!((ones - 2_500.0).abs() < tolerance(rounds, 0.25), "{ones}");
			Workers::note_job_finished(&3, 0, Demand::Job(600), true, true);
		});
	}
}

mod genesis {
	use super::*;
	use sp_runtime::BuildStorage;

	#[test]
	fn genesis_registers_and_bonds_workers() {
		let mut storage = frame_system::GenesisConfig::<Test>::default()
			.build_storage()
			.unwrap();
		pallet_balances::GenesisConfig::<Test> {
			balances: vec![(1, 1_000), (2, 1_000)],
			..Default::default()
		}
		.assimilate_storage(&mut storage)
		.unwrap();
		// The registry's approved models (the thread-local table) must exist first.
		new_test_ext().execute_with(|| ());
		crate::GenesisConfig::<Test> {
			workers: vec![
				(1, 500, vec![(0, 3), (1, 1)], [1; 32]),
				(2, 200, vec![(1, 2)], [2; 32]),
			],
		}
		.assimilate_storage(&mut storage)
		.unwrap();
		sp_io::TestExternalities::new(storage).execute_with(|| {
			assert_eq!(held(1), 500);
			assert_eq!(index(1), vec![(1, 500), (2, 200)]);
			assert_eq!(Workers::receipt_key(&2), Some(receipt_key(2)));
			let capacities: Vec<(ModelId, u32)> = Registered::<Test>::get(1)
				.expect("registered")
				.models
				.iter()
				.map(|s| (s.model, s.capacity))
				.collect();
			assert_eq!(capacities, vec![(0, 3), (1, 1)]);
			Workers::do_try_state().expect("the books balance");
		});
	}
}

mod capacity_and_squatting {
	use super::*;

	#[test]
	fn a_job_needs_a_free_slot_a_jury_seat_takes_one_regardless() {
		test(|| {
			worker(1, 1_000, &[0, 1]);
			worker(2, 1_000, &[0]);
			assert_ok!(Workers::note_job_started(&1, 0, Demand::Job(10)));
			assert_ok!(Workers::note_job_started(&1, 0, Demand::Job(10)));
			assert_noop!(
				Workers::note_job_started(&1, 0, Demand::Job(10)),
				Error::<Test>::NoFreeCapacity
			);
			// The other model's slots are its own.
			assert_ok!(Workers::note_job_started(&1, 1, Demand::Job(10)));
			// A full worker is never drawn for a job, but still for a jury seat.
			for i in 0..200 {
				assert_eq!(
					Workers::select(0, &[], seed(i), 2, Demand::Job(10)),
					vec![2]
				);
			}
			assert_eq!(Workers::eligible_count(0, &[], Demand::Job(10)), 1);
			assert_eq!(Workers::eligible_count(0, &[], Demand::JurySeat), 2);
			// Worker 2 sits on a jury (a slot), then a job fills it; nothing more fits.
			assert_ok!(Workers::note_job_started(&2, 0, Demand::JurySeat));
			assert_ok!(Workers::note_job_started(&2, 0, Demand::Job(10)));
			assert_ok!(Workers::note_job_started(&2, 0, Demand::JurySeat));
			assert_noop!(
				Workers::note_job_started(&2, 0, Demand::Job(10)),
				Error::<Test>::NoFreeCapacity
			);
			assert_eq!(Workers::eligible_count(0, &[], Demand::Job(10)), 0);
			let in_flight = Workers::in_flight(&2);
			assert_eq!(
				(in_flight.reserved, in_flight.count, in_flight.busy),
				(10, 3, vec![(0, 3)])
			);
			// A job served with a model not registered is refused.
			assert_noop!(
				Workers::note_job_started(&2, 1, Demand::JurySeat),
				Error::<Test>::NotRegistered
			);
			// Finishing frees the slot.
			Workers::note_job_finished(&1, 0, Demand::Job(10), true, true);
			assert_eq!(Workers::eligible_count(0, &[], Demand::Job(10)), 1);
			Workers::note_job_finished(&1, 0, Demand::Job(10), true, true);
			Workers::note_job_finished(&1, 1, Demand::Job(10), true, true);
			Workers::note_job_finished(&2, 0, Demand::JurySeat, true, false);
			Workers::note_job_finished(&2, 0, Demand::Job(10), true, true);
			Workers::note_job_finished(&2, 0, Demand::JurySeat, true, false);
			assert_eq!(ledger(2).jobs_in_flight, 0);
		});
	}

	#[test]
	fn an_answered_job_frees_its_slot_but_keeps_its_bond_reserved() {
		test(|| {
			worker(1, 1_000, &[0]);
			for _ in 0..CAPACITY {
				assert_ok!(Workers::note_job_started(&1, 0, Demand::Job(100)));
			}
			assert_eq!(Workers::eligible_count(0, &[], Demand::Job(100)), 0);
			// Both answered: the machine is free for more, the bond still covers both.
			Workers::note_slot_freed(&1, 0);
			Workers::note_slot_freed(&1, 0);
			assert_eq!(Workers::eligible_count(0, &[], Demand::Job(100)), 1);
			let in_flight = Workers::in_flight(&1);
			assert_eq!((in_flight.reserved, in_flight.count), (200, 2));
			assert_eq!(in_flight.busy, vec![(0, 0)]);
			assert_noop!(Workers::deregister(signed(1)), Error::<Test>::JobsInFlight);
			Workers::note_job_finished(&1, 0, Demand::Job(100), false, true);
			Workers::note_job_finished(&1, 0, Demand::Job(100), false, true);
			assert_eq!((ledger(1).reserved, ledger(1).jobs_in_flight), (0, 0));
		});
	}

	#[test]
	fn capacities_are_checked_and_a_busy_model_cannot_be_dropped() {
		test(|| {
			assert_ok!(Workers::bond(signed(1), 1_000));
			let with = |capacity| {
				BoundedVec::try_from(vec![ModelCapacity { model: 0, capacity }]).unwrap()
			};
			assert_noop!(
				Workers::register_worker(signed(1), with(0), receipt_key(1)),
				Error::<Test>::ZeroCapacity
			);
			assert_noop!(
				Workers::register_worker(signed(1), with(9), receipt_key(1)),
				Error::<Test>::CapacityTooLarge
			);
			assert_ok!(Workers::register_worker(signed(1), with(8), receipt_key(1)));
			assert_ok!(Workers::note_job_started(&1, 0, Demand::Job(10)));
			assert_noop!(
				Workers::set_models(signed(1), models(&[1])),
				Error::<Test>::ModelInUse
			);
			// Lowering the capacity keeps what is in flight.
			assert_ok!(Workers::set_models(signed(1), with(1)));
			let served = Registered::<Test>::get(1).unwrap().models[0];
			assert_eq!((served.capacity, served.busy), (1, 1));
			assert_noop!(
				Workers::note_job_started(&1, 0, Demand::Job(10)),
				Error::<Test>::NoFreeCapacity
			);
			Workers::note_job_finished(&1, 0, Demand::Job(10), true, true);
		});
	}

	#[test]
	fn a_stronger_bond_takes_the_weakest_slot_of_a_full_index() {
		test(|| {
			// Four squatters fill model 0's index (MaxWorkersPerModel = 4); one is paused.
			worker(1, MIN_BOND, &[0, 1]);
			for w in 2..=4 {
				worker(w, MIN_BOND, &[0]);
			}
			assert_ok!(Workers::pause(signed(3)));
			// An equal bond cannot take a live slot, but the paused squatter weighs nothing.
			assert_ok!(Workers::bond(signed(6), MIN_BOND));
			assert_ok!(Workers::register_worker(
				signed(6),
				models(&[0]),
				receipt_key(6)
			));
			assert!(deposited(Event::WorkerEvicted {
				who: 3,
				model: 0,
				by: 6
			}));
			assert_eq!(
				served(3),
				Vec::<ModelId>::new(),
				"the squatter serves nothing now"
			);
			assert_eq!(held(3), MIN_BOND, "its bond stays until unbonded");
			assert_ok!(Workers::deregister(signed(3)));
			// Now every slot weighs MIN_BOND: another equal bond is refused.
			assert_ok!(Workers::bond(signed(7), MIN_BOND));
			assert_noop!(
				Workers::register_worker(signed(7), models(&[0]), receipt_key(7)),
				Error::<Test>::ModelWorkersFull
			);
			// A weakest worker with a job of the model in flight keeps its slot...
			for w in [1, 2, 4, 6] {
				assert_ok!(Workers::note_job_started(&w, 0, Demand::Job(1)));
			}
			assert_ok!(Workers::bond(signed(8), 1_000));
			assert_noop!(
				Workers::register_worker(signed(8), models(&[0]), receipt_key(8)),
				Error::<Test>::ModelWorkersFull
			);
			// ...and loses it once the job is done. Worker 1 serves model 1 too: it stays
			// registered for that one.
			Workers::note_job_finished(&1, 0, Demand::Job(1), true, true);
			assert_ok!(Workers::register_worker(
				signed(8),
				models(&[0]),
				receipt_key(8)
			));
			assert!(deposited(Event::WorkerEvicted {
				who: 1,
				model: 0,
				by: 8
			}));
			assert_eq!(served(1), vec![1]);
			assert_eq!(index(0).len(), 4);
			assert!(index(0).iter().all(|(w, _)| *w != 1));
			for w in [2, 4, 6] {
				Workers::note_job_finished(&w, 0, Demand::Job(1), true, true);
			}
		});
	}

	#[test]
	fn a_worker_that_misses_a_deadline_or_a_reveal_is_paused_until_it_resumes() {
		test(|| {
			worker(1, 1_000, &[0]);
			worker(2, 1_000, &[0]);
			Workers::slash(
				&1,
				SlashAmount::Exact(10),
				FaultKind::MissedDeadline,
				SlashDestination::Treasury,
			);
			assert_eq!(
				Registered::<Test>::get(1).unwrap().status,
				WorkerStatus::Paused
			);
			assert!(deposited(Event::WorkerPaused { who: 1 }));
			assert_eq!(index(0), vec![(1, 0), (2, 1_000)], "no longer drawn");
			Workers::slash(
				&2,
				SlashAmount::Exact(10),
				FaultKind::JurorNoReveal,
				SlashDestination::Treasury,
			);
			assert_eq!(
				Registered::<Test>::get(2).unwrap().status,
				WorkerStatus::Paused
			);
			// A wrong vote or result is not absence: no pause (the slash speaks).
			assert_ok!(Workers::resume(signed(1)));
			Workers::slash(
				&1,
				SlashAmount::Exact(10),
				FaultKind::JurorMinority,
				SlashDestination::Treasury,
			);
			assert_eq!(
				Registered::<Test>::get(1).unwrap().status,
				WorkerStatus::Active
			);
			assert_eq!(index(0), vec![(1, 980), (2, 0)]);
		});
	}

	#[test]
	fn a_worker_with_jobs_in_flight_cannot_withdraw() {
		test(|| {
			worker(1, 300, &[0]);
			assert_ok!(Workers::unbond(signed(1), 100));
			assert_ok!(Workers::note_job_started(&1, 0, Demand::JurySeat));
			run_to(1 + UNBONDING);
			assert_noop!(
				Workers::withdraw_unbonded(signed(1)),
				Error::<Test>::JobsInFlight
			);
			Workers::note_job_finished(&1, 0, Demand::JurySeat, true, false);
			assert_ok!(Workers::withdraw_unbonded(signed(1)));
			assert_eq!(held(1), 200);
		});
	}

	#[test]
	fn try_state_catches_more_busy_slots_than_jobs_in_flight() {
		test(|| {
			worker(1, 300, &[0]);
			assert_ok!(Workers::note_job_started(&1, 0, Demand::Job(5)));
			Registered::<Test>::mutate(1, |info| {
				info.as_mut().unwrap().models[0].busy = 2;
			});
			assert_eq!(
				Workers::do_try_state(),
				Err("more busy slots than jobs in flight".into())
			);
			Registered::<Test>::mutate(1, |info| {
				info.as_mut().unwrap().models[0].busy = 1;
			});
			Workers::note_job_finished(&1, 0, Demand::Job(5), true, true);
		});
	}
}
