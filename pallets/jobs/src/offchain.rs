//! The off-chain worker: a worker node answers the jobs assigned to it and serves on its juries.
//!
//! Every block, for each worker account whose key the node holds ([`LocalWorkers`]):
//!
//! * **Assigned job**: ask the node for the output ([`inference::poll`]); the first ask queues the
//!   job and later blocks ask again until it is ready. Then sign the receipt with the worker's
//!   registered ed25519 key (from the keystore, key type [`RECEIPT_KEY_TYPE`]) and submit
//!   [`Call::submit_result`].
//! * **Jury seat, commit phase**: re-execute the same way, compare with the claimed output under
//!   the model's policy, keep the vote and a fresh salt in the node's persistent off-chain storage
//!   and submit [`Call::commit_vote`].
//! * **Jury seat, reveal phase**: read the kept vote and salt back and submit
//!   [`Call::reveal_vote`].
//!
//! Inference never runs here: the host function returns at once, and the node runs the model on
//! its own bounded queue, off the block-import path. A transaction sent for a job is not sent again
//! for [`RESEND_AFTER`] blocks (a lock in persistent off-chain storage, shared by overlapping
//! off-chain worker runs); after that, if the chain still waits for it, it is sent again.
//! Once the chain no longer waits for a step, its lock (past its window) and a juror's kept vote
//! are deleted, so the node's off-chain storage holds only what jobs in flight need.
//! Failures are logged and retried in the next block; nothing here panics.

use alloc::vec::Vec;
use codec::{Decode, Encode};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::{
	offchain::storage::{MutateStorageError, StorageRetrievalError, StorageValueRef},
	traits::Saturating,
};
use verity_inference_interface::{inference, InferencePoll};
use verity_primitives::{
	job::JobOutput,
	keys::RECEIPT_KEY_TYPE,
	policy::{self, VerificationPolicy},
	receipt::{JobId, ReceiptPayload},
	registry::{ModelRegistry, ModelSummary},
	workers::WorkerSelection,
};

use crate::{
	commitments::vote_commitment, BalanceOf, Call, Config, JobOf, JobStatus, Jobs, Juries, Pallet,
	Results, Vote,
};

const LOG_TARGET: &str = "runtime::jobs::ocw";

/// Blocks before a transaction sent for a job is sent again if the chain still waits for it.
pub const RESEND_AFTER: u32 = 4;

/// The steps a local account sends for a job, as named in their locks.
const STEP_ANSWER: &[u8] = b"answer";
const STEP_COMMIT: &[u8] = b"commit";
const STEP_REVEAL: &[u8] = b"reveal";

/// The worker accounts of this node and how their transactions are signed (the runtime signs with
/// the `vwrk` keys of the node's keystore).
pub trait LocalWorkers<T: Config> {
	/// The worker accounts whose signing keys the node holds.
	fn accounts() -> Vec<T::AccountId>;
	/// Signs `call` as `who` and puts it in the transaction pool.
	fn submit(who: &T::AccountId, call: Call<T>) -> Result<(), SubmitError>;
}

/// Why a transaction could not be put in the pool.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SubmitError {
	/// The node holds no key for the account.
	NoKey,
	/// The pool refused the transaction.
	Refused,
}

/// No local workers: a node that serves no jobs.
impl<T: Config> LocalWorkers<T> for () {
	fn accounts() -> Vec<T::AccountId> {
		Vec::new()
	}
	fn submit(_: &T::AccountId, _: Call<T>) -> Result<(), SubmitError> {
		Err(SubmitError::NoKey)
	}
}

/// What a juror keeps between the commit and the reveal of its vote.
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug)]
pub struct KeptVote {
	/// The vote committed to.
	pub vote: Vote,
	/// Its secret salt.
	pub salt: [u8; 32],
}

impl<T: Config> Pallet<T> {
	/// One off-chain worker run, after block `now` was imported.
	pub fn run_offchain_worker(now: BlockNumberFor<T>) {
		let locals = T::LocalWorkers::accounts();
		if locals.is_empty() {
			return;
		}
		for (job_id, job) in Jobs::<T>::iter() {
			match &job.status {
				JobStatus::Assigned {
					worker, deadline, ..
				} if locals.contains(worker) && now < *deadline => {
					Self::answer(now, job_id, &job, worker);
				}
				JobStatus::Disputed {
					commit_until,
					resolve_at,
					by_council: false,
					..
				} => {
					let Some(jury) = Juries::<T>::get(job_id) else {
						continue;
					};
					for (juror, seat) in jury
						.members
						.iter()
						.filter(|(juror, _)| locals.contains(juror))
					{
						if seat.commitment.is_none() && now < *commit_until {
							Self::commit_juror_vote(now, job_id, &job, juror);
						} else if seat.commitment.is_some()
							&& seat.vote.is_none()
							&& now >= *commit_until
							&& now.saturating_add(1u32.into()) < *resolve_at
						{
							Self::reveal_juror_vote(now, job_id, juror);
						} else if seat.vote.is_some() {
							// Revealed on chain: the kept vote and salt are no longer needed.
							Self::forget(now, job_id, juror, &[STEP_COMMIT, STEP_REVEAL]);
						}
					}
				}
				// Answered or settled: nothing more will be sent for the job.
				JobStatus::Committed { .. }
				| JobStatus::Finalized { .. }
				| JobStatus::Refunded { .. } => {
					for who in &locals {
						Self::forget(now, job_id, who, &[STEP_ANSWER, STEP_COMMIT, STEP_REVEAL]);
					}
				}
				_ => {}
			}
		}
	}

	/// Deletes what `who` keeps for `steps` of `job_id` once the chain no longer waits for
	/// them: each step's lock once past its [`RESEND_AFTER`] window (until then it still
	/// stops a slower, overlapping run from sending the step again) and, with the commit step,
	/// the kept vote. Reads first: nothing is written when there is nothing to delete.
	fn forget(now: BlockNumberFor<T>, job_id: JobId, who: &T::AccountId, steps: &[&[u8]]) {
		for step in steps {
			let key = Self::sent_key(step, job_id, who);
			let mut lock = StorageValueRef::persistent(&key);
			match lock.get::<BlockNumberFor<T>>() {
				Ok(Some(at)) if now < at.saturating_add(RESEND_AFTER.into()) => {}
				Ok(None) => {}
				// Past its window, or unreadable.
				_ => lock.clear(),
			}
			if *step == STEP_COMMIT {
				let key = Self::vote_key(job_id, who);
				let mut kept = StorageValueRef::persistent(&key);
				if !matches!(kept.get::<KeptVote>(), Ok(None)) {
					kept.clear();
				}
			}
		}
	}

	/// The output of `job` and the registry's summary of its model, if the node has the output
	/// ready; otherwise logs why not.
	fn infer(job_id: JobId, job: &JobOf<T>) -> Option<(JobOutput, ModelSummary<BalanceOf<T>>)> {
		let Some(summary) = T::Models::model(job.model) else {
			log::warn!(target: LOG_TARGET, "job {job_id}: model {} is not in the registry", job.model);
			return None;
		};
		match inference::poll(summary.model_hash.0, job.input.clone()) {
			InferencePoll::Pending => {
				log::debug!(target: LOG_TARGET, "job {job_id}: inference pending");
				None
			}
			InferencePoll::Ready(output) => Some((output, summary)),
			InferencePoll::Failed(error) => {
				log::warn!(
					target: LOG_TARGET,
					"job {job_id}: inference failed ({}); retrying in the next block",
					error.describe()
				);
				None
			}
		}
	}

	/// Answers an assigned job as `worker`.
	fn answer(now: BlockNumberFor<T>, job_id: JobId, job: &JobOf<T>, worker: &T::AccountId) {
		let Some((output, model)) = Self::infer(job_id, job) else {
			return;
		};
		let Some(receipt_key) = T::Workers::receipt_key(worker) else {
			log::error!(target: LOG_TARGET, "job {job_id}: the worker has no registered receipt key");
			return;
		};
		let payload = ReceiptPayload {
			genesis_hash: Self::genesis_hash(),
			job_id,
			model_hash: model.model_hash,
			input_hash: job.input_hash,
			output_hash: output.hash(),
		};
		let Some(receipt_signature) =
			sp_io::crypto::ed25519_sign(RECEIPT_KEY_TYPE, &receipt_key, &payload.signing_payload())
		else {
			log::error!(
				target: LOG_TARGET,
				"job {job_id}: the receipt key {receipt_key:?} is not in the keystore (key type vrcp)"
			);
			return;
		};
		Self::send_once(
			now,
			STEP_ANSWER,
			job_id,
			worker,
			Call::submit_result {
				job_id,
				output,
				receipt_signature,
			},
		);
	}

	/// Re-executes a disputed job as juror `juror` and commits to the vote.
	fn commit_juror_vote(
		now: BlockNumberFor<T>,
		job_id: JobId,
		job: &JobOf<T>,
		juror: &T::AccountId,
	) {
		let key = Self::vote_key(job_id, juror);
		let kept = StorageValueRef::persistent(&key);
		let vote = match kept.get::<KeptVote>() {
			Ok(Some(vote)) => vote,
			_ => {
				let Some((recomputed, model)) = Self::infer(job_id, job) else {
					return;
				};
				let Some(claimed) = Results::<T>::get(job_id) else {
					return;
				};
				let policy = model.policy;
				let output_hash = recomputed.hash();
				let confirms = match policy {
					VerificationPolicy::Exact => output_hash == claimed.output_hash,
					VerificationPolicy::Tolerance { .. } => {
						policy::check(policy, &claimed.output, &recomputed).is_ok()
					}
				};
				let vote = KeptVote {
					vote: Vote {
						output_hash,
						confirms,
					},
					salt: sp_io::offchain::random_seed(),
				};
				// Kept before the commitment is sent, so the reveal never lacks it.
				kept.set(&vote);
				vote
			}
		};
		let commitment = vote_commitment(juror, job_id, &vote.vote, &vote.salt);
		Self::send_once(
			now,
			STEP_COMMIT,
			job_id,
			juror,
			Call::commit_vote { job_id, commitment },
		);
	}

	/// Reveals the vote `juror` committed to.
	fn reveal_juror_vote(now: BlockNumberFor<T>, job_id: JobId, juror: &T::AccountId) {
		let key = Self::vote_key(job_id, juror);
		let kept = StorageValueRef::persistent(&key);
		let Ok(Some(KeptVote { vote, salt })) = kept.get::<KeptVote>() else {
			log::error!(
				target: LOG_TARGET,
				"job {job_id}: no kept vote to reveal (was the node's off-chain database lost?)"
			);
			return;
		};
		Self::send_once(
			now,
			STEP_REVEAL,
			job_id,
			juror,
			Call::reveal_vote { job_id, vote, salt },
		);
	}

	/// Sends `call` as `who` unless a transaction for the same step of the same job was sent in
	/// the last [`RESEND_AFTER`] blocks.
	fn send_once(
		now: BlockNumberFor<T>,
		step: &[u8],
		job_id: JobId,
		who: &T::AccountId,
		call: Call<T>,
	) {
		let key = Self::sent_key(step, job_id, who);
		let mut lock = StorageValueRef::persistent(&key);
		let claimed = lock.mutate(
			|sent: Result<Option<BlockNumberFor<T>>, StorageRetrievalError>| match sent {
				Ok(Some(at)) if now < at.saturating_add(RESEND_AFTER.into()) => Err(()),
				_ => Ok(now),
			},
		);
		match claimed {
			Ok(_) => {}
			Err(MutateStorageError::ValueFunctionFailed(())) => return,
			Err(MutateStorageError::ConcurrentModification(_)) => return,
		}
		match T::LocalWorkers::submit(who, call) {
			Ok(()) => log::info!(
				target: LOG_TARGET,
				"job {job_id}: sent {}",
				core::str::from_utf8(step).unwrap_or("transaction")
			),
			Err(error) => {
				log::warn!(target: LOG_TARGET, "job {job_id}: could not send: {error:?}");
				// Let the next block try again.
				lock.clear();
			}
		}
	}

	/// Where the lock of `step` of `job_id` sent by `who` lives.
	fn sent_key(step: &[u8], job_id: JobId, who: &T::AccountId) -> Vec<u8> {
		(b"verity/jobs/sent/", step, job_id, who).encode()
	}

	/// Where a juror keeps its vote and salt.
	fn vote_key(job_id: JobId, juror: &T::AccountId) -> Vec<u8> {
		(b"verity/jobs/vote/", job_id, juror).encode()
	}
}
