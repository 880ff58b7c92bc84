//! The Draws issue: assignments, audits and juries are drawn from VRF outputs of blocks after
//! the one that made them due, never from a block hash, and a jury's seats are split-neutral.
//! The simulations measure what an attacker timing its transactions, and one that also authors
//! a quarter of the blocks, gets (see `crate::draws` for the bounds).

use codec::Encode;
use verity_primitives::Hash;

use super::*;
use crate::{
	draws::{mixed, seed_from},
	Beacon,
};

/// The accused in the simulations: the only worker when their jobs are assigned.
const ACCUSED: AccountId = 6;
/// Honest jurors: 85% of the jury pool's bond.
const HONEST: [AccountId; 4] = [1, 2, 3, 4];
/// The attacker's jurors: 15% of the pool's bond, split over three accounts.
const SYBILS: [AccountId; 3] = [5, 40, 41];
/// Three seats, and a 15% bond wins at least two of them with Binomial(3, 0.15) probability.
const CAPTURE: f64 = 3.0 * 0.15 * 0.15 * 0.85 + 0.15 * 0.15 * 0.15;

/// A deterministic stream of test randomness.
fn random(label: &[u8], i: u64) -> Hash {
	verity_primitives::blake2_256(&(label, i).encode())
}

/// A number in [0, 1) from `hash`.
fn unit(hash: &Hash) -> f64 {
	let mut bytes = [0u8; 8];
	bytes.copy_from_slice(&hash.as_bytes()[..8]);
	(u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// A market for the simulations: `batches` × 60 generation jobs, all answered by [`ACCUSED`]
/// (the only worker when they were drawn), then the jurors join: [`HONEST`] with 85% of the
/// pool's bond and [`SYBILS`] with 15%. Windows are long, so no dispute resolves (and no slash
/// moves a bond) while the simulation runs. Returns the jobs.
fn simulation_market(batches: u32) -> Vec<JobId> {
	set_params(|p| {
		p.audit_rate = Perbill::zero();
		p.challenge_window = 5_000;
		p.challenge_commit_ttl = 20;
		p.jury_commit_window = 5_000;
		p.jury_reveal_window = 5_000;
	});
	register_with_capacity(ACCUSED, 1_000_000, &[GENERATE], 64);
	let mut jobs = Vec::new();
	for _ in 0..batches {
		let batch: Vec<JobId> = (0..60).map(|_| submit_pending(ALICE, MIN_FEE)).collect();
		// At most 16 settlements a block: the draws take a few blocks; each job is answered as
		// soon as it is drawn.
		let mut answered = 0;
		while answered < batch.len() {
			run_to_block(System::block_number() + 1);
			for job_id in &batch {
				if matches!(status(*job_id), JobStatus::Assigned { .. }) {
					answer_with(*job_id, &answer("4"));
					answered += 1;
				}
			}
		}
		jobs.extend(batch);
	}
	for who in HONEST {
		register_with_bond(who, 212_500, &[GENERATE]);
	}
	for who in SYBILS {
		if who > 6 {
			assert_ok!(Balances::transfer_allow_death(
				RuntimeOrigin::signed(BOB),
				who,
				100_000
			));
		}
		register_with_bond(who, 50_000, &[GENERATE]);
	}
	// The last audit draws drain from the queue before the simulation starts.
	run_to_block(System::block_number() + 10);
	jobs
}

/// Runs blocks until no jury of `jobs` waits to be drawn.
fn run_until_drawn(jobs: &[JobId]) {
	while jobs.iter().any(|job_id| {
		matches!(
			status(*job_id),
			JobStatus::Disputed {
				jury_pending: true,
				..
			}
		)
	}) {
		run_to_block(System::block_number() + 1);
	}
}

/// The attacker's seats among `jury`.
fn attacker_seats(jury: &[(AccountId, u32)]) -> u32 {
	jury.iter()
		.filter(|(juror, _)| SYBILS.contains(juror))
		.map(|(_, n)| n)
		.sum()
}

/// The jury of `job_id` if it were drawn from `beacon` (the pallet's own draw path).
fn jury_with(job_id: JobId, beacon: &crate::RandomnessBeacon) -> Vec<(AccountId, u32)> {
	let job = pallet_jobs_storage::job(job_id);
	let seed = seed_from(beacon, b"verity/jury", job_id, 0);
	Jobs::jury_from_seed(job_id, &job, &ACCUSED, seed).0
}

/// A challenger account of its own for job `i`, funded for one bond.
fn challenger_for(i: usize) -> AccountId {
	let who = 1_000 + i as AccountId;
	assert_ok!(Balances::transfer_allow_death(
		RuntimeOrigin::signed(BOB),
		who,
		default_params().challenge_bond + 1
	));
	who
}

fn commit(who: AccountId, job_id: JobId) {
	assert_ok!(Jobs::commit_challenge(
		RuntimeOrigin::signed(who),
		challenge_commitment(&who, job_id, &[7; 32])
	));
}

fn reveal(who: AccountId, job_id: JobId) {
	assert_ok!(Jobs::reveal_challenge(
		RuntimeOrigin::signed(who),
		job_id,
		[7; 32]
	));
}

/// Before: the jury was drawn in `reveal_challenge`'s block from randomness the challenger could
/// read, so a challenger with 15% of the bond revealed when the jury would be its own.
/// Now: the jury is drawn two VRF outputs later; the same strategy wins a seat share within noise
/// of its bond share, while the juries it expected would have given it far more.
#[test]
fn a_challenger_timing_its_reveals_wins_no_more_than_its_bond_share_of_seats() {
	run_test(|| {
		let jobs = simulation_market(5);
		let challengers: Vec<AccountId> = (0..jobs.len()).map(challenger_for).collect();
		for (job_id, who) in jobs.iter().zip(&challengers) {
			commit(*who, *job_id);
		}
		let committed = System::block_number();
		let last = committed + crate::Params::<Test>::get().challenge_commit_ttl;
		let mut expected = vec![None; jobs.len()];
		for block in committed + 1..=last {
			run_to_block(block);
			for (i, job_id) in jobs.iter().enumerate() {
				if expected[i].is_some() {
					continue;
				}
				// What the jury would be if it were drawn now, from what everyone can read.
				let now = attacker_seats(&jury_with(*job_id, &Beacon::<Test>::get()));
				if now >= 2 || block == last {
					reveal(challengers[i], *job_id);
					expected[i] = Some(now);
				}
			}
		}
		run_until_drawn(&jobs);
		let total_seats = 3 * jobs.len() as u32;
		let won: u32 = jobs
			.iter()
			.map(|job_id| attacker_seats(&seats(*job_id)))
			.sum();
		let hoped: u32 = expected.iter().map(|e| e.unwrap()).sum();
		let share = won as f64 / total_seats as f64;
		let hoped_share = hoped as f64 / total_seats as f64;
		let sigma = (0.15 * 0.85 / total_seats as f64).sqrt();
		println!(
			"timed reveals, 15% of the bond, {} juries: seat share {share:.4} (4σ = {:.4}); the \
			 juries it timed for would have given it {hoped_share:.4}",
			jobs.len(),
			4.0 * sigma
		);
		assert!(
			(share - 0.15).abs() < 4.0 * sigma,
			"seat share {share} is not within noise of 15%"
		);
		assert!(
			hoped_share > 0.3,
			"the timing strategy works against a draw the challenger can read: {hoped_share}"
		);
	});
}

/// An attacker that also authors a quarter of the blocks withholds its block whenever the jury
/// it completes is not its own and it holds the next slot too (see `crate::draws`): its capture
/// rate stays under `p / (1 − x(1 − p))` plus noise.
#[test]
fn an_attacker_authoring_a_quarter_of_blocks_gains_no_more_than_the_withholding_bound() {
	run_test(|| {
		let x = 0.25;
		let jobs = simulation_market(10);
		let challengers: Vec<AccountId> = (0..jobs.len()).map(challenger_for).collect();
		let first = System::block_number() + 1;
		let mut draws = 0u64;
		let mut withheld = 0u32;
		commit(challengers[0], jobs[0]);
		// Block first + i reveals job i (committed the block before); its jury is drawn in
		// block first + i + DELAY, from the output that block reads.
		for i in 0..jobs.len() + DELAY as usize {
			let block = first + i as u64;
			if i >= DELAY as usize {
				let job_id = jobs[i - DELAY as usize];
				let beacon = Beacon::<Test>::get();
				let output = loop {
					draws += 1;
					let candidate = random(b"output", draws);
					let own = unit(&random(b"author", draws)) < x;
					let with = mixed(&beacon, &MockRandomness::beacon_input(candidate));
					if !own || attacker_seats(&jury_with(job_id, &with)) >= 2 {
						break candidate;
					}
					withheld += 1;
				};
				MockRandomness::set_output(block, Some(output));
			}
			run_to_block(block);
			if i < jobs.len() {
				reveal(challengers[i], jobs[i]);
				if i + 1 < jobs.len() {
					commit(challengers[i + 1], jobs[i + 1]);
				}
			}
			if i >= DELAY as usize {
				assert!(
					crate::Juries::<Test>::contains_key(jobs[i - DELAY as usize]),
					"the jury was drawn in the block the attacker decided"
				);
			}
		}
		let captured = jobs
			.iter()
			.filter(|job_id| attacker_seats(&seats(**job_id)) >= 2)
			.count();
		let rate = captured as f64 / jobs.len() as f64;
		let bound = CAPTURE / (1.0 - x * (1.0 - CAPTURE));
		let sigma = (bound * (1.0 - bound) / jobs.len() as f64).sqrt();
		println!(
			"15% of the bond and 25% of the blocks, {} juries: captured {rate:.4} (honest draw \
			 {CAPTURE:.4}, bound {bound:.4}, 3σ = {:.4}); {withheld} blocks withheld",
			jobs.len(),
			3.0 * sigma
		);
		assert!(
			rate <= bound + 3.0 * sigma,
			"capture rate {rate} above the bound {bound}"
		);
		assert!(withheld > 0, "the attacker did withhold");
	});
}

/// The worker of a job is not a function of anything known when `submit_job` is signed: the
/// same two submissions in the same block, on the same chain, get other workers under other
/// later VRF outputs, and the same ones under the same outputs.
#[test]
fn a_submitter_cannot_predict_its_worker() {
	let run = |label: &'static [u8], trial: u64| -> (AccountId, AccountId) {
		let mut drawn = (0, 0);
		new_test_ext().execute_with(|| {
			register_all(&[1, 2, 3, 4]);
			let a = submit_pending(ALICE, 100);
			let b = submit_pending(ALICE, 100);
			let now = System::block_number();
			for block in now + 1..=now + DELAY {
				MockRandomness::set_output(block, Some(random(label, trial * 10 + block)));
			}
			run_to_next_settlement(a);
			drawn = (assigned_worker(a), assigned_worker(b));
		});
		drawn
	};
	let mut differ = 0;
	for trial in 0..20 {
		let first = run(b"later", trial);
		assert_eq!(
			first,
			run(b"later", trial),
			"the same outputs, the same workers"
		);
		if first != run(b"other", trial) {
			differ += 1;
		}
	}
	// Four workers of equal bond: two draws agree with probability 1/16 under other outputs.
	println!("other later outputs changed the workers in {differ} of 20 trials");
	assert!(differ >= 12, "{differ} of 20");
}

/// Without VRF outputs the draw waits, a block at a time; it never falls back to a block hash.
#[test]
fn a_draw_waits_for_vrf_outputs_and_never_uses_a_block_hash() {
	run_test(|| {
		no_audits();
		register_all(&[1, 2, 3, 4]);
		let job_id = submit_pending(ALICE, 100);
		for block in 2..=6 {
			MockRandomness::set_output(block, None);
		}
		run_to_block(6);
		assert_eq!(Beacon::<Test>::get().outputs, 0, "nothing mixed in");
		assert_eq!(status(job_id), JobStatus::Pending { missed_by: None });
		assert_eq!(
			pallet_jobs_storage::job(job_id).next_settlement,
			7,
			"it looks again next block"
		);
		// Outputs again from block 7: the draw is made with the second, in block 8.
		run_to_block(7);
		assert_eq!(status(job_id), JobStatus::Pending { missed_by: None });
		run_to_block(8);
		let worker = assigned_worker(job_id);
		assert_eq!(Beacon::<Test>::get().outputs, 2);
		// The answer's audit draw and a challenge's jury wait the same way.
		answer_with(job_id, &answer("5"));
		let salt = [3u8; 32];
		assert_ok!(Jobs::commit_challenge(
			RuntimeOrigin::signed(CHALLENGER),
			challenge_commitment(&CHALLENGER, job_id, &salt)
		));
		MockRandomness::set_output(9, None);
		MockRandomness::set_output(10, None);
		run_to_block(9);
		assert_ok!(Jobs::reveal_challenge(
			RuntimeOrigin::signed(CHALLENGER),
			job_id,
			salt
		));
		run_to_block(11);
		assert!(
			crate::Juries::<Test>::get(job_id).is_none(),
			"one output since the reveal"
		);
		run_to_block(12);
		let drawn = seats(job_id);
		assert_eq!(drawn.iter().map(|(_, n)| n).sum::<u32>(), 3);
		assert!(!drawn.iter().any(|(juror, _)| *juror == worker));
	});
}

/// The second worker after a missed deadline is drawn after the draw delay too, without the
/// worker that missed it.
#[test]
fn a_reassignment_is_drawn_after_the_delay_without_the_silent_worker() {
	run_test(|| {
		register_all(&[1, 2, 3, 4]);
		let job_id = submit(ALICE, 100);
		let silent = assigned_worker(job_id);
		let JobStatus::Assigned { deadline, .. } = status(job_id) else {
			panic!("assigned");
		};
		run_to_block(deadline + 1);
		assert_eq!(
			status(job_id),
			JobStatus::Pending {
				missed_by: Some(silent)
			}
		);
		assert_eq!(
			pallet_jobs_storage::job(job_id).next_settlement,
			deadline + 1 + DELAY
		);
		run_to_block(deadline + DELAY);
		assert!(matches!(status(job_id), JobStatus::Pending { .. }));
		run_to_block(deadline + 1 + DELAY);
		let JobStatus::Assigned {
			worker,
			reassigned: true,
			..
		} = status(job_id)
		else {
			panic!("reassigned: {:?}", status(job_id));
		};
		assert_ne!(worker, silent);
	});
}

/// A draw delay outside its bounds is refused by the council's parameter check.
#[test]
fn a_draw_delay_under_two_outputs_is_refused() {
	run_test(|| {
		for delay in [0, 1, crate::draws::MAX_DRAW_DELAY + 1] {
			let mut params = default_params();
			params.draw_delay = delay;
			assert_noop!(
				Jobs::set_params(RuntimeOrigin::root(), params),
				JobsError::DrawDelayOutOfBounds
			);
		}
		let mut params = default_params();
		params.draw_delay = crate::draws::MIN_DRAW_DELAY;
		assert_ok!(Jobs::set_params(RuntimeOrigin::root(), params));
	});
}
