//! The attacks of the Market attacks issue, each written as the attacker would run it, and the
//! books corrupted once per invariant to see `do_try_state` catch it.
//!
//! Each test names what the attacker gained on the code before the fix; the assertions are what
//! it gets now.

use codec::Encode;
use verity_primitives::workers::{Demand, Slashing};

use super::*;
use crate::{PastJurors, SettlementCursor, Timeout, Timeouts};

/// Answers every job assigned to `worker` that has no result yet: an honest machine that keeps
/// up with what it is given.
fn answer_all(worker: AccountId, output: &JobOutput) -> u32 {
	let mine: Vec<JobId> = crate::Jobs::<Test>::iter()
		.filter(
			|(_, job)| matches!(&job.status, JobStatus::Assigned { worker: w, .. } if *w == worker),
		)
		.map(|(id, _)| id)
		.collect();
	for job_id in &mine {
		answer_with(*job_id, output);
	}
	mine.len() as u32
}

// ---------------------------------------------------------------------------------------------
// 1. Flooding a worker
// ---------------------------------------------------------------------------------------------

/// Before: 200 minimum-fee jobs in one burst were all assigned to the one worker at once (a job
/// needed only its fee of free bond); a machine that can run two at a time missed the rest and
/// was slashed 1% of its whole stake for each, while the attacker got every fee back.
/// Now: only the two its capacity holds reach it, the others are refunded at the draw, and the
/// worker loses nothing.
#[test]
fn a_burst_of_minimum_fee_jobs_cannot_get_a_worker_slashed() {
	run_test(|| {
		no_audits();
		register_with_capacity(1, BOND, &[GENERATE], 2);
		let attacker = BOB;
		let before = Balances::balance(&attacker);
		for _ in 0..200 {
			assert_ok!(Jobs::submit_job(
				RuntimeOrigin::signed(attacker),
				GENERATE,
				prompt("flood"),
				MIN_FEE
			));
		}
		// The hook settles MaxSettlementsPerBlock (16) entries a block; the machine answers what
		// it holds every block.
		let truth = answer("4");
		let mut answered = 0;
		for _ in 0..(200 / 16 + 2) {
			run_to_block(System::block_number() + 1);
			let busy = pallet_workers::Workers::<Test>::get(1).unwrap().models[0].busy;
			assert!(busy <= 2, "never more than its capacity to compute: {busy}");
			answered += answer_all(1, &truth);
		}
		let end = System::block_number() + default_params().challenge_window + 1;
		run_to_block(end);
		assert_eq!(faults(1, FaultKind::MissedDeadline), 0);
		assert_eq!(stake(1), BOND, "the worker loses nothing");
		let refunded = events()
			.iter()
			.filter(|e| {
				matches!(
					e,
					Event::JobRefunded {
						reason: RefundReason::NoWorker,
						..
					}
				)
			})
			.count() as u32;
		assert_eq!(answered + refunded, 200);
		assert!(answered >= 2);
		// The attacker paid for every job it got answered, to the unit (deposits still held).
		let kept = crate::Jobs::<Test>::iter().count() as Balance;
		assert_eq!(
			Balances::balance(&attacker),
			before - MIN_FEE * answered as Balance - kept * Jobs::deposit_for(&prompt("flood"))
		);
	});
}

#[test]
fn a_missed_deadline_costs_a_multiple_of_the_fee_not_a_share_of_the_stake() {
	run_test(|| {
		register(1, &[GENERATE]);
		let treasury = Balances::balance(&TREASURY);
		let job_id = submit(ALICE, MIN_FEE);
		run_to_block(1 + DELAY + default_params().execution_window + 1);
		let penalty = MIN_FEE * default_params().missed_deadline_multiple as Balance;
		assert_eq!(stake(1), BOND - penalty);
		assert_eq!(Balances::balance(&TREASURY), treasury + penalty);
		assert!(events().contains(&Event::WorkerSlashed {
			job_id,
			who: 1,
			fault: FaultKind::MissedDeadline,
			amount: penalty
		}));
	});
}

/// A juror's seat takes a slot of its capacity until it votes, so a worker re-executing for a
/// jury is not handed more jobs than it can run; an answered job frees its worker's slot.
#[test]
fn a_juror_gets_no_new_job_until_it_has_voted() {
	run_test(|| {
		// A long commit phase: the juror could take its time re-executing.
		set_params(|p| {
			p.audit_rate = Perbill::zero();
			p.jury_commit_window = 50;
		});
		for w in [1, 2, 3] {
			register_with_capacity(w, BOND, &[GENERATE], 1);
		}
		let job_id = submit(ALICE, 100);
		let truth = answer("4");
		answer_with(job_id, &truth);
		challenge(CHALLENGER, job_id);
		let juror = jury(job_id)[0];
		for entropy in 0..12 {
			MockRandomness::set_entropy(entropy);
			let next = submit(BOB, 100);
			assert_ne!(
				assigned_worker(next),
				juror,
				"the juror's one slot is taken"
			);
			answer_with(next, &truth);
		}
		let vote = vote_for(&truth, &truth);
		assert_ok!(Jobs::commit_vote(
			RuntimeOrigin::signed(juror),
			job_id,
			vote_commitment(&juror, job_id, &vote, &[1; 32])
		));
		let drawn: Vec<AccountId> = (12..40)
			.map(|entropy| {
				MockRandomness::set_entropy(entropy);
				let next = submit(BOB, 100);
				answer_with(next, &truth)
			})
			.collect();
		assert!(
			drawn.contains(&juror),
			"free again once it has voted: {drawn:?}"
		);
	});
}

// ---------------------------------------------------------------------------------------------
// 2. The cancel race
// ---------------------------------------------------------------------------------------------

/// Before: the submitter read the result from the pool and a tipped `cancel_job` ordered first
/// refunded the whole fee; the answer was kept and the worker unpaid.
/// Now: once a worker is drawn the cancel is refused, the result lands, the worker is paid.
#[test]
fn a_cancel_ordered_before_the_result_in_the_same_block_refunds_nothing() {
	run_test(|| {
		no_audits();
		register(1, &[GENERATE]);
		let job_id = submit(ALICE, 100);
		let alice = Balances::balance(&ALICE);
		// Same block: the cancel first (tipped), then the worker's result.
		assert_noop!(
			Jobs::cancel_job(RuntimeOrigin::signed(ALICE), job_id),
			JobsError::NotCancellable
		);
		answer_with(job_id, &answer("4"));
		let JobStatus::Committed { settle_at, .. } = status(job_id) else {
			panic!("committed");
		};
		let worker = Balances::balance(&1);
		run_to_block(settle_at);
		assert_eq!(Balances::balance(&ALICE), alice, "no refund");
		assert_eq!(held_fee(ALICE), 0);
		assert_eq!(Balances::balance(&1), worker + 90, "the worker is paid");
	});
}

// ---------------------------------------------------------------------------------------------
// 3. The settlement queue
// ---------------------------------------------------------------------------------------------

/// Before: 16 entries fitted in a block with an 8-block spill; filling it made `submit_job` and
/// an honest `submit_result` fail with `SchedulerFull`.
/// Now: a burst of three blocks' worth of work is accepted, settled in order over the next
/// blocks, and every honest call goes through.
#[test]
fn a_full_settlement_queue_fails_no_honest_call_and_drains_in_order() {
	run_test(|| {
		no_audits();
		register_all(&[1, 2, 3, 4]);
		let burst = 48u64;
		for _ in 0..burst {
			submit_pending(BOB, MIN_FEE);
		}
		// Their draws are due in block 3 (the draw delay), which settles 16 entries; the rest
		// wait, oldest first.
		run_to_block(1 + DELAY);
		let assigned = || {
			crate::Jobs::<Test>::iter()
				.filter(|(_, job)| matches!(job.status, JobStatus::Assigned { .. }))
				.count()
		};
		assert_eq!(assigned(), 16);
		assert_eq!(
			SettlementCursor::<Test>::get(),
			3,
			"block 3 still has entries"
		);
		// An honest worker answers in the meantime: nothing refuses it.
		let first = (0..burst)
			.find(|id| matches!(status(*id), JobStatus::Assigned { .. }))
			.unwrap();
		answer_with(first, &answer("4"));
		// Blocks 4 and 5 settle 32 more; block 6 the answered job's audit draw, due in block 5.
		run_to_block(5);
		assert_eq!(assigned(), 47);
		assert_eq!(SettlementCursor::<Test>::get(), 4);
		run_to_block(6);
		assert_eq!(SettlementCursor::<Test>::get(), 7);
		// The answered job's audit draw (block 5) waited behind the burst but was not lost.
		assert!(matches!(
			status(first),
			JobStatus::Committed {
				audit_decided: true,
				..
			}
		));
	});
}

/// Before: cancelled and revealed entries stayed in the queue, taking room.
/// Now: an entry leaves with its reason, and the queue holds one entry per job and commitment.
#[test]
fn an_entry_leaves_the_queue_when_its_reason_is_gone() {
	run_test(|| {
		no_audits();
		register_all(&[1, 2, 3, 4]);
		let entries = || Timeouts::<Test>::iter_keys().collect::<Vec<_>>();
		let job_id = submit_pending(ALICE, 100);
		assert_eq!(entries(), vec![(1 + DELAY, Timeout::Job(job_id))]);
		run_to_block(1 + DELAY);
		let deadline = 1 + DELAY + default_params().execution_window;
		assert_eq!(entries(), vec![(deadline + 1, Timeout::Job(job_id))]);
		answer_with(job_id, &answer("4"));
		assert_eq!(
			entries(),
			vec![(1 + 2 * DELAY, Timeout::Job(job_id))],
			"the deadline entry is gone; the audit draw is due"
		);
		let salt = [4u8; 32];
		let commitment = challenge_commitment(&CHALLENGER, job_id, &salt);
		assert_ok!(Jobs::commit_challenge(
			RuntimeOrigin::signed(CHALLENGER),
			commitment
		));
		let expiry = 1 + DELAY + default_params().challenge_commit_ttl + 1;
		assert!(entries().contains(&(expiry, Timeout::Commitment(commitment))));
		run_to_block(2 + DELAY);
		assert_ok!(Jobs::reveal_challenge(
			RuntimeOrigin::signed(CHALLENGER),
			job_id,
			salt
		));
		let JobStatus::Disputed { resolve_at, .. } = status(job_id) else {
			panic!("disputed");
		};
		assert_eq!(
			resolve_at,
			2 + 2 * DELAY,
			"the jury is drawn after the draw delay"
		);
		assert_eq!(
			entries(),
			vec![(resolve_at, Timeout::Job(job_id))],
			"the commitment's expiry and the window's end are gone"
		);
		// A cancelled job keeps only its pruning entry.
		let cancelled = submit_pending(ALICE, 100);
		assert_ok!(Jobs::cancel_job(RuntimeOrigin::signed(ALICE), cancelled));
		let prune_at = 2 + DELAY + default_params().result_retention;
		assert!(entries().contains(&(prune_at, Timeout::Job(cancelled))));
		assert_eq!(entries().len(), 2);
	});
}

/// Before: ~9 VRT of challenge commitments whose expiries landed on one block filled it, so the
/// audit juries of that block could not be seated (their resolution found no room) and the audit
/// was skipped: a cheater could choose a block in which its lie went unaudited.
/// Now: the commitments' expiries wait their turn and the audit is drawn, late but drawn.
#[test]
fn expiring_commitments_cannot_crowd_out_an_audit() {
	run_test(|| {
		register_all(&[1, 2, 3, 4]);
		set_params(|p| p.audit_rate = Perbill::one());
		let job_id = submit(ALICE, 100);
		// The worker will answer in block 6, so the audit is drawn in block 8; the attacker's
		// commitments, made now (block 3), expire there too (3 + ttl 4 + 1).
		assert_eq!(
			1 + DELAY + default_params().challenge_commit_ttl + 1,
			6 + DELAY
		);
		for attacker in 200..220u64 {
			assert_ok!(Balances::transfer_allow_death(
				RuntimeOrigin::signed(BOB),
				attacker,
				2 * default_params().challenge_bond + 1
			));
			for salt in 0..2u8 {
				assert_ok!(Jobs::commit_challenge(
					RuntimeOrigin::signed(attacker),
					verity_primitives::blake2_256(&(attacker, salt).encode())
				));
			}
		}
		run_to_block(6);
		answer_with(job_id, &answer("5"));
		assert_eq!(Timeouts::<Test>::iter_prefix(6 + DELAY).count(), 41);
		run_to_block(11);
		assert!(events().contains(&Event::AuditStarted { job_id }));
		assert!(events()
			.iter()
			.any(|e| matches!(e, Event::JuryDrawn { job_id: j, .. } if *j == job_id)));
		assert!(matches!(
			status(job_id),
			JobStatus::Disputed {
				challenger: None,
				..
			}
		));
		assert_eq!(
			crate::Commitments::<Test>::iter().count(),
			0,
			"all 40 forfeited"
		);
	});
}

// ---------------------------------------------------------------------------------------------
// 4. Silence
// ---------------------------------------------------------------------------------------------

/// Before: a jury that did not reveal ended the dispute without a verdict; the submitter was
/// refunded and the worker unpaid, so a briber needed only one jury's silence.
/// Now: the silent jurors are slashed and a fresh jury without them decides.
#[test]
fn a_silent_jury_is_slashed_and_replaced_by_a_fresh_one() {
	run_test(|| {
		no_audits();
		register_all(&[1, 2, 3, 4, 5, 6]);
		let job_id = submit(ALICE, 100);
		let lie = answer("5");
		let truth = answer("4");
		let liar = answer_with(job_id, &lie);
		challenge(CHALLENGER, job_id);
		let silent = seats(job_id);
		let seat_stake = crate::Juries::<Test>::get(job_id).unwrap().seat_stake;
		assert_eq!(
			seat_stake,
			5 * BOND / 3,
			"the bond of the five workers other than the liar, over three seats"
		);
		run_jury(job_id, |_| None);
		for (juror, held) in &silent {
			assert_eq!(faults(*juror, FaultKind::JurorNoReveal), 1);
			assert_eq!(
				stake(*juror),
				BOND - Perbill::from_percent(2) * seat_stake * *held as Balance,
				"2% of a seat's stake per seat held"
			);
		}
		let JobStatus::Disputed {
			round: 1,
			by_council: false,
			jury_pending: true,
			..
		} = status(job_id)
		else {
			panic!("a second jury, drawn after the delay: {:?}", status(job_id));
		};
		run_to_next_settlement(job_id);
		let second = seats(job_id);
		assert_eq!(second.iter().map(|(_, n)| n).sum::<u32>(), 3, "three seats");
		assert!(second
			.iter()
			.all(|(j, _)| !silent.iter().any(|(s, _)| s == j) && *j != liar));
		let silent_accounts: Vec<AccountId> = silent.iter().map(|(j, _)| *j).collect();
		assert_eq!(
			PastJurors::<Test>::get(job_id).unwrap().to_vec(),
			silent_accounts
		);
		run_jury(job_id, |_| Some(vote_for(&truth, &lie)));
		assert_eq!(faults(liar, FaultKind::WrongResult), 1);
		assert!(matches!(
			status(job_id),
			JobStatus::Refunded {
				reason: RefundReason::ResultRejected,
				..
			}
		));
		assert!(PastJurors::<Test>::get(job_id).is_none());
	});
}

/// Every jury silent: the council decides; bribing jurors alone never ends a dispute.
#[test]
fn after_the_last_silent_jury_the_council_decides() {
	run_test(|| {
		no_audits();
		register_all(&[1, 2, 3, 4, 5, 6]);
		let job_id = submit(ALICE, 100);
		let liar = answer_with(job_id, &answer("5"));
		challenge(CHALLENGER, job_id);
		run_jury(job_id, |_| None);
		run_jury(job_id, |_| None);
		let JobStatus::Disputed {
			by_council: true,
			round: 2,
			..
		} = status(job_id)
		else {
			panic!("referred to the council: {:?}", status(job_id));
		};
		let silenced = (1..=6)
			.filter(|w| faults(*w, FaultKind::JurorNoReveal) == 1)
			.count();
		let distinct = PastJurors::<Test>::get(job_id).map_or(0, |past| past.len());
		assert!(distinct >= 2, "two juries, each at least one juror");
		assert_eq!(
			silenced, distinct,
			"every juror of both juries, slashed once"
		);
		assert_ok!(Jobs::decide_dispute(RuntimeOrigin::root(), job_id, false));
		assert_eq!(faults(liar, FaultKind::WrongResult), 1);
	});
}

// ---------------------------------------------------------------------------------------------
// The books, corrupted once per invariant
// ---------------------------------------------------------------------------------------------

#[test]
fn try_state_catches_each_broken_invariant() {
	new_test_ext().execute_with(|| {
		no_audits();
		register_all(&[1, 2, 3, 4]);
		let job_id = submit(ALICE, 100);
		let worker = answer_with(job_id, &answer("4"));
		challenge(CHALLENGER, job_id);
		let juror = jury(job_id)[0];
		assert_ok!(Jobs::do_try_state());

		type Corruption = (&'static str, fn(JobId, AccountId, AccountId));
		let corruptions: Vec<Corruption> = vec![
			(
				"held fees differ from the fees of jobs in flight",
				|_, _, _| {
					let _ = <Balances as frame_support::traits::fungible::MutateHold<_>>::hold(
						&HoldReason::JobFee.into(),
						&ALICE,
						1,
					);
				},
			),
			(
				"held deposits differ from the deposits of jobs kept",
				|job_id, _, _| {
					crate::Jobs::<Test>::mutate(job_id, |job| job.as_mut().unwrap().deposit += 1)
				},
			),
			(
				"a job has no entry in the settlement queue at its next settlement",
				|job_id, _, _| {
					let at = crate::Jobs::<Test>::get(job_id).unwrap().next_settlement;
					Timeouts::<Test>::remove(at, Timeout::Job(job_id));
				},
			),
			(
				"a queue entry for a job that is not due then",
				|job_id, _, _| Timeouts::<Test>::insert(500, Timeout::Job(job_id), ()),
			),
			("a queue entry before the settlement cursor", |_, _, _| {
				SettlementCursor::<Test>::put(1_000)
			}),
			(
				"a worker's reserved bond differs from the collateral of its jobs in flight",
				|_, worker, _| {
					pallet_workers::Ledgers::<Test>::mutate(worker, |l| {
						l.as_mut().unwrap().reserved += 1
					})
				},
			),
			(
				"a worker's jobs in flight differ from its jobs and jury seats",
				|_, _, juror| {
					// The juror's seat forgotten by the worker pallet.
					Workers::note_job_finished(&juror, GENERATE, Demand::JurySeat, true, false);
				},
			),
			(
				"a parameter set's job count differs from the jobs in flight under it",
				|_, _, _| {
					crate::ParamsInUse::<Test>::mutate(0, |in_use| {
						in_use.as_mut().unwrap().jobs += 1
					})
				},
			),
			(
				"a job in flight under a parameter set not in use",
				|_, _, _| crate::ParamsInUse::<Test>::remove(0),
			),
			("past jurors outlived their dispute", |_, _, juror| {
				PastJurors::<Test>::insert(
					77,
					crate::PastJurorsOf::<Test>::truncate_from(vec![juror]),
				)
			}),
		];
		for (message, corrupt) in corruptions {
			frame_support::storage::with_transaction(|| {
				corrupt(job_id, worker, juror);
				assert_eq!(
					Jobs::do_try_state(),
					Err(sp_runtime::TryRuntimeError::Other(message)),
					"{message}"
				);
				sp_runtime::TransactionOutcome::Rollback(Ok::<(), DispatchError>(()))
			})
			.unwrap();
			assert_ok!(Jobs::do_try_state());
		}
	});
}

/// A copy of a challenger's commitment hash, committed first by another account, neither opens
/// a dispute for the challenger on someone else's bond nor strands that bond: the reveal finds no
/// commitment of the caller, and the copier's bond is forfeited when the copy expires.
#[test]
fn a_copied_commitment_committed_first_is_not_the_challengers() {
	run_test(|| {
		no_audits();
		register_all(&[1, 2, 3, 4]);
		let job_id = submit(ALICE, 100);
		answer_with(job_id, &answer("5"));
		let salt = [5u8; 32];
		let commitment = challenge_commitment(&CHALLENGER, job_id, &salt);
		// Bob copies the hash from the pool and is ordered first.
		assert_ok!(Jobs::commit_challenge(
			RuntimeOrigin::signed(BOB),
			commitment
		));
		assert_noop!(
			Jobs::commit_challenge(RuntimeOrigin::signed(CHALLENGER), commitment),
			JobsError::CommitmentExists
		);
		run_to_block(System::block_number() + 1);
		assert_noop!(
			Jobs::reveal_challenge(RuntimeOrigin::signed(CHALLENGER), job_id, salt),
			JobsError::UnknownCommitment
		);
		// The challenger commits again with another salt and reveals.
		challenge(CHALLENGER, job_id);
		assert!(matches!(
			status(job_id),
			JobStatus::Disputed {
				challenger: Some(CHALLENGER),
				..
			}
		));
		let bob = Balances::balance(&BOB);
		run_to_block(System::block_number() + default_params().challenge_commit_ttl + 1);
		assert_eq!(held_bond(BOB), 0);
		assert_eq!(
			Balances::balance(&BOB),
			bob,
			"the copy's bond was forfeited"
		);
	});
}
