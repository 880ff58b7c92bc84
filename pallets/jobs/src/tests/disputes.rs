//! Juries, audits and liveness, the council's parameters, the liar simulation, and disputes over
//! a tolerance-policy model.

use super::*;

/// The stake one seat of a jury stands for: the bond of the pool its seats were drawn from
/// (`pool`: the eligible workers), over the jury's seats.
fn seat_stake(pool: &[AccountId], jury_seats: u32) -> Balance {
	pool.iter().map(|worker| stake(*worker)).sum::<Balance>() / Balance::from(jury_seats)
}

/// Moves to the block whose hook draws whether the committed result of `job_id` is audited
/// (the draw delay after the result); returns it.
fn run_to_audit_draw(job_id: JobId) -> u64 {
	let JobStatus::Committed { audit_draw_at, .. } = status(job_id) else {
		panic!("job {job_id} is not committed: {:?}", status(job_id));
	};
	run_to_block(audit_draw_at);
	audit_draw_at
}

// ---------------------------------------------------------------------------------------------
// Juries
// ---------------------------------------------------------------------------------------------

#[test]
fn a_juror_who_commits_and_does_not_reveal_is_slashed_for_silence() {
	run_test(|| {
		no_audits();
		register_all(&[1, 2, 3, 4]);
		let job_id = submit(ALICE, 100);
		let truth = answer("4");
		let worker = answer_with(job_id, &truth);
		challenge(CHALLENGER, job_id);
		let jurors = jury(job_id);
		// The juror with the most seats stays silent: it pays for each of them.
		let (silent, silent_seats) = seats(job_id)
			.into_iter()
			.max_by_key(|(juror, n)| (*n, core::cmp::Reverse(*juror)))
			.expect("a juror");
		// The seats were drawn from every worker but the accused: three bonds over three seats.
		let pool: Vec<AccountId> = [1, 2, 3, 4].into_iter().filter(|w| *w != worker).collect();
		let seat_stake = seat_stake(&pool, 3);
		let salt = [3u8; 32];
		let vote = vote_for(&truth, &truth);
		assert_ok!(Jobs::commit_vote(
			RuntimeOrigin::signed(silent),
			job_id,
			vote_commitment(&silent, job_id, &vote, &salt)
		));
		run_jury(job_id, |juror| (juror != silent).then_some(vote));
		assert_eq!(faults(silent, FaultKind::JurorNoReveal), 1);
		assert_eq!(
			stake(silent),
			BOND - default_params().slash_juror_silent * seat_stake * Balance::from(silent_seats),
			"2 % of a seat's stake per seat it held"
		);
		for juror in jurors.iter().filter(|juror| **juror != silent) {
			assert_eq!(stake(*juror), BOND);
		}
		assert!(matches!(status(job_id), JobStatus::Finalized { .. }));
	});
}

#[test]
fn a_colluding_minority_of_jurors_is_outvoted_and_slashed() {
	run_test(|| {
		no_audits();
		register_all(&[1, 2, 3, 4, 5, 6]);
		set_params(|p| {
			p.audit_rate = Perbill::zero();
			p.jury_size = 5;
		});
		let job_id = submit(ALICE, 100);
		let lie = answer("5");
		let truth = answer("4");
		let liar = answer_with(job_id, &lie);
		challenge(CHALLENGER, job_id);
		let seated = seats(job_id);
		assert_eq!(seated.iter().map(|(_, n)| n).sum::<u32>(), 5, "five seats");
		// The seats were drawn from every worker but the accused: five bonds over five seats.
		let pool: Vec<AccountId> = WORKERS.into_iter().filter(|w| *w != liar).collect();
		let seat_stake = seat_stake(&pool, 5);
		// The colluders: jurors holding two of the five seats together, fewest seats first.
		let mut by_seats = seated.clone();
		by_seats.sort_by_key(|(juror, n)| (*n, *juror));
		let mut colluders = Vec::new();
		for (juror, n) in by_seats {
			if colluders.iter().map(|(_, n)| n).sum::<u32>() + n <= 2 {
				colluders.push((juror, n));
			}
		}
		assert_eq!(
			colluders.iter().map(|(_, n)| n).sum::<u32>(),
			2,
			"the draw {seated:?} lets jurors hold two seats together"
		);
		let colluding = |juror: AccountId| colluders.iter().any(|(who, _)| *who == juror);
		let before: Vec<Balance> = seated
			.iter()
			.map(|(juror, _)| Balances::balance(juror))
			.collect();
		run_jury(job_id, |juror| {
			Some(if colluding(juror) {
				vote_for(&lie, &lie)
			} else {
				vote_for(&truth, &lie)
			})
		});
		assert_eq!(faults(liar, FaultKind::WrongResult), 1);
		for (colluder, n) in &colluders {
			assert_eq!(faults(*colluder, FaultKind::JurorMinority), 1);
			assert_eq!(
				stake(*colluder),
				BOND - default_params().slash_juror * seat_stake * Balance::from(*n),
				"1 % of a seat's stake per seat it held"
			);
		}
		// The majority (three seats) shares the jury's part of the liar's slash by seats.
		let per_seat = default_params().jury_share * (20 * 100) / 3;
		for ((juror, n), before) in seated.iter().zip(before) {
			if colluding(*juror) {
				assert_eq!(Balances::balance(juror), before, "a colluder earns nothing");
			} else {
				assert_eq!(stake(*juror), BOND);
				assert_eq!(
					Balances::balance(juror),
					before + per_seat * Balance::from(*n)
				);
			}
		}
		assert!(events().contains(&Event::DisputeResolved {
			job_id,
			outcome: DisputeOutcome::ResultRejected,
			confirming: 2,
			rejecting: 3
		}));
	});
}

#[test]
fn votes_are_checked_against_phases_commitments_and_the_exact_policy() {
	run_test(|| {
		no_audits();
		register_all(&[1, 2, 3, 4]);
		let job_id = submit(ALICE, 100);
		let lie = answer("5");
		let truth = answer("4");
		answer_with(job_id, &lie);
		challenge(CHALLENGER, job_id);
		let juror = jury(job_id)[0];
		let salt = [8u8; 32];
		// Claims to confirm while reporting another hash: inconsistent under an exact policy.
		let inconsistent = Vote {
			output_hash: truth.hash(),
			confirms: true,
		};
		assert_noop!(
			Jobs::commit_vote(RuntimeOrigin::signed(CHALLENGER), job_id, Hash::zero()),
			JobsError::NotAJuror
		);
		assert_ok!(Jobs::commit_vote(
			RuntimeOrigin::signed(juror),
			job_id,
			vote_commitment(&juror, job_id, &inconsistent, &salt)
		));
		assert_noop!(
			Jobs::commit_vote(RuntimeOrigin::signed(juror), job_id, Hash::zero()),
			JobsError::AlreadyCommitted
		);
		assert_noop!(
			Jobs::reveal_vote(RuntimeOrigin::signed(juror), job_id, inconsistent, salt),
			JobsError::RevealTooEarly
		);
		let JobStatus::Disputed { commit_until, .. } = status(job_id) else {
			panic!()
		};
		run_to_block(commit_until + 1);
		assert_noop!(
			Jobs::commit_vote(RuntimeOrigin::signed(jury(job_id)[1]), job_id, Hash::zero()),
			JobsError::CommitPhaseOver
		);
		assert_noop!(
			Jobs::reveal_vote(
				RuntimeOrigin::signed(jury(job_id)[1]),
				job_id,
				inconsistent,
				salt
			),
			JobsError::NotCommitted
		);
		assert_noop!(
			Jobs::reveal_vote(
				RuntimeOrigin::signed(juror),
				job_id,
				inconsistent,
				[9u8; 32]
			),
			JobsError::VoteMismatch
		);
		assert_noop!(
			Jobs::reveal_vote(RuntimeOrigin::signed(juror), job_id, inconsistent, salt),
			JobsError::InconsistentVote
		);
	});
}

// ---------------------------------------------------------------------------------------------
// Audits and liveness
// ---------------------------------------------------------------------------------------------

#[test]
fn an_audited_liar_is_caught_without_any_challenger_and_audit_jurors_are_paid() {
	run_test(|| {
		register_all(&[1, 2, 3, 4]);
		set_params(|p| p.audit_rate = Perbill::one());
		let job_id = submit(ALICE, 100);
		let lie = answer("5");
		let truth = answer("4");
		let liar = answer_with(job_id, &lie);
		let submitted_at = System::block_number();
		run_to_block(submitted_at + DELAY - 1);
		assert!(
			!events().contains(&Event::AuditStarted { job_id }),
			"the audit draw waits for the draw delay"
		);
		assert_eq!(run_to_audit_draw(job_id), submitted_at + DELAY);
		assert!(events().contains(&Event::AuditStarted { job_id }));
		assert!(matches!(
			status(job_id),
			JobStatus::Disputed {
				challenger: None,
				jury_pending: false,
				..
			}
		));
		let seated = seats(job_id);
		assert_eq!(seated.iter().map(|(_, n)| n).sum::<u32>(), 3, "three seats");
		assert!(!seated
			.iter()
			.any(|(juror, _)| *juror == liar || *juror == ALICE));
		let before: Vec<Balance> = seated
			.iter()
			.map(|(juror, _)| Balances::balance(juror))
			.collect();
		run_jury(job_id, |_| Some(vote_for(&truth, &lie)));
		assert_eq!(faults(liar, FaultKind::WrongResult), 1);
		// No challenger: the jurors get the jury's part of the slash, by seats.
		let per_seat = default_params().jury_share * (20 * 100) / 3;
		for ((juror, n), before) in seated.iter().zip(before) {
			assert_eq!(
				Balances::balance(juror),
				before + per_seat * Balance::from(*n)
			);
		}
		assert!(matches!(
			status(job_id),
			JobStatus::Refunded {
				reason: RefundReason::ResultRejected,
				..
			}
		));
	});
}

#[test]
fn an_audit_that_finds_nothing_pays_the_jurors_the_protocol_share() {
	run_test(|| {
		register_all(&[1, 2, 3, 4]);
		set_params(|p| p.audit_rate = Perbill::one());
		let job_id = submit(ALICE, 300);
		let truth = answer("4");
		let worker = answer_with(job_id, &truth);
		let worker_before = Balances::balance(&worker);
		run_to_audit_draw(job_id);
		assert!(events().contains(&Event::AuditStarted { job_id }));
		let seated = seats(job_id);
		assert_eq!(seated.iter().map(|(_, n)| n).sum::<u32>(), 3, "three seats");
		let before: Vec<Balance> = seated
			.iter()
			.map(|(juror, _)| Balances::balance(juror))
			.collect();
		run_jury(job_id, |_| Some(vote_for(&truth, &truth)));
		assert!(matches!(status(job_id), JobStatus::Finalized { .. }));
		assert_eq!(Balances::balance(&worker), worker_before + 270);
		for ((juror, n), before) in seated.iter().zip(before) {
			assert_eq!(
				Balances::balance(juror),
				before + 10 * Balance::from(*n),
				"a third of the 30 protocol share per seat"
			);
		}
	});
}

/// An audit no jury can sit for (the model's only worker is the accused) is not skipped: the
/// council decides it, so the detection rate is the audit rate on thin models too. A lie is
/// slashed exactly `wrong_result_multiple × fee`; a council that stays silent leaves the result
/// standing and paid.
#[test]
fn an_audit_on_a_single_worker_model_goes_to_the_council() {
	for council_rules in [true, false] {
		run_test(|| {
			register(1, &[GENERATE]);
			set_params(|p| p.audit_rate = Perbill::from_percent(50));
			MockRandomness::set_entropy(audited_entropy());
			let alice = Balances::balance(&ALICE);
			let worker = Balances::balance(&1);
			let treasury = Balances::balance(&TREASURY);
			let job_id = submit(ALICE, 100);
			answer_with(job_id, &answer("5"));
			run_to_audit_draw(job_id);
			assert!(events().contains(&Event::AuditStarted { job_id }));
			let JobStatus::Disputed {
				by_council: true,
				challenger: None,
				resolve_at,
				..
			} = status(job_id)
			else {
				panic!("the audit is not with the council: {:?}", status(job_id));
			};
			if council_rules {
				assert_ok!(Jobs::decide_dispute(RuntimeOrigin::root(), job_id, false));
				assert_eq!(faults(1, FaultKind::WrongResult), 1);
				assert_eq!(stake(1), BOND - 20 * 100, "20 × the fee");
				assert_eq!(Balances::balance(&ALICE), alice - deposit(), "fee refunded");
				assert_eq!(
					Balances::balance(&TREASURY),
					treasury + 20 * 100,
					"no challenger, no juror: the whole slash to the treasury"
				);
			} else {
				run_to_block(resolve_at);
				assert!(matches!(status(job_id), JobStatus::Finalized { .. }));
				assert_eq!(stake(1), BOND);
				assert_eq!(Balances::balance(&1), worker + 90);
			}
		});
	}
}

/// Entropy under which the mock's audit draw of the next job audits it at a 50 % rate.
fn audited_entropy() -> u64 {
	(0..64)
		.find(|entropy| {
			let mut found = false;
			frame_support::storage::with_transaction_unchecked(|| {
				MockRandomness::set_entropy(*entropy);
				let job_id = submit(ALICE, 100);
				answer_with(job_id, &answer("4"));
				run_to_audit_draw(job_id);
				found = events().contains(&Event::AuditStarted { job_id });
				frame_support::storage::TransactionOutcome::Rollback(())
			});
			found
		})
		.expect("half of all entropies audit")
}

#[test]
fn a_challenge_with_no_eligible_juror_goes_to_the_council() {
	run_test(|| {
		no_audits();
		register(1, &[GENERATE]);
		let job_id = submit(ALICE, 100);
		answer_with(job_id, &answer("5"));
		challenge(CHALLENGER, job_id);
		let JobStatus::Disputed {
			by_council: true, ..
		} = status(job_id)
		else {
			panic!("not referred to the council");
		};
		assert_noop!(
			Jobs::decide_dispute(RuntimeOrigin::signed(ALICE), job_id, false),
			DispatchError::BadOrigin
		);
		assert_noop!(
			Jobs::commit_vote(RuntimeOrigin::signed(1), job_id, Hash::zero()),
			JobsError::NotDisputed
		);
		let alice = Balances::balance(&ALICE);
		assert_ok!(Jobs::decide_dispute(RuntimeOrigin::root(), job_id, false));
		assert_eq!(faults(1, FaultKind::WrongResult), 1);
		assert_eq!(Balances::balance(&ALICE), alice + 100);
		assert_noop!(
			Jobs::decide_dispute(RuntimeOrigin::root(), job_id, true),
			JobsError::NotReferredToCouncil
		);
	});
}

/// The self-challenge attack: on a model with one worker, the submitter challenges its own job
/// from a second account; no jury can sit and the council stays silent. Before, the submitter
/// was refunded (free inference) and the worker unpaid; now a result nobody disproved is paid.
#[test]
fn a_council_that_does_not_rule_in_time_leaves_the_result_standing_and_paid() {
	run_test(|| {
		no_audits();
		register(1, &[GENERATE]);
		let alice = Balances::balance(&ALICE);
		let worker = Balances::balance(&1);
		let challenger = Balances::balance(&CHALLENGER);
		let job_id = submit(ALICE, 100);
		answer_with(job_id, &answer("4"));
		challenge(CHALLENGER, job_id);
		let JobStatus::Disputed { resolve_at, .. } = status(job_id) else {
			panic!()
		};
		run_to_block(resolve_at);
		assert!(matches!(
			status(job_id),
			JobStatus::Finalized { worker: 1, .. }
		));
		assert!(events().contains(&Event::DisputeResolved {
			job_id,
			outcome: DisputeOutcome::NoVerdict,
			confirming: 0,
			rejecting: 0
		}));
		assert_eq!(
			Balances::balance(&ALICE),
			alice - 100 - deposit(),
			"the fee is spent"
		);
		assert_eq!(Balances::balance(&1), worker + 90, "the worker is paid");
		assert_eq!(
			Balances::balance(&CHALLENGER),
			challenger,
			"bond back: no proof either way"
		);
		assert_eq!(stake(1), BOND, "no proof, no slash");
	});
}

// ---------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------

#[test]
fn the_council_changes_parameters_but_not_to_ones_where_cheating_pays() {
	run_test(|| {
		let ok = default_params();
		assert_noop!(
			Jobs::set_params(RuntimeOrigin::signed(ALICE), ok.clone()),
			DispatchError::BadOrigin
		);
		type Change = fn(&mut crate::JobParams<Balance, u64>);
		let refused: Vec<(Change, JobsError)> = vec![
			(|p| p.audit_rate = Perbill::zero(), JobsError::CheatingPays),
			// 5 % × 19 = 0.95 = 1 − 5 %: a lie gains exactly what it risks.
			(
				|p| {
					p.audit_rate = Perbill::from_percent(5);
					p.wrong_result_multiple = 19;
				},
				JobsError::CheatingPays,
			),
			// 10 % × 9 = 0.9 = 1 − 10 %.
			(|p| p.wrong_result_multiple = 9, JobsError::CheatingPays),
			(
				|p| p.wrong_result_multiple = 101,
				JobsError::WrongResultMultipleTooHigh,
			),
			(
				|p| p.missed_deadline_multiple = 11,
				JobsError::MissedDeadlineMultipleTooHigh,
			),
			(
				|p| p.audit_rate = Perbill::from_percent(51),
				JobsError::AuditRateTooHigh,
			),
			(
				|p| p.slash_juror = Perbill::from_percent(11),
				JobsError::JurorSlashTooHigh,
			),
			(
				|p| p.slash_juror_silent = Perbill::from_percent(11),
				JobsError::JurorSlashTooHigh,
			),
			(
				|p| p.slash_juror_silent = Perbill::from_rational(1u32, 200u32),
				JobsError::SilenceCheaperThanMinority,
			),
			(
				|p| p.protocol_share = Perbill::from_percent(51),
				JobsError::ProtocolShareTooHigh,
			),
			(
				|p| p.winner_share = Perbill::from_percent(9),
				JobsError::WinnerShareTooLow,
			),
			// 20 × 2_501 = 50_020 > the smallest bond, 50_000.
			(|p| p.max_job_fee = 2_501, JobsError::CollateralAboveMinBond),
			(
				|p| p.challenge_bond = 20_001,
				JobsError::ChallengeBondTooHigh,
			),
			(|p| p.jury_size = 4, JobsError::BadJurySize),
			(|p| p.jury_size = 7, JobsError::BadJurySize),
			(
				|p| p.execution_window = 1,
				JobsError::ExecutionWindowTooShort,
			),
			(
				|p| p.challenge_window = 1,
				JobsError::ChallengeWindowTooShort,
			),
			(
				|p| p.challenge_commit_ttl = 1,
				JobsError::ChallengeWindowTooShort,
			),
			(|p| p.jury_commit_window = 0, JobsError::JuryWindowTooShort),
			(|p| p.jury_reveal_window = 0, JobsError::JuryWindowTooShort),
			(|p| p.council_window = 1, JobsError::CouncilWindowTooShort),
			(|p| p.result_retention = 0, JobsError::RetentionOutOfBounds),
			(
				|p| p.result_retention = 1_001,
				JobsError::RetentionOutOfBounds,
			),
			(|p| p.execution_window = 20, JobsError::LifetimeTooLong),
			(
				|p| p.winner_share = Perbill::from_percent(80),
				JobsError::SharesExceedWhole,
			),
			(|p| p.challenge_bond = 0, JobsError::ZeroAmount),
			(|p| p.min_job_fee = 0, JobsError::ZeroAmount),
			(|p| p.min_job_fee = 1_001, JobsError::ZeroAmount),
			(|p| p.missed_deadline_multiple = 0, JobsError::ZeroAmount),
			(|p| p.jury_rounds = 0, JobsError::BadJurySize),
			(|p| p.jury_rounds = 4, JobsError::BadJurySize),
		];
		for (change, error) in refused {
			let mut params = ok.clone();
			change(&mut params);
			assert_noop!(Jobs::set_params(RuntimeOrigin::root(), params), error);
		}
		// Each bound itself is allowed.
		let mut better = ok;
		better.max_job_fee = 2_500;
		better.challenge_bond = 20 * 2_500;
		better.audit_rate = Perbill::from_percent(50);
		better.missed_deadline_multiple = 10;
		better.slash_juror_silent = Perbill::from_percent(10);
		better.protocol_share = Perbill::from_percent(50);
		better.winner_share = Perbill::from_percent(10);
		assert_ok!(Jobs::set_params(RuntimeOrigin::root(), better.clone()));
		assert_eq!(crate::Params::<Test>::get(), better);
	});
}

#[test]
fn the_default_parameters_pass_the_integrity_test() {
	new_test_ext().execute_with(|| {
		<Jobs as frame_support::traits::Hooks<u64>>::integrity_test();
		assert!(Jobs::job_lifetime(&default_params()) <= MAX_LIFETIME);
	});
}

// ---------------------------------------------------------------------------------------------
// Simulation: a worker that always lies
// ---------------------------------------------------------------------------------------------

/// One worker always lies, three are honest; 1,000 of the liar's results go through the real
/// audit path (no challenger). Prints the measured catch rate next to the audit rate, and the
/// share of runs of `n` lies with at least one catch next to 1 − (1 − AuditRate)^n.
#[test]
fn audits_catch_a_worker_that_always_lies_at_the_audit_rate() {
	run_test(|| {
		const LIES: usize = 1_000;
		const RUN: usize = 10;
		let rate = 20u32;
		let liar: AccountId = 1;
		// A large bond draws the liar for most jobs and keeps it in the game.
		register_with_bond(liar, ENDOWMENT / 2, &[GENERATE]);
		register_all(&[2, 3, 4]);
		set_params(|p| {
			p.audit_rate = Perbill::from_percent(rate);
		});
		let truth = answer("4");
		let lie = answer("5");
		let mut caught = Vec::with_capacity(LIES);
		let mut entropy = 0;
		while caught.len() < LIES {
			entropy += 1;
			MockRandomness::set_entropy(entropy);
			let job_id = submit(ALICE, 100);
			let worker = assigned_worker(job_id);
			let output = if worker == liar { &lie } else { &truth };
			answer_with(job_id, output);
			run_to_audit_draw(job_id);
			if matches!(status(job_id), JobStatus::Disputed { .. }) {
				run_jury(job_id, |_| Some(vote_for(&truth, output)));
			}
			let (JobStatus::Committed { settle_at, .. }
			| JobStatus::Disputed {
				resolve_at: settle_at,
				..
			}) = status(job_id)
			else {
				if worker == liar {
					caught.push(matches!(
						status(job_id),
						JobStatus::Refunded {
							reason: RefundReason::ResultRejected,
							..
						}
					));
				}
				continue;
			};
			run_to_block(settle_at);
			if worker == liar {
				caught.push(matches!(
					status(job_id),
					JobStatus::Refunded {
						reason: RefundReason::ResultRejected,
						..
					}
				));
			}
		}
		let p = rate as f64 / 100.0;
		let measured = caught.iter().filter(|c| **c).count() as f64 / LIES as f64;
		let runs = caught.chunks(RUN);
		let run_count = runs.len() as f64;
		let runs_caught = caught
			.chunks(RUN)
			.filter(|run| run.iter().any(|c| *c))
			.count() as f64;
		let expected_run = 1.0 - (1.0 - p).powi(RUN as i32);
		println!(
			"liar simulation: {LIES} lies, audit rate {p:.2}: caught {measured:.3} per lie; \
			 caught within {RUN} lies {:.3} (1 - (1 - {p:.2})^{RUN} = {expected_run:.3})",
			runs_caught / run_count
		);
		// Four standard deviations of a binomial proportion.
		let sigma = (p * (1.0 - p) / LIES as f64).sqrt();
		assert!(
			(measured - p).abs() < 4.0 * sigma,
			"catch rate {measured} vs audit rate {p}"
		);
		let sigma_run = (expected_run * (1.0 - expected_run) / run_count).sqrt();
		assert!((runs_caught / run_count - expected_run).abs() < 4.0 * sigma_run);
		assert_eq!(
			faults(liar, FaultKind::WrongResult) as usize,
			caught.iter().filter(|c| **c).count()
		);
	});
}

// ---------------------------------------------------------------------------------------------
// A tolerance-policy model (embeddings)
// ---------------------------------------------------------------------------------------------

/// Under a tolerance policy a juror may confirm a claim whose bits differ from its own (the
/// values are within the bound), and the majority decides as for generations: a close claim is
/// upheld and paid, a far one rejected and its worker slashed.
#[test]
fn a_jury_over_an_embedding_upholds_a_close_claim_and_rejects_a_far_one() {
	for far in [false, true] {
		run_test(|| {
			no_audits();
			for worker in [1, 2, 3, 4] {
				register(worker, &[EMBED]);
			}
			let job_id = crate::NextJobId::<Test>::get();
			assert_ok!(Jobs::submit_job(
				RuntimeOrigin::signed(ALICE),
				EMBED,
				JobInput::embed(&["a"]).unwrap(),
				100
			));
			run_to_next_settlement(job_id);
			let truth =
				JobOutput::embedded(vec![Embedding::from_f32(&[0.5, 0.25]).unwrap()]).unwrap();
			let shift = if far { 0.1 } else { 0.00001 };
			let claim =
				JobOutput::embedded(vec![Embedding::from_f32(&[0.5 + shift, 0.25]).unwrap()])
					.unwrap();
			let worker = answer_with(job_id, &claim);
			challenge(CHALLENGER, job_id);
			let confirms = !far;
			run_jury(job_id, |_| {
				Some(Vote {
					output_hash: truth.hash(),
					confirms,
				})
			});
			assert_ne!(truth.hash(), claim.hash(), "the bits differ either way");
			assert_eq!(faults(worker, FaultKind::WrongResult), u32::from(far));
			if far {
				assert_eq!(stake(worker), BOND - 20 * 100);
				assert!(matches!(
					status(job_id),
					JobStatus::Refunded {
						reason: RefundReason::ResultRejected,
						..
					}
				));
			} else {
				assert_eq!(stake(worker), BOND);
				assert!(matches!(status(job_id), JobStatus::Finalized { .. }));
			}
		});
	}
}
