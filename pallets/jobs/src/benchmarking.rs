//! Benchmarks of every call and every settlement step (frame-benchmarking v2); the runtime's
//! weights are generated from them.
//!
//! Each takes the worst case the bounds allow: the largest input and output, a model whose worker
//! index is as full as the worker pallet allows (draws read all of it), juries of every size up
//! to [`Config::MaxJurySize`], and the most expensive branch of each settlement step (a missed
//! deadline that sends the job back to the draw, an audit that seats a jury, a dispute that
//! slashes the worker and the minority jurors). Settlement steps are measured one queue entry at
//! a time, the entry alone in its block.

use alloc::{format, vec, vec::Vec};
use codec::Encode;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{fungible::Mutate, EnsureOrigin, Get},
	BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use sp_core::crypto::KeyTypeId;
use sp_runtime::{
	traits::{One, Saturating},
	Perbill,
};
use verity_primitives::{
	job::{
		Embedding, JobInput, JobKind, JobOutput, MAX_EMBEDDING_DIM, MAX_EMBED_TEXTS,
		MAX_EMBED_TEXT_BYTES,
	},
	receipt::{JobId, ReceiptPayload, ReceiptPublic, ReceiptSignature},
	registry::ModelRegistry,
	workers::WorkerSelection,
	Hash, ModelId,
};

use super::*;
use crate::{
	commitments::{challenge_commitment, vote_commitment},
	pallet::{Challenges, Commitments, Jobs, Juries, Params, Results, SettlementCursor, Timeouts},
};

/// The keystore key type the benchmarks' receipt keys live under.
const BENCH_KEYS: KeyTypeId = KeyTypeId(*b"vbch");
/// The most workers the benchmarks register for one model (fewer if the worker pallet's index
/// is smaller).
const MAX_BENCH_WORKERS: u32 = 128;

fn stop(reason: &'static str) -> BenchmarkError {
	BenchmarkError::Stop(reason)
}

fn now<T: Config>() -> BlockNumberFor<T> {
	frame_system::Pallet::<T>::block_number()
}

fn set_block<T: Config>(n: BlockNumberFor<T>) {
	frame_system::Pallet::<T>::set_block_number(n);
}

/// Enough for any fee, bond and challenge bond the benchmarks need.
fn endow<T: Config>(who: &T::AccountId) {
	let params = Params::<T>::get();
	let amount = T::MinWorkerBond::get()
		.saturating_add(params.max_job_fee)
		.saturating_add(params.challenge_bond)
		.saturating_mul(1_000u32.into());
	T::Currency::set_balance(who, amount);
}

/// A new approved model of `kind` served by up to `workers` registered workers (as many as its
/// index takes); returns the model and the workers with their receipt keys.
fn market<T: Config>(
	kind: JobKind,
	workers: u32,
) -> Result<(ModelId, Vec<(T::AccountId, ReceiptPublic)>), BenchmarkError> {
	let model = T::Models::register_benchmark_model(kind)
		.ok_or(stop("the registry cannot register benchmark models"))?;
	let params = Params::<T>::get();
	let bond = T::MinWorkerBond::get()
		.max(params.max_job_fee)
		.saturating_mul(4u32.into());
	let mut registered = Vec::new();
	for i in 0..workers {
		let who: T::AccountId = account("worker", i, model);
		endow::<T>(&who);
		let seed = format!("//verity-bench-{model}-{i}").into_bytes();
		let key = sp_io::crypto::ed25519_generate(BENCH_KEYS, Some(seed));
		if !T::Workers::register_benchmark_worker(&who, bond, model, key) {
			break;
		}
		registered.push((who, key));
	}
	if registered.is_empty() {
		return Err(stop("the worker pallet cannot register benchmark workers"));
	}
	Ok((model, registered))
}

/// The largest input of `kind`.
fn largest_input(kind: JobKind) -> JobInput {
	match kind {
		JobKind::Embed => {
			let text = vec![b'a'; MAX_EMBED_TEXT_BYTES as usize];
			let texts = (0..MAX_EMBED_TEXTS)
				.map(|_| BoundedVec::truncate_from(text.clone()))
				.collect::<Vec<_>>();
			JobInput::Embed {
				texts: BoundedVec::truncate_from(texts),
			}
		}
		JobKind::Generate => JobInput::Generate {
			prompt: BoundedVec::truncate_from(vec![b'a'; 4_096]),
			max_tokens: 512,
		},
	}
}

/// The largest embedding output, each value `value`.
fn largest_output(value: f32) -> Result<JobOutput, BenchmarkError> {
	let embedding = Embedding::from_f32(&vec![value; MAX_EMBEDDING_DIM as usize])
		.map_err(|_| stop("a benchmark embedding is invalid"))?;
	JobOutput::embedded(vec![embedding; MAX_EMBED_TEXTS as usize])
		.map_err(|_| stop("a benchmark output is invalid"))
}

/// Submits the largest embedding job for `model` from a new funded account and leaves it
/// pending; returns its id and submitter.
fn submit_pending<T: Config>(model: ModelId) -> Result<(JobId, T::AccountId), BenchmarkError> {
	let submitter: T::AccountId = account("submitter", model, 0);
	endow::<T>(&submitter);
	let job_id = pallet::NextJobId::<T>::get();
	let fee = Params::<T>::get().max_job_fee;
	Pallet::<T>::submit_job(
		RawOrigin::Signed(submitter.clone()).into(),
		model,
		largest_input(JobKind::Embed),
		fee,
	)?;
	Ok((job_id, submitter))
}

/// Mixes as many VRF outputs into the beacon as any draw waits for, so that every draw due is
/// ready (the benchmarks call the settlement directly, without the hook that mixes them).
fn fresh_randomness<T: Config>() {
	for i in 0..crate::draws::MAX_DRAW_DELAY {
		let output = verity_primitives::blake2_256(&(b"bench-vrf", i).encode());
		pallet::Beacon::<T>::mutate(|beacon| *beacon = crate::draws::mixed(beacon, &output));
	}
}

/// The block the job's entry in the settlement queue is at.
fn next_settlement<T: Config>(job_id: JobId) -> Result<BlockNumberFor<T>, BenchmarkError> {
	Jobs::<T>::get(job_id)
		.map(|job| job.next_settlement)
		.ok_or(stop("no job"))
}

/// [`submit_pending`], then the hook of the block the draw is due in draws the worker.
fn submit<T: Config>(model: ModelId) -> Result<(JobId, T::AccountId), BenchmarkError> {
	let (job_id, submitter) = submit_pending::<T>(model)?;
	let at = next_settlement::<T>(job_id)?;
	fresh_randomness::<T>();
	set_block::<T>(at);
	Pallet::<T>::settle_block(at);
	Ok((job_id, submitter))
}

fn assigned<T: Config>(job_id: JobId) -> Result<T::AccountId, BenchmarkError> {
	match Jobs::<T>::get(job_id).map(|job| job.status) {
		Some(JobStatus::Assigned { worker, .. }) => Ok(worker),
		_ => Err(stop("the job is not assigned")),
	}
}

/// The receipt signature of `key` for `output` of `job_id`.
fn sign<T: Config>(
	job_id: JobId,
	key: &ReceiptPublic,
	output: &JobOutput,
) -> Result<ReceiptSignature, BenchmarkError> {
	let job = Jobs::<T>::get(job_id).ok_or(stop("no job"))?;
	let summary = T::Models::model(job.model).ok_or(stop("no model"))?;
	let payload = ReceiptPayload {
		genesis_hash: Pallet::<T>::genesis_hash(),
		job_id,
		model_hash: summary.model_hash,
		input_hash: job.input_hash,
		output_hash: output.hash(),
	};
	sp_io::crypto::ed25519_sign(BENCH_KEYS, key, &payload.signing_payload())
		.ok_or(stop("the keystore cannot sign"))
}

/// Submits a job for `model` and the assigned worker's largest result; returns the job, the
/// worker and the output.
fn answered<T: Config>(
	model: ModelId,
	workers: &[(T::AccountId, ReceiptPublic)],
) -> Result<(JobId, T::AccountId, JobOutput), BenchmarkError> {
	let (job_id, _) = submit::<T>(model)?;
	let worker = assigned::<T>(job_id)?;
	let key = workers
		.iter()
		.find(|(who, _)| *who == worker)
		.map(|(_, key)| *key)
		.ok_or(stop("the assigned worker is unknown"))?;
	let output = largest_output(0.5)?;
	let signature = sign::<T>(job_id, &key, &output)?;
	Pallet::<T>::submit_result(
		RawOrigin::Signed(worker.clone()).into(),
		job_id,
		output.clone(),
		signature,
	)?;
	Ok((job_id, worker, output))
}

/// Commits a challenge of `job_id` from a new funded account; returns it and its salt.
fn committed_challenge<T: Config>(
	job_id: JobId,
) -> Result<(T::AccountId, [u8; 32]), BenchmarkError> {
	let challenger: T::AccountId = account("challenger", job_id as u32, 0);
	endow::<T>(&challenger);
	let salt = [7u8; 32];
	Pallet::<T>::commit_challenge(
		RawOrigin::Signed(challenger.clone()).into(),
		challenge_commitment(&challenger, job_id, &salt),
	)?;
	Ok((challenger, salt))
}

/// A market with a job whose result is challenged before a jury of `j` (odd sizes; an even `j`
/// seats `j - 1`); returns the job and its jurors.
fn disputed<T: Config>(j: u32) -> Result<(JobId, Vec<T::AccountId>), BenchmarkError> {
	Params::<T>::mutate(|p| {
		p.jury_size = j;
		p.audit_rate = Perbill::zero();
	});
	let (model, workers) = market::<T>(JobKind::Embed, MAX_BENCH_WORKERS)?;
	let (job_id, _, _) = answered::<T>(model, &workers)?;
	let (challenger, salt) = committed_challenge::<T>(job_id)?;
	set_block::<T>(now::<T>().saturating_add(One::one()));
	Pallet::<T>::reveal_challenge(RawOrigin::Signed(challenger).into(), job_id, salt)?;
	// The jury is drawn after the draw delay.
	let at = next_settlement::<T>(job_id)?;
	fresh_randomness::<T>();
	set_block::<T>(at);
	Pallet::<T>::settle_block(at);
	let jurors: Vec<T::AccountId> = Juries::<T>::get(job_id)
		.ok_or(stop("no jury was drawn"))?
		.members
		.into_iter()
		.map(|(juror, _)| juror)
		.collect();
	Ok((job_id, jurors))
}

/// The vote of juror number `i` of the jury of `job_id`: the first jurors confirm the claimed
/// output while they hold under half the seats, the rest reject it (a majority of seats
/// rejects, and the minority is slashed).
fn vote_of<T: Config>(job_id: JobId, i: usize, claimed: Hash) -> Vote {
	let jury = Juries::<T>::get(job_id).unwrap_or_default();
	let seats = |members: &[(T::AccountId, JurySeat)]| -> u32 {
		members.iter().map(|(_, seat)| seat.seats).sum()
	};
	let upto = jury.members.len().min(i.saturating_add(1));
	if seats(&jury.members[..upto]).saturating_mul(2) < seats(&jury.members) {
		Vote {
			output_hash: claimed,
			confirms: true,
		}
	} else {
		Vote {
			output_hash: Hash::repeat_byte(0xee),
			confirms: false,
		}
	}
}

/// Every juror of `job_id` commits its [`vote_of`].
fn commit_votes<T: Config>(job_id: JobId, jurors: &[T::AccountId]) -> Result<(), BenchmarkError> {
	let claimed = Results::<T>::get(job_id)
		.ok_or(stop("no result"))?
		.output_hash;
	for (i, juror) in jurors.iter().enumerate() {
		let vote = vote_of::<T>(job_id, i, claimed);
		Pallet::<T>::commit_vote(
			RawOrigin::Signed(juror.clone()).into(),
			job_id,
			vote_commitment(juror, job_id, &vote, &[i as u8; 32]),
		)?;
	}
	Ok(())
}

/// Moves past the vote commit phase of `job_id`.
fn enter_reveal_phase<T: Config>(job_id: JobId) -> Result<BlockNumberFor<T>, BenchmarkError> {
	let Some(JobStatus::Disputed {
		commit_until,
		resolve_at,
		..
	}) = Jobs::<T>::get(job_id).map(|job| job.status)
	else {
		return Err(stop("the job is not disputed"));
	};
	set_block::<T>(commit_until.saturating_add(One::one()));
	Ok(resolve_at)
}

/// Makes `timeout` the only entry of block `at` (a job's entry moves there) and moves to it, with
/// everything before settled.
fn only_timeout<T: Config>(at: BlockNumberFor<T>, timeout: Timeout) {
	let _ = Timeouts::<T>::clear_prefix(at, u32::MAX, None);
	if let Timeout::Job(job_id) = &timeout {
		Jobs::<T>::mutate(job_id, |job| {
			if let Some(job) = job {
				Timeouts::<T>::remove(job.next_settlement, Timeout::Job(*job_id));
				job.next_settlement = at;
			}
		});
	}
	Timeouts::<T>::insert(at, timeout, ());
	SettlementCursor::<T>::put(at);
	set_block::<T>(at);
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn submit_job() -> Result<(), BenchmarkError> {
		let (model, _) = market::<T>(JobKind::Embed, MAX_BENCH_WORKERS)?;
		let caller: T::AccountId = whitelisted_caller();
		endow::<T>(&caller);
		let fee = Params::<T>::get().max_job_fee;
		#[extrinsic_call]
		_(
			RawOrigin::Signed(caller),
			model,
			largest_input(JobKind::Embed),
			fee,
		);
		assert!(Jobs::<T>::contains_key(0));
		Ok(())
	}

	#[benchmark]
	fn cancel_job() -> Result<(), BenchmarkError> {
		let (model, _) = market::<T>(JobKind::Embed, MAX_BENCH_WORKERS)?;
		let (job_id, submitter) = submit_pending::<T>(model)?;
		#[extrinsic_call]
		_(RawOrigin::Signed(submitter), job_id);
		assert!(matches!(
			Jobs::<T>::get(job_id).map(|job| job.status),
			Some(JobStatus::Refunded { .. })
		));
		Ok(())
	}

	#[benchmark]
	fn submit_result() -> Result<(), BenchmarkError> {
		let (model, workers) = market::<T>(JobKind::Embed, MAX_BENCH_WORKERS)?;
		let (job_id, _) = submit::<T>(model)?;
		let worker = assigned::<T>(job_id)?;
		let key = workers
			.iter()
			.find(|(who, _)| *who == worker)
			.map(|(_, key)| *key)
			.ok_or(stop("unknown worker"))?;
		let output = largest_output(0.5)?;
		let signature = sign::<T>(job_id, &key, &output)?;
		#[extrinsic_call]
		_(RawOrigin::Signed(worker), job_id, output, signature);
		assert!(Results::<T>::contains_key(job_id));
		Ok(())
	}

	#[benchmark]
	fn commit_challenge() -> Result<(), BenchmarkError> {
		let caller: T::AccountId = whitelisted_caller();
		endow::<T>(&caller);
		let commitment = challenge_commitment(&caller, 0, &[1u8; 32]);
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), commitment);
		assert!(Commitments::<T>::contains_key(commitment));
		Ok(())
	}

	#[benchmark]
	fn reveal_challenge(j: Linear<1, { T::MaxJurySize::get() }>) -> Result<(), BenchmarkError> {
		Params::<T>::mutate(|p| {
			p.jury_size = j;
			p.audit_rate = Perbill::zero();
		});
		let (model, workers) = market::<T>(JobKind::Embed, MAX_BENCH_WORKERS)?;
		let (job_id, _, _) = answered::<T>(model, &workers)?;
		let (challenger, salt) = committed_challenge::<T>(job_id)?;
		set_block::<T>(now::<T>().saturating_add(One::one()));
		#[extrinsic_call]
		_(RawOrigin::Signed(challenger), job_id, salt);
		assert!(Challenges::<T>::contains_key(job_id));
		Ok(())
	}

	#[benchmark]
	fn commit_vote(j: Linear<1, { T::MaxJurySize::get() }>) -> Result<(), BenchmarkError> {
		let (job_id, jurors) = disputed::<T>(j)?;
		let last = jurors.last().cloned().ok_or(stop("an empty jury"))?;
		#[extrinsic_call]
		_(RawOrigin::Signed(last), job_id, Hash::repeat_byte(1));
		Ok(())
	}

	#[benchmark]
	fn reveal_vote(j: Linear<1, { T::MaxJurySize::get() }>) -> Result<(), BenchmarkError> {
		let (job_id, jurors) = disputed::<T>(j)?;
		commit_votes::<T>(job_id, &jurors)?;
		enter_reveal_phase::<T>(job_id)?;
		let i = jurors.len() - 1;
		let claimed = Results::<T>::get(job_id)
			.ok_or(stop("no result"))?
			.output_hash;
		let vote = vote_of::<T>(job_id, i, claimed);
		#[extrinsic_call]
		_(
			RawOrigin::Signed(jurors[i].clone()),
			job_id,
			vote,
			[i as u8; 32],
		);
		Ok(())
	}

	#[benchmark]
	fn set_params() -> Result<(), BenchmarkError> {
		let mut params = Params::<T>::get();
		params.protocol_share = Perbill::from_percent(5);
		let origin =
			T::ParamsOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, params.clone());
		assert_eq!(Params::<T>::get(), params);
		Ok(())
	}

	#[benchmark]
	fn decide_dispute() -> Result<(), BenchmarkError> {
		Params::<T>::mutate(|p| p.audit_rate = Perbill::zero());
		let (model, workers) = market::<T>(JobKind::Embed, 1)?;
		let (job_id, _, _) = answered::<T>(model, &workers)?;
		let (challenger, salt) = committed_challenge::<T>(job_id)?;
		set_block::<T>(now::<T>().saturating_add(One::one()));
		Pallet::<T>::reveal_challenge(RawOrigin::Signed(challenger).into(), job_id, salt)?;
		// The jury draw finds nobody: the council decides.
		let at = next_settlement::<T>(job_id)?;
		fresh_randomness::<T>();
		set_block::<T>(at);
		Pallet::<T>::settle_block(at);
		let origin =
			T::DisputeOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, job_id, false);
		assert!(matches!(
			Jobs::<T>::get(job_id).map(|job| job.status),
			Some(JobStatus::Refunded { .. })
		));
		Ok(())
	}

	#[benchmark]
	fn on_initialize_empty() {
		let at = now::<T>().saturating_add(One::one());
		set_block::<T>(at);
		#[block]
		{
			Pallet::<T>::settle_block(at);
		}
	}

	#[benchmark]
	fn settle_stale() -> Result<(), BenchmarkError> {
		let (model, _) = market::<T>(JobKind::Embed, MAX_BENCH_WORKERS)?;
		let (job_id, _) = submit::<T>(model)?;
		let at = now::<T>().saturating_add(One::one());
		only_timeout::<T>(at, Timeout::Job(job_id));
		#[block]
		{
			Pallet::<T>::settle_block(at);
		}
		assert!(matches!(
			Jobs::<T>::get(job_id).map(|job| job.status),
			Some(JobStatus::Assigned { .. })
		));
		Ok(())
	}

	#[benchmark]
	fn settle_assign() -> Result<(), BenchmarkError> {
		let (model, _) = market::<T>(JobKind::Embed, MAX_BENCH_WORKERS)?;
		let (job_id, _) = submit_pending::<T>(model)?;
		let at = next_settlement::<T>(job_id)?;
		fresh_randomness::<T>();
		only_timeout::<T>(at, Timeout::Job(job_id));
		#[block]
		{
			Pallet::<T>::settle_block(at);
		}
		assert!(matches!(
			Jobs::<T>::get(job_id).map(|job| job.status),
			Some(JobStatus::Assigned { .. })
		));
		Ok(())
	}

	#[benchmark]
	fn settle_missed_deadline() -> Result<(), BenchmarkError> {
		let (model, _) = market::<T>(JobKind::Embed, MAX_BENCH_WORKERS)?;
		let (job_id, _) = submit::<T>(model)?;
		let Some(JobStatus::Assigned { deadline, .. }) = Jobs::<T>::get(job_id).map(|j| j.status)
		else {
			return Err(stop("not assigned"));
		};
		let at = deadline.saturating_add(One::one());
		only_timeout::<T>(at, Timeout::Job(job_id));
		#[block]
		{
			Pallet::<T>::settle_block(at);
		}
		assert!(matches!(
			Jobs::<T>::get(job_id).map(|job| job.status),
			Some(JobStatus::Pending { missed_by: Some(_) })
		));
		Ok(())
	}

	#[benchmark]
	fn settle_audit_draw(j: Linear<1, { T::MaxJurySize::get() }>) -> Result<(), BenchmarkError> {
		Params::<T>::mutate(|p| {
			p.jury_size = j;
			p.audit_rate = Perbill::one();
		});
		let (model, workers) = market::<T>(JobKind::Embed, MAX_BENCH_WORKERS)?;
		let (job_id, _, _) = answered::<T>(model, &workers)?;
		let at = next_settlement::<T>(job_id)?;
		fresh_randomness::<T>();
		only_timeout::<T>(at, Timeout::Job(job_id));
		#[block]
		{
			Pallet::<T>::settle_block(at);
		}
		assert!(Juries::<T>::contains_key(job_id));
		Ok(())
	}

	#[benchmark]
	fn settle_finalize() -> Result<(), BenchmarkError> {
		Params::<T>::mutate(|p| p.audit_rate = Perbill::zero());
		let (model, workers) = market::<T>(JobKind::Embed, MAX_BENCH_WORKERS)?;
		let (job_id, _, _) = answered::<T>(model, &workers)?;
		let Some(JobStatus::Committed { settle_at, .. }) = Jobs::<T>::get(job_id).map(|j| j.status)
		else {
			return Err(stop("not committed"));
		};
		// The audit draw (no audit) happens first, as on chain.
		let draw = next_settlement::<T>(job_id)?;
		fresh_randomness::<T>();
		set_block::<T>(draw);
		Pallet::<T>::settle_block(draw);
		only_timeout::<T>(settle_at, Timeout::Job(job_id));
		#[block]
		{
			Pallet::<T>::settle_block(settle_at);
		}
		assert!(matches!(
			Jobs::<T>::get(job_id).map(|job| job.status),
			Some(JobStatus::Finalized { .. })
		));
		Ok(())
	}

	#[benchmark]
	fn settle_dispute(j: Linear<1, { T::MaxJurySize::get() }>) -> Result<(), BenchmarkError> {
		let (job_id, jurors) = disputed::<T>(j)?;
		commit_votes::<T>(job_id, &jurors)?;
		enter_reveal_phase::<T>(job_id)?;
		let claimed = Results::<T>::get(job_id)
			.ok_or(stop("no result"))?
			.output_hash;
		for (i, juror) in jurors.iter().enumerate() {
			Pallet::<T>::reveal_vote(
				RawOrigin::Signed(juror.clone()).into(),
				job_id,
				vote_of::<T>(job_id, i, claimed),
				[i as u8; 32],
			)?;
		}
		let resolve_at = enter_reveal_phase::<T>(job_id)?;
		only_timeout::<T>(resolve_at, Timeout::Job(job_id));
		#[block]
		{
			Pallet::<T>::settle_block(resolve_at);
		}
		assert!(matches!(
			Jobs::<T>::get(job_id).map(|job| job.status),
			Some(JobStatus::Refunded { .. })
		));
		Ok(())
	}

	#[benchmark]
	fn settle_commitment_expiry() -> Result<(), BenchmarkError> {
		let (challenger, salt) = committed_challenge::<T>(0)?;
		let commitment = challenge_commitment(&challenger, 0, &salt);
		let expires_at = Commitments::<T>::get(commitment)
			.ok_or(stop("no commitment"))?
			.expires_at;
		let at = expires_at.saturating_add(One::one());
		only_timeout::<T>(at, Timeout::Commitment(commitment));
		#[block]
		{
			Pallet::<T>::settle_block(at);
		}
		assert!(!Commitments::<T>::contains_key(commitment));
		Ok(())
	}

	#[benchmark]
	fn settle_prune() -> Result<(), BenchmarkError> {
		let (model, _) = market::<T>(JobKind::Embed, MAX_BENCH_WORKERS)?;
		let (job_id, submitter) = submit_pending::<T>(model)?;
		Pallet::<T>::cancel_job(RawOrigin::Signed(submitter).into(), job_id)?;
		let Some(JobStatus::Refunded { prune_at, .. }) = Jobs::<T>::get(job_id).map(|j| j.status)
		else {
			return Err(stop("not refunded"));
		};
		only_timeout::<T>(prune_at, Timeout::Job(job_id));
		#[block]
		{
			Pallet::<T>::settle_block(prune_at);
		}
		assert!(!Jobs::<T>::contains_key(job_id));
		Ok(())
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_bench_ext(), crate::mock::Test);
}
