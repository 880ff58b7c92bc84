//! Tests of the job market against the real worker pallet: every call and its refusals, the
//! settlement paths, and the attacks the scheme must withstand. Each test ends with both pallets'
//! `do_try_state` and an unchanged total issuance ([`run_test`]). Here: submitting, cancelling,
//! results, deadlines and challenges; juries, audits, parameters and the liar simulation are in
//! `tests/disputes.rs`, the attacks of the Market attacks issue in `tests/attacks.rs`, the
//! off-chain worker in `tests/offchain.rs`.

use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold},
};
use sp_runtime::{DispatchError, Perbill};
use verity_primitives::{
	job::{Embedding, JobInput, JobOutput},
	receipt::JobId,
	workers::FaultKind,
	Hash,
};

use crate::{
	commitments::{challenge_commitment, vote_commitment},
	mock::*,
	DisputeOutcome, Error, Event, HoldReason, JobStatus, RefundReason, Vote,
};

mod attacks;
mod disputes;
mod draws;
mod economics;
mod offchain;

type JobsError = Error<Test>;

fn events() -> Vec<Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::Jobs(event) => Some(event),
			_ => None,
		})
		.collect()
}

fn held_fee(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::JobFee.into(), &who)
}

fn held_bond(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::ChallengeBond.into(), &who)
}

fn status(job_id: JobId) -> JobStatus<AccountId, u64> {
	pallet_jobs_storage::job(job_id).status
}

mod pallet_jobs_storage {
	use super::*;
	pub fn job(job_id: JobId) -> crate::JobOf<Test> {
		crate::Jobs::<Test>::get(job_id).expect("the job exists")
	}
}

fn assigned_worker(job_id: JobId) -> AccountId {
	match status(job_id) {
		JobStatus::Assigned { worker, .. } => worker,
		other => panic!("job {job_id} is not assigned: {other:?}"),
	}
}

/// Sets parameters directly (tests may use sets the economic check would refuse).
fn set_params(change: impl FnOnce(&mut crate::JobParams<Balance, u64>)) {
	let mut params = default_params();
	change(&mut params);
	if crate::Pallet::<Test>::check_params(&params).is_err() {
		crate::mock::PARAMS_FORCED.with(|forced| *forced.borrow_mut() = true);
	}
	crate::Params::<Test>::put(params);
}

/// No audits, so a test sees only what it sets up.
fn no_audits() {
	set_params(|p| p.audit_rate = Perbill::zero());
}

/// Registers each of `workers` (with [`BOND`]) for the generation model.
fn register_all(workers: &[AccountId]) {
	for worker in workers {
		register(*worker, &[GENERATE]);
	}
}

/// Submits a generation job from `who` with `fee` and leaves it pending; returns its id.
fn submit_pending(who: AccountId, fee: Balance) -> JobId {
	let job_id = crate::NextJobId::<Test>::get();
	assert_ok!(Jobs::submit_job(
		RuntimeOrigin::signed(who),
		GENERATE,
		prompt("What is 2 + 2?"),
		fee
	));
	job_id
}

/// Submits a generation job from `who` with `fee` and moves to the block whose hook draws its
/// worker (the draw delay later); returns its id.
fn submit(who: AccountId, fee: Balance) -> JobId {
	let job_id = submit_pending(who, fee);
	run_to_next_settlement(job_id);
	job_id
}

/// Moves to the block whose hook looks at `job_id` next.
fn run_to_next_settlement(job_id: JobId) {
	run_to_block(pallet_jobs_storage::job(job_id).next_settlement);
}

/// The draw delay of the test parameters.
const DELAY: u64 = 2;

/// The deposit of a job submitted by [`submit`].
fn deposit() -> Balance {
	Jobs::deposit_for(&prompt("What is 2 + 2?"))
}

fn held_deposit(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::JobDeposit.into(), &who)
}

/// The assigned worker answers `output`.
fn answer_with(job_id: JobId, output: &JobOutput) -> AccountId {
	let worker = assigned_worker(job_id);
	assert_ok!(Jobs::submit_result(
		RuntimeOrigin::signed(worker),
		job_id,
		output.clone(),
		sign(worker, job_id, output)
	));
	worker
}

/// Commits and reveals a challenge of `job_id` by `who`.
fn challenge(who: AccountId, job_id: JobId) {
	let salt = [who as u8; 32];
	assert_ok!(Jobs::commit_challenge(
		RuntimeOrigin::signed(who),
		challenge_commitment(&who, job_id, &salt)
	));
	run_to_block(System::block_number() + 1);
	assert_ok!(Jobs::reveal_challenge(
		RuntimeOrigin::signed(who),
		job_id,
		salt
	));
	// The jury is drawn after the draw delay.
	run_to_next_settlement(job_id);
}

fn jury(job_id: JobId) -> Vec<AccountId> {
	crate::Juries::<Test>::get(job_id)
		.expect("a jury sits")
		.members
		.iter()
		.map(|(juror, _)| *juror)
		.collect()
}

/// The jurors of `job_id` with their seats.
fn seats(job_id: JobId) -> Vec<(AccountId, u32)> {
	crate::Juries::<Test>::get(job_id)
		.expect("a jury sits")
		.members
		.iter()
		.map(|(juror, seat)| (*juror, seat.seats))
		.collect()
}

/// Every juror of `job_id` (drawn first if its draw is pending) commits the vote `vote_of` gives
/// it (`None`: it does not commit), reveals it after the commit phase, and the dispute is
/// resolved.
fn run_jury(job_id: JobId, vote_of: impl Fn(AccountId) -> Option<Vote>) {
	if matches!(
		status(job_id),
		JobStatus::Disputed {
			jury_pending: true,
			..
		}
	) {
		run_to_next_settlement(job_id);
	}
	let JobStatus::Disputed {
		commit_until,
		resolve_at,
		..
	} = status(job_id)
	else {
		panic!("job {job_id} is not disputed");
	};
	let jurors = jury(job_id);
	for juror in &jurors {
		if let Some(vote) = vote_of(*juror) {
			let salt = [*juror as u8 + 100; 32];
			assert_ok!(Jobs::commit_vote(
				RuntimeOrigin::signed(*juror),
				job_id,
				vote_commitment(juror, job_id, &vote, &salt)
			));
		}
	}
	run_to_block(commit_until + 1);
	for juror in &jurors {
		if let Some(vote) = vote_of(*juror) {
			let salt = [*juror as u8 + 100; 32];
			assert_ok!(Jobs::reveal_vote(
				RuntimeOrigin::signed(*juror),
				job_id,
				vote,
				salt
			));
		}
	}
	run_to_block(resolve_at);
}

fn vote_for(output: &JobOutput, claimed: &JobOutput) -> Vote {
	Vote {
		output_hash: output.hash(),
		confirms: output.hash() == claimed.hash(),
	}
}

fn faults(who: AccountId, kind: FaultKind) -> u32 {
	let faults = pallet_workers::Stats::<Test>::get(who).faults;
	match kind {
		FaultKind::MissedDeadline => faults.missed_deadline,
		FaultKind::WrongResult => faults.wrong_result,
		FaultKind::JurorNoReveal => faults.juror_no_reveal,
		FaultKind::JurorMinority => faults.juror_minority,
	}
}

fn stake(who: AccountId) -> Balance {
	Balances::balance_on_hold(&pallet_workers::HoldReason::Bond.into(), &who)
}

// ---------------------------------------------------------------------------------------------
// Submitting and cancelling
// ---------------------------------------------------------------------------------------------

#[test]
fn submit_job_holds_the_fee_and_assigns_a_serving_worker() {
	run_test(|| {
		register(1, &[GENERATE]);
		register(2, &[EMBED]);
		let before = Balances::balance(&ALICE);
		let job_id = submit_pending(ALICE, 100);
		assert_eq!(job_id, 0);
		assert_eq!(
			status(job_id),
			JobStatus::Pending { missed_by: None },
			"no worker is drawn in this block"
		);
		assert_eq!(held_fee(ALICE), 100);
		// The deposit pays for the SCALE-encoded input and the largest output it allows.
		let input = prompt("What is 2 + 2?");
		let bytes =
			(codec::Encode::encoded_size(&input) as u32 + input.max_output_len()) as Balance;
		assert_eq!(deposit(), DEPOSIT_BASE + DEPOSIT_PER_BYTE * bytes);
		assert_eq!(held_deposit(ALICE), deposit());
		assert_eq!(Balances::balance(&ALICE), before - 100 - deposit());
		run_to_block(DELAY);
		assert_eq!(
			status(job_id),
			JobStatus::Pending { missed_by: None },
			"the draw waits for two VRF outputs after the submission's block"
		);
		run_to_block(1 + DELAY);
		assert_eq!(assigned_worker(job_id), 1, "only worker 1 serves the model");
		assert_eq!(
			pallet_workers::Ledgers::<Test>::get(1).unwrap().reserved,
			20 * 100,
			"the job reserves its collateral, 20 × its fee, of the worker's bond"
		);
		let events = events();
		assert!(matches!(
			events[0],
			Event::JobSubmitted {
				job_id: 0,
				submitter: ALICE,
				fee: 100,
				assign_at: 3,
				..
			}
		));
		assert_eq!(
			events[1],
			Event::JobAssigned {
				job_id: 0,
				worker: 1,
				deadline: 1 + DELAY + default_params().execution_window
			}
		);
		assert_eq!(crate::NextJobId::<Test>::get(), 1);
	});
}

#[test]
fn bad_submissions_are_refused_with_a_named_error_and_change_nothing() {
	run_test(|| {
		register(1, &[GENERATE, EMBED]);
		let generate = prompt("hello");
		let cases: Vec<(AccountId, u32, JobInput, Balance, JobsError)> = vec![
			(
				ALICE,
				UNKNOWN,
				generate.clone(),
				100,
				JobsError::UnknownModel,
			),
			(
				ALICE,
				RETIRED,
				generate.clone(),
				100,
				JobsError::ModelRetired,
			),
			(
				ALICE,
				GENERATE,
				JobInput::Generate {
					prompt: Default::default(),
					max_tokens: 8,
				},
				100,
				JobsError::InvalidInput,
			),
			(
				ALICE,
				GENERATE,
				JobInput::Generate {
					prompt: b"hi".to_vec().try_into().unwrap(),
					max_tokens: 0,
				},
				100,
				JobsError::InvalidInput,
			),
			(
				ALICE,
				EMBED,
				generate.clone(),
				100,
				JobsError::WrongInputKind,
			),
			(
				ALICE,
				GENERATE,
				generate.clone(),
				MIN_FEE - 1,
				JobsError::FeeBelowMinimum,
			),
			(
				ALICE,
				GENERATE,
				generate.clone(),
				1_001,
				JobsError::FeeAboveMaximum,
			),
			(
				POOR,
				GENERATE,
				generate.clone(),
				15,
				JobsError::InsufficientBalance,
			),
			(
				1,
				GENERATE,
				generate.clone(),
				100,
				JobsError::NoWorkerAvailable,
			),
		];
		for (who, model, input, fee, error) in cases {
			assert_noop!(
				Jobs::submit_job(RuntimeOrigin::signed(who), model, input, fee),
				error
			);
		}
		// The fee floor of the market applies under a lower model floor.
		set_params(|p| p.min_job_fee = 50);
		assert_noop!(
			Jobs::submit_job(RuntimeOrigin::signed(ALICE), GENERATE, generate.clone(), 49),
			JobsError::FeeBelowMinimum
		);
		assert_eq!(held_fee(ALICE), 0);
		assert_eq!(held_deposit(ALICE), 0);
		assert_eq!(crate::NextJobId::<Test>::get(), 0);
	});
}

#[test]
fn a_worker_whose_free_bond_cannot_cover_the_collateral_is_not_drawn() {
	run_test(|| {
		register_with_bond(1, MIN_BOND, &[GENERATE]);
		set_params(|p| p.max_job_fee = 2_500);
		// Collateral 20 × 1_250 = 25_000: two such jobs fill a minimum bond of 50_000.
		let fee = 1_250;
		submit(ALICE, fee);
		submit(ALICE, fee);
		assert_eq!(
			pallet_workers::Ledgers::<Test>::get(1).unwrap().reserved,
			MIN_BOND
		);
		assert_noop!(
			Jobs::submit_job(RuntimeOrigin::signed(BOB), GENERATE, prompt("x"), fee),
			JobsError::NoWorkerAvailable
		);
	});
}

#[test]
fn the_submitter_cancels_for_a_full_refund_only_while_no_worker_is_drawn() {
	run_test(|| {
		register(1, &[GENERATE]);
		let before = Balances::balance(&ALICE);
		let first = submit_pending(ALICE, 100);
		assert_noop!(
			Jobs::cancel_job(RuntimeOrigin::signed(BOB), first),
			JobsError::NotSubmitter
		);
		assert_noop!(
			Jobs::cancel_job(RuntimeOrigin::signed(ALICE), 7),
			JobsError::UnknownJob
		);
		assert_ok!(Jobs::cancel_job(RuntimeOrigin::signed(ALICE), first));
		assert_eq!(
			Balances::balance(&ALICE),
			before - deposit(),
			"the deposit waits for pruning"
		);
		assert_eq!(held_fee(ALICE), 0);
		assert!(
			pallet_workers::Ledgers::<Test>::get(1)
				.unwrap()
				.jobs_in_flight
				== 0
		);
		assert!(matches!(
			status(first),
			JobStatus::Refunded {
				reason: RefundReason::Cancelled,
				..
			}
		));
		run_to_block(1 + DELAY);
		assert_eq!(
			pallet_workers::Ledgers::<Test>::get(1)
				.unwrap()
				.jobs_in_flight,
			0,
			"a cancelled job is never assigned"
		);

		// Assigned: the worker may be answering; no cancel, with or without a result.
		let second = submit(ALICE, 100);
		assert_noop!(
			Jobs::cancel_job(RuntimeOrigin::signed(ALICE), second),
			JobsError::NotCancellable
		);
		answer_with(second, &answer("4"));
		assert_noop!(
			Jobs::cancel_job(RuntimeOrigin::signed(ALICE), second),
			JobsError::NotCancellable
		);
	});
}

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

#[test]
fn only_the_assigned_worker_answers_before_the_deadline_with_a_valid_receipt() {
	run_test(|| {
		no_audits();
		register(1, &[GENERATE]);
		register(2, &[EMBED]);
		let job_id = submit(ALICE, 100);
		let output = answer("4");
		let good = sign(1, job_id, &output);
		assert_noop!(
			Jobs::submit_result(
				RuntimeOrigin::signed(2),
				job_id,
				output.clone(),
				sign(2, job_id, &output)
			),
			JobsError::NotAssignedWorker
		);
		assert_noop!(
			Jobs::submit_result(RuntimeOrigin::signed(1), job_id, answer("5"), good),
			JobsError::BadReceipt
		);
		assert_noop!(
			Jobs::submit_result(
				RuntimeOrigin::signed(1),
				job_id,
				output.clone(),
				sign(2, job_id, &output)
			),
			JobsError::BadReceipt
		);
		let embedded = JobOutput::embedded(vec![Embedding::from_f32(&[0.5]).unwrap()]).unwrap();
		assert_noop!(
			Jobs::submit_result(
				RuntimeOrigin::signed(1),
				job_id,
				embedded.clone(),
				sign(1, job_id, &embedded)
			),
			JobsError::WrongOutputKind
		);
		let not_utf8 = JobOutput::Generated {
			token_ids: Default::default(),
			text: vec![0xff].try_into().unwrap(),
		};
		assert_noop!(
			Jobs::submit_result(
				RuntimeOrigin::signed(1),
				job_id,
				not_utf8.clone(),
				sign(1, job_id, &not_utf8)
			),
			JobsError::InvalidOutput
		);
		assert_noop!(
			Jobs::submit_result(RuntimeOrigin::signed(1), 9, output.clone(), good),
			JobsError::UnknownJob
		);

		let deadline = 1 + DELAY + default_params().execution_window;
		run_to_block(deadline);
		assert_ok!(Jobs::submit_result(
			RuntimeOrigin::signed(1),
			job_id,
			output.clone(),
			good
		));
		assert!(matches!(
			status(job_id),
			JobStatus::Committed { worker: 1, .. }
		));
		assert_eq!(crate::Results::<Test>::get(job_id).unwrap().output, output);
		assert_noop!(
			Jobs::submit_result(RuntimeOrigin::signed(1), job_id, output.clone(), good),
			JobsError::NotAssigned
		);
	});
}

#[test]
fn a_result_after_the_deadline_is_refused() {
	run_test(|| {
		register(1, &[GENERATE]);
		let job_id = submit(ALICE, 100);
		let output = answer("4");
		let signature = sign(1, job_id, &output);
		let deadline = 1 + DELAY + default_params().execution_window;
		System::set_block_number(deadline + 1);
		assert_noop!(
			Jobs::submit_result(RuntimeOrigin::signed(1), job_id, output, signature),
			JobsError::DeadlinePassed
		);
	});
}

#[test]
fn an_unchallenged_result_finalizes_and_pays_the_worker_minus_the_protocol_share() {
	run_test(|| {
		no_audits();
		register(1, &[GENERATE]);
		let worker_before = Balances::balance(&1);
		let treasury_before = Balances::balance(&TREASURY);
		let job_id = submit(ALICE, 200);
		answer_with(job_id, &answer("4"));
		let JobStatus::Committed { settle_at, .. } = status(job_id) else {
			panic!("not committed");
		};
		run_to_block(settle_at - 1);
		assert!(
			matches!(status(job_id), JobStatus::Committed { .. }),
			"window still open"
		);
		run_to_block(settle_at);
		assert!(matches!(
			status(job_id),
			JobStatus::Finalized { worker: 1, .. }
		));
		assert_eq!(Balances::balance(&1), worker_before + 180);
		assert_eq!(Balances::balance(&TREASURY), treasury_before + 20);
		assert_eq!(
			held_deposit(ALICE),
			deposit(),
			"kept until the record is pruned"
		);
		assert_eq!(held_fee(ALICE), 0);
		let ledger = pallet_workers::Ledgers::<Test>::get(1).unwrap();
		assert_eq!((ledger.reserved, ledger.jobs_in_flight), (0, 0));
		assert_eq!(pallet_workers::Stats::<Test>::get(1).jobs_done, 1);
		assert!(events().contains(&Event::JobFinalized {
			job_id,
			worker: 1,
			output_hash: answer("4").hash(),
			paid: 180
		}));
	});
}

#[test]
fn settled_jobs_are_pruned_after_the_retention_period() {
	run_test(|| {
		no_audits();
		register(1, &[GENERATE]);
		let job_id = submit(ALICE, 100);
		answer_with(job_id, &answer("4"));
		let JobStatus::Committed { settle_at, .. } = status(job_id) else {
			panic!("not committed");
		};
		run_to_block(settle_at);
		let JobStatus::Finalized { prune_at, .. } = status(job_id) else {
			panic!("not finalized");
		};
		assert_eq!(prune_at, settle_at + default_params().result_retention);
		run_to_block(prune_at - 1);
		assert!(
			crate::Results::<Test>::contains_key(job_id),
			"kept for re-verification"
		);
		let alice = Balances::balance(&ALICE);
		run_to_block(prune_at);
		assert!(!crate::Jobs::<Test>::contains_key(job_id));
		assert!(!crate::Results::<Test>::contains_key(job_id));
		assert!(events().contains(&Event::JobPruned {
			job_id,
			deposit: deposit()
		}));
		assert_eq!(held_deposit(ALICE), 0);
		assert_eq!(Balances::balance(&ALICE), alice + deposit());
		assert_eq!(
			crate::Timeouts::<Test>::iter().count(),
			0,
			"nothing left in the queue"
		);
	});
}

// ---------------------------------------------------------------------------------------------
// Missed deadlines
// ---------------------------------------------------------------------------------------------

#[test]
fn a_withholding_worker_is_slashed_and_the_job_reassigned_once_then_refunded() {
	run_test(|| {
		register(1, &[GENERATE]);
		register(2, &[GENERATE]);
		let before = Balances::balance(&ALICE);
		let job_id = submit(ALICE, 100);
		let first = assigned_worker(job_id);
		let second = if first == 1 { 2 } else { 1 };
		run_to_block(1 + DELAY + default_params().execution_window + 1);
		assert_eq!(faults(first, FaultKind::MissedDeadline), 1);
		assert_eq!(
			stake(first),
			BOND - 2 * 100,
			"twice the fee, not a share of the stake"
		);
		assert_eq!(
			pallet_workers::Workers::<Test>::get(first).unwrap().status,
			pallet_workers::WorkerStatus::Paused,
			"not drawn again until it resumes"
		);
		assert_eq!(
			status(job_id),
			JobStatus::Pending {
				missed_by: Some(first)
			},
			"the second worker is drawn after the draw delay"
		);
		assert_noop!(
			Jobs::cancel_job(RuntimeOrigin::signed(ALICE), job_id),
			JobsError::NotCancellable
		);
		run_to_next_settlement(job_id);
		assert_eq!(
			assigned_worker(job_id),
			second,
			"reassigned to the other worker"
		);
		assert_eq!(
			pallet_workers::Ledgers::<Test>::get(first)
				.unwrap()
				.jobs_in_flight,
			0
		);

		let JobStatus::Assigned {
			deadline,
			reassigned: true,
			..
		} = status(job_id)
		else {
			panic!("not reassigned");
		};
		run_to_block(deadline + 1);
		assert_eq!(faults(second, FaultKind::MissedDeadline), 1);
		assert!(matches!(
			status(job_id),
			JobStatus::Refunded {
				reason: RefundReason::NoWorker,
				..
			}
		));
		assert_eq!(
			Balances::balance(&ALICE),
			before - deposit(),
			"the submitter loses nothing (the deposit comes back at pruning)"
		);
	});
}

#[test]
fn a_missed_deadline_with_no_other_worker_refunds_at_once() {
	run_test(|| {
		register(1, &[GENERATE]);
		let job_id = submit(ALICE, 100);
		run_to_block(1 + DELAY + default_params().execution_window + 1);
		assert!(matches!(
			status(job_id),
			JobStatus::Refunded {
				reason: RefundReason::NoWorker,
				..
			}
		));
		assert_eq!(held_fee(ALICE), 0);
	});
}

// ---------------------------------------------------------------------------------------------
// Challenges
// ---------------------------------------------------------------------------------------------

#[test]
fn a_copied_challenge_reveal_from_another_account_fails() {
	run_test(|| {
		no_audits();
		register_all(&[1, 2, 3, 4]);
		let job_id = submit(ALICE, 100);
		let worker = answer_with(job_id, &answer("5"));
		let salt = [42u8; 32];
		let commitment = challenge_commitment(&CHALLENGER, job_id, &salt);
		assert_ok!(Jobs::commit_challenge(
			RuntimeOrigin::signed(CHALLENGER),
			commitment
		));
		assert_eq!(held_bond(CHALLENGER), default_params().challenge_bond);
		assert_noop!(
			Jobs::commit_challenge(RuntimeOrigin::signed(BOB), commitment),
			JobsError::CommitmentExists
		);
		assert_noop!(
			Jobs::reveal_challenge(RuntimeOrigin::signed(CHALLENGER), job_id, salt),
			JobsError::RevealTooEarly
		);
		run_to_block(2 + DELAY);
		// Bob saw the reveal in the pool and sends the same job and salt first: his hash differs.
		assert_noop!(
			Jobs::reveal_challenge(RuntimeOrigin::signed(BOB), job_id, salt),
			JobsError::UnknownCommitment
		);
		assert_ok!(Jobs::reveal_challenge(
			RuntimeOrigin::signed(CHALLENGER),
			job_id,
			salt
		));
		assert!(matches!(
			status(job_id),
			JobStatus::Disputed {
				challenger: Some(CHALLENGER),
				by_council: false,
				jury_pending: true,
				..
			}
		));
		assert!(
			crate::Juries::<Test>::get(job_id).is_none(),
			"the jury is drawn after the draw delay, not by the reveal"
		);
		run_to_next_settlement(job_id);
		let drawn = seats(job_id);
		assert_eq!(drawn.iter().map(|(_, n)| n).sum::<u32>(), 3, "three seats");
		assert!(![worker, CHALLENGER, ALICE]
			.iter()
			.any(|a| drawn.iter().any(|(juror, _)| juror == a)));
	});
}

#[test]
fn a_lying_worker_is_slashed_the_submitter_refunded_and_the_challenger_rewarded() {
	run_test(|| {
		no_audits();
		register_all(&[1, 2, 3, 4]);
		let alice_before = Balances::balance(&ALICE);
		let challenger_before = Balances::balance(&CHALLENGER);
		let job_id = submit(ALICE, 100);
		let lie = answer("5");
		let truth = answer("4");
		let liar = answer_with(job_id, &lie);
		challenge(CHALLENGER, job_id);
		let jurors = jury(job_id);
		let juror_before: Vec<Balance> = jurors.iter().map(Balances::balance).collect();
		run_jury(job_id, |_| Some(vote_for(&truth, &lie)));

		let slashed = 20 * 100;
		assert_eq!(
			stake(liar),
			BOND - slashed,
			"20 × the fee, from its collateral"
		);
		assert_eq!(faults(liar, FaultKind::WrongResult), 1);
		assert!(matches!(
			status(job_id),
			JobStatus::Refunded {
				reason: RefundReason::ResultRejected,
				..
			}
		));
		assert_eq!(
			Balances::balance(&ALICE),
			alice_before - deposit(),
			"fully refunded (the deposit comes back at pruning)"
		);
		assert_eq!(held_bond(CHALLENGER), 0);
		assert_eq!(
			Balances::balance(&CHALLENGER),
			challenger_before + slashed / 2,
			"bond back plus the winner's share"
		);
		let jury_share = slashed * 3 / 10;
		for (juror, before) in jurors.iter().zip(juror_before) {
			assert_eq!(Balances::balance(juror), before + jury_share / 3);
		}
		assert!(events().contains(&Event::DisputeResolved {
			job_id,
			outcome: DisputeOutcome::ResultRejected,
			confirming: 0,
			rejecting: 3
		}));
	});
}

#[test]
fn a_frivolous_challenger_loses_its_bond_to_the_worker_jurors_and_treasury() {
	run_test(|| {
		no_audits();
		register_all(&[1, 2, 3, 4]);
		let job_id = submit(ALICE, 100);
		let truth = answer("4");
		let worker = answer_with(job_id, &truth);
		let worker_before = Balances::balance(&worker);
		let challenger_before = Balances::balance(&CHALLENGER);
		challenge(CHALLENGER, job_id);
		run_jury(job_id, |_| Some(vote_for(&truth, &truth)));

		let bond = default_params().challenge_bond;
		assert_eq!(Balances::balance(&CHALLENGER), challenger_before - bond);
		assert_eq!(held_bond(CHALLENGER), 0);
		assert!(matches!(status(job_id), JobStatus::Finalized { .. }));
		// Half the bond and the fee minus the protocol share (which the jurors get).
		assert_eq!(Balances::balance(&worker), worker_before + bond / 2 + 90);
		assert_eq!(stake(worker), BOND, "an honest worker is not slashed");
	});
}

#[test]
fn many_frivolous_challenges_cost_one_bond_each_and_the_job_still_settles() {
	run_test(|| {
		no_audits();
		register_all(&[1, 2, 3, 4]);
		let job_id = submit(ALICE, 100);
		let truth = answer("4");
		answer_with(job_id, &truth);
		challenge(CHALLENGER, job_id);
		// A second challenger reveals after the dispute started: bond back, no second dispute.
		let salt = [9u8; 32];
		assert_ok!(Jobs::commit_challenge(
			RuntimeOrigin::signed(BOB),
			challenge_commitment(&BOB, job_id, &salt)
		));
		run_to_block(System::block_number() + 1);
		assert_ok!(Jobs::reveal_challenge(
			RuntimeOrigin::signed(BOB),
			job_id,
			salt
		));
		assert_eq!(held_bond(BOB), 0);
		assert!(events().contains(&Event::ChallengeWithdrawn {
			job_id,
			challenger: BOB
		}));
		run_jury(job_id, |_| Some(vote_for(&truth, &truth)));
		assert!(matches!(status(job_id), JobStatus::Finalized { .. }));
		assert!(System::block_number() <= 1 + MAX_LIFETIME);
	});
}

#[test]
fn an_unrevealed_challenge_commitment_forfeits_its_bond() {
	run_test(|| {
		let before = Balances::balance(&CHALLENGER);
		let treasury = Balances::balance(&TREASURY);
		let commitment = Hash::repeat_byte(5);
		assert_ok!(Jobs::commit_challenge(
			RuntimeOrigin::signed(CHALLENGER),
			commitment
		));
		assert_ok!(Jobs::commit_challenge(
			RuntimeOrigin::signed(CHALLENGER),
			Hash::repeat_byte(6)
		));
		assert_noop!(
			Jobs::commit_challenge(RuntimeOrigin::signed(CHALLENGER), Hash::repeat_byte(7)),
			JobsError::TooManyCommitments
		);
		let bond = default_params().challenge_bond;
		run_to_block(1 + default_params().challenge_commit_ttl + 1);
		assert_eq!(Balances::balance(&CHALLENGER), before - 2 * bond);
		assert_eq!(Balances::balance(&TREASURY), treasury + 2 * bond);
		assert_eq!(crate::OpenCommitments::<Test>::get(CHALLENGER), 0);
		assert!(events().contains(&Event::ChallengeForfeited {
			commitment,
			challenger: CHALLENGER,
			bond
		}));
	});
}

#[test]
fn a_challenge_of_a_job_without_result_is_refused() {
	run_test(|| {
		register(1, &[GENERATE]);
		let job_id = submit(ALICE, 100);
		let salt = [1u8; 32];
		assert_ok!(Jobs::commit_challenge(
			RuntimeOrigin::signed(CHALLENGER),
			challenge_commitment(&CHALLENGER, job_id, &salt)
		));
		run_to_block(2 + DELAY);
		assert_noop!(
			Jobs::reveal_challenge(RuntimeOrigin::signed(CHALLENGER), job_id, salt),
			JobsError::NotChallengeable
		);
	});
}
