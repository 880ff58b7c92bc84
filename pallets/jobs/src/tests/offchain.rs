//! The off-chain worker against a fake engine: it answers assigned jobs with a signed receipt the
//! chain accepts, sends each transaction once, never panics without an engine, and a jury of
//! off-chain workers commits and reveals the votes that reject a lie, for a generation (exact
//! policy) and for an embedding (tolerance policy: a small difference is confirmed, a large one
//! rejected).

use std::{
	collections::BTreeSet,
	sync::{Arc, Mutex},
};

use sp_core::offchain::{testing::TestOffchainExt, OffchainDbExt, OffchainWorkerExt};
use sp_keystore::{testing::MemoryKeystore, Keystore, KeystoreExt};
use verity_inference_interface::{InferenceBackend, InferenceExt, InferencePoll};
use verity_primitives::keys::RECEIPT_KEY_TYPE;

use codec::Encode;

use super::*;
use crate::offchain::RESEND_AFTER;

/// A fake engine with a queue, like the node's: an ask queues the input and answers `Pending`;
/// once the test calls [`FakeEngine::run_queue`], asks answer the output of [`honest`].
#[derive(Default)]
struct FakeEngine {
	queued: Mutex<BTreeSet<Hash>>,
	done: Mutex<BTreeSet<Hash>>,
}

impl FakeEngine {
	/// Runs everything queued.
	fn run_queue(&self) {
		let queued = std::mem::take(&mut *self.queued.lock().unwrap());
		self.done.lock().unwrap().extend(queued);
	}
}

impl InferenceBackend for FakeEngine {
	fn poll(&self, _model_hash: [u8; 32], input: JobInput) -> InferencePoll {
		if !self.done.lock().unwrap().contains(&input.hash()) {
			self.queued.lock().unwrap().insert(input.hash());
			return InferencePoll::Pending;
		}
		match input {
			JobInput::Generate { prompt, .. } => {
				InferencePoll::Ready(honest(core::str::from_utf8(&prompt).unwrap()))
			}
			JobInput::Embed { texts } => InferencePoll::Ready(honest_embedding(texts.len())),
		}
	}
}

/// What an honest engine answers to an embedding job of `texts` texts, each value moved by
/// `shift`.
fn embedding_of(texts: usize, shift: f32) -> JobOutput {
	let vector = Embedding::from_f32(&[0.25 + shift, -0.5 + shift, 0.125 + shift]).unwrap();
	JobOutput::embedded(vec![vector; texts]).unwrap()
}

/// What an honest engine answers to an embedding job of `texts` texts.
fn honest_embedding(texts: usize) -> JobOutput {
	embedding_of(texts, 0.0)
}

/// What an honest engine answers to `prompt`.
fn honest(prompt: &str) -> JobOutput {
	answer(&format!("answer to {prompt}"))
}

/// The prompt of [`submit`].
const PROMPT: &str = "What is 2 + 2?";

/// Test externalities with an off-chain database, a keystore holding every worker's receipt key,
/// and (if `engine`) the fake engine, which is returned too.
fn offchain_ext(engine: bool) -> (sp_io::TestExternalities, Arc<FakeEngine>) {
	let mut ext = new_test_ext();
	let (offchain, _state) = TestOffchainExt::new();
	ext.register_extension(OffchainWorkerExt::new(offchain.clone()));
	ext.register_extension(OffchainDbExt::new(offchain));
	let keystore = MemoryKeystore::new();
	for worker in WORKERS {
		let seed = format!("0x{}", hex_of(&[worker as u8; 32]));
		keystore
			.ed25519_generate_new(RECEIPT_KEY_TYPE, Some(&seed))
			.expect("a receipt key");
	}
	ext.register_extension(KeystoreExt::new(keystore));
	let fake = Arc::new(FakeEngine::default());
	if engine {
		ext.register_extension(InferenceExt::new(fake.clone()));
	}
	(ext, fake)
}

fn hex_of(bytes: &[u8]) -> String {
	bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs the off-chain worker after the current block.
fn offchain_worker() {
	Jobs::run_offchain_worker(System::block_number());
}

/// The lock of `step` that `who` took for `job_id`, if the node still keeps it.
fn sent_lock(step: &[u8], job_id: JobId, who: AccountId) -> Option<Vec<u8>> {
	let key = (b"verity/jobs/sent/", step, job_id, who).encode();
	sp_io::offchain::local_storage_get(sp_core::offchain::StorageKind::PERSISTENT, &key)
}

/// Dispatches `call` as `who` signed it.
fn dispatch(who: AccountId, call: crate::Call<Test>) {
	use frame_support::traits::UnfilteredDispatchable;
	assert_ok!(call.dispatch_bypass_filter(RuntimeOrigin::signed(who)));
}

#[test]
fn an_assigned_worker_answers_with_a_receipt_the_chain_accepts() {
	let (mut ext, engine) = offchain_ext(true);
	ext.execute_with(|| {
		// Time for the resend below within the answer window.
		set_params(|p| {
			p.audit_rate = Perbill::zero();
			p.execution_window = 20;
		});
		register_all(&WORKERS);
		let job_id = submit(ALICE, 100);
		let worker = assigned_worker(job_id);
		// Another node's workers do nothing.
		MockLocalWorkers::set(&[WORKERS.iter().copied().find(|w| *w != worker).unwrap()]);
		offchain_worker();
		offchain_worker();
		assert!(MockLocalWorkers::take_sent().is_empty());

		MockLocalWorkers::set(&[worker]);
		// First run: the engine queues the job.
		offchain_worker();
		assert!(
			MockLocalWorkers::take_sent().is_empty(),
			"nothing to send while pending"
		);
		// Next block: the output is ready and the answer goes out, signed by the worker.
		engine.run_queue();
		let sent_at = System::block_number() + 1;
		run_to_block(sent_at);
		offchain_worker();
		let sent = MockLocalWorkers::take_sent();
		assert_eq!(sent.len(), 1);
		let (signer, call) = sent[0].clone();
		assert_eq!(signer, worker);
		let crate::Call::submit_result {
			job_id: answered,
			ref output,
			..
		} = call
		else {
			panic!("expected submit_result, got {call:?}");
		};
		assert_eq!(answered, job_id);
		assert_eq!(*output, honest(PROMPT));

		// An overlapping run does not send it again while it is on its way ...
		offchain_worker();
		run_to_block(sent_at + RESEND_AFTER as u64 - 1);
		offchain_worker();
		assert!(MockLocalWorkers::take_sent().is_empty());
		// ... but does once it looks lost.
		run_to_block(sent_at + RESEND_AFTER as u64);
		offchain_worker();
		assert_eq!(MockLocalWorkers::take_sent(), vec![(signer, call.clone())]);

		// The chain accepts the answer: the receipt verifies with the registered key.
		dispatch(worker, call);
		assert!(matches!(status(job_id), JobStatus::Committed { .. }));
		// Answered: the lock stays through its window (a slower run must not resend) ...
		offchain_worker();
		assert!(sent_lock(b"answer", job_id, worker).is_some());
		// ... then goes; nothing more is sent.
		run_to_block(System::block_number() + RESEND_AFTER as u64);
		offchain_worker();
		assert!(MockLocalWorkers::take_sent().is_empty());
		assert_eq!(
			sent_lock(b"answer", job_id, worker),
			None,
			"the answer's lock is deleted"
		);
	});
}

#[test]
fn without_an_engine_the_worker_sends_nothing_and_does_not_panic() {
	let (mut ext, _) = offchain_ext(false);
	ext.execute_with(|| {
		register_all(&WORKERS);
		let job_id = submit(ALICE, 100);
		MockLocalWorkers::set(&[assigned_worker(job_id)]);
		for block in 2..6 {
			run_to_block(block);
			offchain_worker();
		}
		assert!(MockLocalWorkers::take_sent().is_empty());
		assert!(matches!(status(job_id), JobStatus::Assigned { .. }));
	});
}

#[test]
fn a_job_past_its_answer_window_is_left_alone() {
	let (mut ext, engine) = offchain_ext(true);
	ext.execute_with(|| {
		no_audits();
		register_all(&WORKERS);
		let job_id = submit(ALICE, 100);
		let JobStatus::Assigned {
			worker, deadline, ..
		} = status(job_id)
		else {
			unreachable!()
		};
		MockLocalWorkers::set(&[worker]);
		offchain_worker();
		engine.run_queue();
		// A transaction sent after the deadline's block could not land in time.
		run_to_block(deadline);
		offchain_worker();
		assert!(MockLocalWorkers::take_sent().is_empty());
	});
}

#[test]
fn off_chain_jurors_commit_and_reveal_votes_that_reject_a_lie() {
	let (mut ext, engine) = offchain_ext(true);
	ext.execute_with(|| {
		no_audits();
		register_all(&WORKERS);
		let job_id = submit(ALICE, 100);
		let liar = answer_with(job_id, &answer("5"));
		challenge(CHALLENGER, job_id);
		let jurors = jury(job_id);
		assert_eq!(
			seats(job_id).iter().map(|(_, n)| n).sum::<u32>(),
			3,
			"three seats"
		);
		assert!(!jurors.contains(&liar));
		let JobStatus::Disputed {
			commit_until,
			resolve_at,
			..
		} = status(job_id)
		else {
			panic!("disputed");
		};
		MockLocalWorkers::set(&WORKERS);

		// Commit phase: the first run queues the re-execution, the second commits.
		offchain_worker();
		assert!(MockLocalWorkers::take_sent().is_empty());
		engine.run_queue();
		run_to_block(System::block_number() + 1);
		assert!(System::block_number() < commit_until);
		offchain_worker();
		let commits = MockLocalWorkers::take_sent();
		assert_eq!(
			commits.len(),
			jurors.len(),
			"one commitment per local juror, whatever its seats"
		);
		for (juror, call) in &commits {
			assert!(jurors.contains(juror));
			assert!(matches!(call, crate::Call::commit_vote { .. }));
		}
		for (who, call) in commits {
			dispatch(who, call);
		}
		assert!(jurors
			.iter()
			.all(|juror| sent_lock(b"commit", job_id, *juror).is_some()));

		let kept = |juror: &AccountId| {
			let key = (b"verity/jobs/vote/", job_id, juror).encode();
			sp_io::offchain::local_storage_get(sp_core::offchain::StorageKind::PERSISTENT, &key)
		};
		assert!(
			jurors.iter().all(|juror| kept(juror).is_some()),
			"votes kept for the reveal"
		);

		// Reveal phase: the kept votes come back with their salts and match the commitments.
		run_to_block(commit_until);
		offchain_worker();
		let reveals = MockLocalWorkers::take_sent();
		assert_eq!(reveals.len(), jurors.len());
		for (_, call) in &reveals {
			let crate::Call::reveal_vote { vote, .. } = call else {
				panic!("expected reveal_vote, got {call:?}");
			};
			assert_eq!(vote.output_hash, honest(PROMPT).hash());
			assert!(!vote.confirms, "the honest output differs from the lie");
		}
		run_to_block(commit_until + 1);
		for (who, call) in reveals {
			dispatch(who, call);
		}
		// Revealed on chain: the next run forgets the kept votes.
		offchain_worker();
		assert!(
			jurors.iter().all(|juror| kept(juror).is_none()),
			"kept votes forgotten"
		);
		run_to_block(resolve_at);
		assert!(
			events().contains(&Event::DisputeResolved {
				job_id,
				outcome: DisputeOutcome::ResultRejected,
				confirming: 0,
				rejecting: 3,
			}),
			"every seat rejects"
		);
		assert_eq!(faults(liar, FaultKind::WrongResult), 1);
		offchain_worker();
		assert!(
			MockLocalWorkers::take_sent().is_empty(),
			"nothing left to send"
		);
		// Settled: once past their windows, the jurors' locks are deleted too.
		run_to_block(resolve_at + RESEND_AFTER as u64);
		offchain_worker();
		for juror in &jurors {
			for step in [&b"commit"[..], b"reveal"] {
				assert_eq!(sent_lock(step, job_id, *juror), None, "{juror}'s lock");
			}
		}
		Jobs::do_try_state().expect("the books balance");
	});
}

/// Off-chain jurors of an embedding model (tolerance policy, 100 ppm here) re-execute, compare
/// values within the tolerance, and vote: a claim off by 2·10⁻⁵ (other bits, same answer) is
/// confirmed; one off by 10⁻² is rejected and its worker slashed.
#[test]
fn off_chain_jurors_of_a_tolerance_model_confirm_small_and_reject_large_differences() {
	for (shift, rejected) in [(2e-5f32, false), (1e-2, true)] {
		let (mut ext, engine) = offchain_ext(true);
		ext.execute_with(|| {
			no_audits();
			for worker in WORKERS {
				register(worker, &[EMBED]);
			}
			let input = JobInput::embed(&["a", "b"]).unwrap();
			let job_id = crate::NextJobId::<Test>::get();
			assert_ok!(Jobs::submit_job(
				RuntimeOrigin::signed(ALICE),
				EMBED,
				input,
				100
			));
			run_to_next_settlement(job_id);
			let claimed = embedding_of(2, shift);
			let worker = answer_with(job_id, &claimed);
			challenge(CHALLENGER, job_id);
			let jurors = jury(job_id);
			// Votes count once per seat.
			let votes = seats(job_id).iter().map(|(_, n)| n).sum::<u32>();
			assert_eq!(votes, 3, "three seats");
			let JobStatus::Disputed {
				commit_until,
				resolve_at,
				..
			} = status(job_id)
			else {
				panic!("disputed");
			};
			MockLocalWorkers::set(&jurors);
			offchain_worker();
			engine.run_queue();
			offchain_worker();
			for (who, call) in MockLocalWorkers::take_sent() {
				dispatch(who, call);
			}
			run_to_block(commit_until + 1);
			offchain_worker();
			let reveals = MockLocalWorkers::take_sent();
			assert_eq!(reveals.len(), jurors.len());
			for (who, call) in reveals {
				let crate::Call::reveal_vote { vote, .. } = &call else {
					panic!("expected reveal_vote, got {call:?}");
				};
				assert_eq!(vote.output_hash, honest_embedding(2).hash());
				assert_eq!(vote.confirms, !rejected, "shift {shift}");
				dispatch(who, call);
			}
			run_to_block(resolve_at);
			let outcome = if rejected {
				DisputeOutcome::ResultRejected
			} else {
				DisputeOutcome::ResultUpheld
			};
			assert!(events().contains(&Event::DisputeResolved {
				job_id,
				outcome,
				confirming: if rejected { 0 } else { votes },
				rejecting: if rejected { votes } else { 0 },
			}));
			assert_eq!(faults(worker, FaultKind::WrongResult), u32::from(rejected));
			Jobs::do_try_state().expect("the books balance");
		});
	}
}
