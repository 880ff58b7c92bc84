//! The economics of cheating (see [`crate::economics`]): a seeded Monte Carlo of a worker that
//! lies on every job it holds, at full capacity, through the real pallets; parameter versions (a
//! change applies only to jobs submitted after it).

use std::collections::BTreeMap;

use super::*;
use crate::{economics, JobParams, ParamsInUse};

/// What one job pays a worker that lies on it under `params`, on average: paid `(1 − s) f` when
/// not audited, slashed `m f` when audited (the council or an honest jury rejects every lie).
fn expected_profit_per_job(params: &JobParams<Balance, u64>, fee: Balance) -> f64 {
	let p = params.audit_rate.deconstruct() as f64 / 1e9;
	let paid = (fee - params.protocol_share * fee) as f64;
	let slash = (fee * params.wrong_result_multiple as Balance) as f64;
	(1.0 - p) * paid - p * slash
}

/// The jobs a worker with the smallest bond can hold at once at `fee`: its capacity, or as many
/// collaterals as its bond covers.
fn jobs_a_minimum_bond_holds(params: &JobParams<Balance, u64>, fee: Balance) -> u32 {
	let collateral = Jobs::collateral(params, fee);
	((MIN_BOND / collateral) as u32).min(CAPACITY)
}

/// Moves every job of `cohort` on by one block: the assigned worker answers (the liar with
/// `lie`, everyone else with `truth`), jurors commit and reveal honest votes, the council rejects
/// what is false. Returns when every job has settled.
fn drive(cohort: &[JobId], liar: AccountId, truth: &JobOutput, lie: &JobOutput) {
	let mut claimed: BTreeMap<JobId, JobOutput> = BTreeMap::new();
	loop {
		let now = System::block_number();
		let mut open = 0;
		for job_id in cohort {
			match status(*job_id) {
				JobStatus::Pending { .. } => open += 1,
				JobStatus::Assigned { worker, .. } => {
					let output = if worker == liar { lie } else { truth };
					answer_with(*job_id, output);
					claimed.insert(*job_id, output.clone());
					open += 1;
				}
				JobStatus::Committed { .. } => open += 1,
				JobStatus::Disputed {
					by_council: true, ..
				} => {
					let upheld = claimed[job_id].hash() == truth.hash();
					assert_ok!(Jobs::decide_dispute(RuntimeOrigin::root(), *job_id, upheld));
				}
				JobStatus::Disputed {
					commit_until,
					by_council: false,
					..
				} => {
					open += 1;
					let vote = vote_for(truth, &claimed[job_id]);
					for (juror, seat) in crate::Juries::<Test>::get(job_id)
						.unwrap_or_default()
						.members
					{
						let salt = [juror as u8 + 100; 32];
						if seat.commitment.is_none() && seat.vote.is_none() && now <= commit_until {
							assert_ok!(Jobs::commit_vote(
								RuntimeOrigin::signed(juror),
								*job_id,
								vote_commitment(&juror, *job_id, &vote, &salt)
							));
						} else if seat.commitment.is_some()
							&& seat.vote.is_none()
							&& now > commit_until
						{
							assert_ok!(Jobs::reveal_vote(
								RuntimeOrigin::signed(juror),
								*job_id,
								vote,
								salt
							));
						}
					}
				}
				JobStatus::Finalized { .. } | JobStatus::Refunded { .. } => {}
			}
		}
		if open == 0 {
			return;
		}
		run_to_block(now + 1);
	}
}

/// Runs `LIES` of the liar's jobs through the market under `params` and returns its measured
/// profit per job (the change of its total balance, bond included, over its jobs).
fn simulate(params: &JobParams<Balance, u64>, seed: u64) -> (f64, usize) {
	const LIES: usize = 800;
	const FEE: Balance = 100;
	let liar: AccountId = 1;
	// A large bond draws the liar first, so it runs at full capacity (16 jobs) every round; the
	// per-job economics do not depend on the size of its bond, which is the point.
	register_with_bond(liar, ENDOWMENT / 4, &[GENERATE]);
	register_all(&[2, 3, 4]);
	let p = params.clone();
	set_params(move |current| *current = p);
	let truth = answer("4");
	let lie = answer("5");
	let before = Balances::total_balance(&liar);
	let mut lies = 0;
	let mut round = 0;
	while lies < LIES {
		round += 1;
		MockRandomness::set_entropy(seed * 1_000_000 + round);
		// The settlement hook settles 16 entries a block (the mock's bound, shared with the
		// pruning of earlier jobs): wait until every job of the round is drawn.
		let cohort: Vec<JobId> = (0..32).map(|_| submit_pending(ALICE, FEE)).collect();
		while cohort
			.iter()
			.any(|job_id| matches!(status(*job_id), JobStatus::Pending { .. }))
		{
			run_to_block(System::block_number() + 1);
		}
		let held = cohort
			.iter()
			.filter(
				|job_id| matches!(status(**job_id), JobStatus::Assigned { worker, .. } if worker == liar),
			)
			.count();
		assert_eq!(
			held,
			CAPACITY as usize,
			"round {round}: the liar holds a full capacity of jobs: {:?} {:?}",
			pallet_workers::Workers::<Test>::get(liar),
			pallet_workers::Ledgers::<Test>::get(liar)
		);
		lies += held;
		drive(&cohort, liar, &truth, &lie);
	}
	let after = Balances::total_balance(&liar);
	let profit = after as f64 - before as f64;
	(profit / lies as f64, lies)
}

/// The Monte Carlo: under the mock's parameters (the live economics: audit 10 %, wrong-result
/// multiple 20) an always-lying worker at full capacity loses, as the inequality says; under a
/// set where `p × m < 1 − p` it gains, and `set_params` refuses that set.
#[test]
fn a_worker_lying_on_every_job_in_flight_loses_and_a_set_where_it_gains_is_refused() {
	const FEE: Balance = 100;
	let sound = default_params();
	let mut unsound = default_params();
	unsound.audit_rate = Perbill::from_percent(5);
	unsound.wrong_result_multiple = 10;
	for (name, params, seed) in [
		("sound (mock = live economics)", &sound, 1),
		("unsound", &unsound, 2),
	] {
		run_test(|| {
			let (measured, lies) = simulate(params, seed);
			let expected = expected_profit_per_job(params, FEE);
			let p = params.audit_rate.deconstruct() as f64 / 1e9;
			let paid = (FEE - params.protocol_share * FEE) as f64;
			let slash = (FEE * params.wrong_result_multiple as Balance) as f64;
			let sigma = (p * (1.0 - p)).sqrt() * (paid + slash) / (lies as f64).sqrt();
			let held = jobs_a_minimum_bond_holds(params, FEE);
			println!(
				"cheating simulation, {name}: audit {:.0} %, m = {}: {lies} lies at full capacity; \
				 profit per lie measured {measured:+.1}, expected {expected:+.1} (fee {FEE}); a \
				 minimum-bond liar holding {held} jobs expects {:+.0}",
				p * 100.0,
				params.wrong_result_multiple,
				expected * held as f64
			);
			assert!(
				(measured - expected).abs() < 4.0 * sigma,
				"measured {measured} vs expected {expected} (σ {sigma})"
			);
			assert_eq!(
				expected < 0.0,
				Jobs::cheating_loses(params),
				"the check agrees with the expectation"
			);
			if Jobs::cheating_loses(params) {
				assert!(measured < 0.0, "lying loses: {measured}");
			} else {
				assert!(
					measured > 0.0,
					"lying pays under the unsound set: {measured}"
				);
				assert_noop!(
					Jobs::set_params(RuntimeOrigin::root(), params.clone()),
					JobsError::CheatingPays
				);
			}
		});
	}
}

/// The largest fee the check allows for the smallest bond, and the pallet's bounds, as figures.
#[test]
fn the_largest_fee_a_minimum_bond_backs_is_its_bond_over_the_collateral_multiple() {
	run_test(|| {
		let mut params = default_params();
		params.max_job_fee = MIN_BOND / 20;
		params.challenge_bond = 1;
		assert_ok!(Jobs::check_params(&params));
		params.max_job_fee += 1;
		assert_noop!(
			Jobs::set_params(RuntimeOrigin::root(), params.clone()),
			JobsError::CollateralAboveMinBond
		);
		println!(
			"largest max_job_fee for the mock's minimum bond {MIN_BOND}: {} (= bond / 20); \
			 bounds: missed-deadline multiple ≤ {}, wrong-result multiple ≤ {}",
			MIN_BOND / 20,
			economics::MAX_MISSED_DEADLINE_MULTIPLE,
			economics::MAX_WRONG_RESULT_MULTIPLE
		);
	});
}

/// A job keeps the parameters it was submitted under: a change of the wrong-result multiple and
/// of the challenge window applies to the next job only (its window, its collateral), a lie on
/// the older job is slashed at the older multiple, and a set leaves storage with its last job.
#[test]
fn a_parameter_change_applies_only_to_jobs_submitted_after_it() {
	run_test(|| {
		no_audits();
		register_all(&[1, 2, 3, 4]);
		let before = submit(ALICE, 100);
		let mut harsher = default_params();
		harsher.audit_rate = Perbill::from_percent(5);
		harsher.wrong_result_multiple = 40;
		harsher.challenge_window = 6;
		assert_ok!(Jobs::set_params(RuntimeOrigin::root(), harsher.clone()));
		assert!(events().contains(&Event::ParamsChanged {
			version: 1,
			params: harsher.clone()
		}));
		let after = submit(ALICE, 100);
		assert_eq!(ParamsInUse::<Test>::count(), 2);
		let reserved = |worker| {
			pallet_workers::Ledgers::<Test>::get(worker)
				.unwrap()
				.reserved
		};
		let (old_worker, new_worker) = (assigned_worker(before), assigned_worker(after));
		if old_worker == new_worker {
			assert_eq!(reserved(old_worker), 20 * 100 + 40 * 100);
		} else {
			assert_eq!(reserved(old_worker), 20 * 100, "the old collateral");
			assert_eq!(reserved(new_worker), 40 * 100, "the new collateral");
		}
		let lie = answer("5");
		let truth = answer("4");
		answer_with(before, &lie);
		answer_with(after, &truth);
		let settle = |job_id| match status(job_id) {
			JobStatus::Committed { settle_at, .. } => settle_at,
			other => panic!("{other:?}"),
		};
		assert_eq!(settle(before), System::block_number() + 4, "the old window");
		assert_eq!(settle(after), System::block_number() + 6, "the new window");
		let stake_before = stake(old_worker);
		challenge(CHALLENGER, before);
		run_jury(before, |_| Some(vote_for(&truth, &lie)));
		assert_eq!(
			stake_before - stake(old_worker),
			20 * 100,
			"slashed at the multiple it was submitted under"
		);
		run_to_block(System::block_number() + MAX_LIFETIME);
		assert_eq!(
			ParamsInUse::<Test>::count(),
			0,
			"every set leaves with its last job"
		);
	});
}

/// At most `MaxParamsVersions` (3 in the mock) sets with jobs in flight: a change while three
/// have jobs waits until their jobs settle.
#[test]
fn parameter_sets_in_flight_are_bounded() {
	run_test(|| {
		no_audits();
		register_all(&[1, 2]);
		let mut jobs = Vec::new();
		for version in 0..2u32 {
			jobs.push(submit(ALICE, 100));
			let mut next = default_params();
			next.challenge_bond = 500 + version as Balance + 1;
			assert_ok!(Jobs::set_params(RuntimeOrigin::root(), next));
		}
		jobs.push(submit(ALICE, 100));
		assert_eq!(ParamsInUse::<Test>::count(), 3);
		assert_eq!(crate::ParamsVersion::<Test>::get(), 2);
		assert_noop!(
			Jobs::set_params(RuntimeOrigin::root(), default_params()),
			JobsError::TooManyParamsInFlight
		);
		for job_id in &jobs {
			answer_with(*job_id, &answer("4"));
		}
		run_to_block(System::block_number() + MAX_LIFETIME);
		assert_eq!(ParamsInUse::<Test>::count(), 0);
		assert_ok!(Jobs::set_params(RuntimeOrigin::root(), default_params()));
	});
}
