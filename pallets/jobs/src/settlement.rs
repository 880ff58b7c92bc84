//! Settlement: what happens to jobs when time passes, and where the money goes.
//!
//! `on_initialize` takes the block's [`Timeout`]s (at most [`Config::MaxTimeoutsPerBlock`]) and
//! looks at each job's status to see which moment has come:
//!
//! * **Assigned** past its deadline: the worker is slashed [`JobParams::slash_missed_deadline`]
//!   (to the treasury); the job goes to a second worker once, then is refunded.
//! * **Committed**, the block after the result: the audit draw, from this block's randomness. An
//!   audited result is disputed before a jury like a challenged one.
//! * **Committed** at the end of its window: finalized. The worker gets the fee minus
//!   [`JobParams::protocol_share`], which goes to the treasury.
//! * **Disputed** at its end: the revealed votes are counted (see [`Pallet::resolve_dispute`]).
//!
//! Money never appears or vanishes here: fees and bonds move from holds to accounts, slashes
//! arrive as credits, and every remainder of a split goes to [`Config::ProtocolFees`].

use alloc::vec::Vec;
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::{Balanced, BalancedHold, MutateHold},
		tokens::{Fortitude, Precision, Restriction},
		Imbalance, OnUnbalanced,
	},
};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::{
	traits::{Saturating, Zero},
	Perbill,
};
use verity_primitives::{
	receipt::JobId,
	registry::ModelRegistry,
	workers::{FaultKind, Slashing, WorkerSelection},
};

use crate::{
	pallet::{
		BalanceOf, Challenges, Commitments, Config, CreditOf, Event, HoldReason, JobOf, Jobs,
		Juries, JuryOf, Pallet, Params, Results, Timeouts,
	},
	weights::WeightInfo,
	DisputeOutcome, JobStatus, RefundReason, Timeout,
};

/// How many blocks past the one asked for [`Pallet::schedule`] looks for room in the queue.
pub const SCHEDULE_SPREAD: u32 = 8;

impl<T: Config> Pallet<T> {
	/// Settles everything queued for block `now`; returns the weight used.
	pub(crate) fn settle_block(now: BlockNumberFor<T>) -> Weight {
		let timeouts = Timeouts::<T>::take(now);
		let mut weight = T::WeightInfo::on_initialize_empty();
		for timeout in timeouts {
			weight.saturating_accrue(match timeout {
				Timeout::Job(job_id) => Self::settle_job(job_id, now),
				Timeout::Commitment(commitment) => Self::expire_commitment(commitment, now),
				Timeout::Prune(job_id) => Self::prune(job_id),
			});
		}
		weight
	}

	/// Acts on the moment that has come for `job_id`, if any (a queued entry may be stale: the
	/// job moved on since).
	fn settle_job(job_id: JobId, now: BlockNumberFor<T>) -> Weight {
		let Some(mut job) = Jobs::<T>::get(job_id) else {
			return T::WeightInfo::settle_stale();
		};
		let weight = match job.status.clone() {
			JobStatus::Assigned {
				worker,
				deadline,
				reassigned,
			} if now > deadline => {
				Self::missed_deadline(job_id, &mut job, worker, reassigned);
				T::WeightInfo::settle_missed_deadline()
			}
			JobStatus::Committed {
				worker,
				audit_draw_at,
				audit_decided: false,
				settle_at,
			} if now >= audit_draw_at => {
				let audited = Self::draw_audit(job_id);
				if audited {
					Self::deposit_event(Event::AuditStarted { job_id });
					Self::open_audit(job_id, &mut job, worker);
				} else {
					job.status = JobStatus::Committed {
						worker,
						audit_draw_at,
						audit_decided: true,
						settle_at,
					};
				}
				if now >= settle_at && matches!(job.status, JobStatus::Committed { .. }) {
					Self::finalize(job_id, &mut job, &[]);
				}
				T::WeightInfo::settle_audit_draw(T::MaxJurySize::get())
			}
			JobStatus::Committed {
				audit_decided: true,
				settle_at,
				..
			} if now >= settle_at => {
				Self::finalize(job_id, &mut job, &[]);
				T::WeightInfo::settle_finalize()
			}
			JobStatus::Disputed { resolve_at, .. } if now >= resolve_at => {
				Self::resolve_dispute(job_id, &mut job, None);
				T::WeightInfo::settle_dispute(T::MaxJurySize::get())
			}
			_ => return T::WeightInfo::settle_stale(),
		};
		Jobs::<T>::insert(job_id, job);
		weight
	}

	/// Whether the result of `job_id` is audited: drawn from this block's randomness.
	fn draw_audit(job_id: JobId) -> bool {
		let rate = Params::<T>::get().audit_rate;
		let seed = Self::seed(b"verity/audit", job_id, 0);
		// 64 random bits reduced modulo 10^9: the bias of the reduction is below 10^-9 (32 bits
		// would favour the low quarter of the range by a fifth).
		let mut bytes = [0u8; 8];
		bytes.copy_from_slice(&seed.as_bytes()[..8]);
		let point = (u64::from_le_bytes(bytes) % 1_000_000_000) as u32;
		Perbill::from_parts(point) < rate
	}

	/// A missed deadline: slash, then reassign once or refund.
	fn missed_deadline(job_id: JobId, job: &mut JobOf<T>, worker: T::AccountId, reassigned: bool) {
		let params = Params::<T>::get();
		let credit = Self::slash(
			job_id,
			&worker,
			params.slash_missed_deadline,
			FaultKind::MissedDeadline,
		);
		T::ProtocolFees::on_unbalanced(credit);
		T::Slashing::note_job_finished(&worker, job.fee, false);
		if !reassigned && T::Models::accepts_jobs(job.model) {
			let seed = Self::seed(b"verity/assign", job_id, 1);
			let exclude = [job.submitter.clone(), worker];
			if let Some(next) = T::Workers::select(job.model, &exclude, seed, 1, job.fee).pop() {
				let now = frame_system::Pallet::<T>::block_number();
				let deadline = now.saturating_add(params.execution_window);
				if T::Slashing::note_job_started(&next, job.fee).is_ok() {
					if Self::schedule(deadline.saturating_add(One::one()), Timeout::Job(job_id))
						.is_ok()
					{
						job.status = JobStatus::Assigned {
							worker: next.clone(),
							deadline,
							reassigned: true,
						};
						Self::deposit_event(Event::JobAssigned {
							job_id,
							worker: next,
							deadline,
						});
						return;
					}
					T::Slashing::note_job_finished(&next, job.fee, false);
				}
			}
		}
		Self::refund(job_id, job, RefundReason::NoWorker);
	}

	/// The jury a dispute over `job` can have: odd, at most `jury_size`, from the eligible workers.
	fn jury_size(job: &JobOf<T>, exclude: &[T::AccountId]) -> u32 {
		let wanted = Params::<T>::get().jury_size.min(T::MaxJurySize::get());
		let eligible = T::Workers::eligible_count(job.model, exclude, Zero::zero());
		let size = wanted.min(eligible);
		if size % 2 == 0 {
			size.saturating_sub(1)
		} else {
			size
		}
	}

	/// Draws and seats a jury for `job_id`; returns `false` when none can be drawn or queued.
	fn seat_jury(job_id: JobId, job: &mut JobOf<T>, exclude: &[T::AccountId], size: u32) -> bool {
		let params = Params::<T>::get();
		let now = frame_system::Pallet::<T>::block_number();
		let commit_until = now.saturating_add(params.jury_commit_window);
		let resolve_at = commit_until
			.saturating_add(params.jury_reveal_window)
			.saturating_add(One::one());
		let seed = Self::seed(b"verity/jury", job_id, 0);
		let jurors = T::Workers::select(job.model, exclude, seed, size, Zero::zero());
		if jurors.is_empty() || Self::schedule(resolve_at, Timeout::Job(job_id)).is_err() {
			return false;
		}
		let mut jury = JuryOf::<T>::default();
		for juror in &jurors {
			if T::Slashing::note_job_started(juror, Zero::zero()).is_ok() {
				let _ = jury.try_push((juror.clone(), Default::default()));
			}
		}
		let (worker, challenger) = match &job.status {
			JobStatus::Committed { worker, .. } => (worker.clone(), None),
			JobStatus::Disputed {
				worker, challenger, ..
			} => (worker.clone(), challenger.clone()),
			_ => return false,
		};
		Juries::<T>::insert(job_id, jury);
		job.status = JobStatus::Disputed {
			worker,
			challenger,
			commit_until,
			resolve_at,
			by_council: false,
		};
		Self::deposit_event(Event::JuryDrawn {
			job_id,
			jurors,
			commit_until,
			resolve_at,
		});
		true
	}

	/// Starts an audit of a committed result, or skips it (with an event) when no jury can sit.
	fn open_audit(job_id: JobId, job: &mut JobOf<T>, worker: T::AccountId) {
		let exclude = [worker, job.submitter.clone()];
		let size = Self::jury_size(job, &exclude);
		if size == 0 || !Self::seat_jury(job_id, job, &exclude, size) {
			if let JobStatus::Committed { audit_decided, .. } = &mut job.status {
				*audit_decided = true;
			}
			Self::deposit_event(Event::AuditSkipped { job_id });
		}
	}

	/// Opens the dispute of a challenged result: a jury, or the council when none can sit.
	pub(crate) fn open_dispute(
		job_id: JobId,
		job: &mut JobOf<T>,
		worker: T::AccountId,
		challenger: Option<T::AccountId>,
	) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		let mut exclude = alloc::vec![worker.clone(), job.submitter.clone()];
		exclude.extend(challenger.clone());
		// The jury's own fields are set by `seat_jury`; this marks who is accused and by whom.
		job.status = JobStatus::Disputed {
			worker: worker.clone(),
			challenger: challenger.clone(),
			commit_until: now,
			resolve_at: now,
			by_council: false,
		};
		let size = Self::jury_size(job, &exclude);
		if size > 0 && Self::seat_jury(job_id, job, &exclude, size) {
			return Ok(());
		}
		let resolve_at = now.saturating_add(Params::<T>::get().council_window);
		let resolve_at = Self::schedule(resolve_at, Timeout::Job(job_id))?;
		job.status = JobStatus::Disputed {
			worker,
			challenger,
			commit_until: now,
			resolve_at,
			by_council: true,
		};
		Self::deposit_event(Event::DisputeReferredToCouncil { job_id, resolve_at });
		Ok(())
	}

	/// Counts the revealed votes of a dispute (or takes the council's ruling), pays and slashes.
	///
	/// The result is rejected only when more revealed votes reject it than confirm it. Jurors
	/// who did not reveal, and jurors who voted against the outcome, are slashed
	/// [`JobParams::slash_juror`]. With no revealed vote an audit upholds the result (there is no
	/// evidence against it) and a challenge ends with [`DisputeOutcome::NoVerdict`].
	pub(crate) fn resolve_dispute(
		job_id: JobId,
		job: &mut JobOf<T>,
		ruling: Option<DisputeOutcome>,
	) {
		let JobStatus::Disputed {
			worker, challenger, ..
		} = job.status.clone()
		else {
			return;
		};
		let params = Params::<T>::get();
		let jury = Juries::<T>::take(job_id).unwrap_or_default();
		let votes = jury.iter().filter_map(|(_, seat)| seat.vote);
		let confirming = votes.clone().filter(|vote| vote.confirms).count() as u32;
		let rejecting = votes.filter(|vote| !vote.confirms).count() as u32;
		let outcome = ruling.unwrap_or(if confirming + rejecting == 0 {
			if challenger.is_some() {
				DisputeOutcome::NoVerdict
			} else {
				DisputeOutcome::ResultUpheld
			}
		} else if rejecting > confirming {
			DisputeOutcome::ResultRejected
		} else {
			DisputeOutcome::ResultUpheld
		});
		Self::deposit_event(Event::DisputeResolved {
			job_id,
			outcome,
			confirming,
			rejecting,
		});

		// Jurors: the majority is paid below; the others are slashed to the jury's pot.
		let majority_confirms = outcome == DisputeOutcome::ResultUpheld;
		let mut honest = Vec::new();
		let mut pot = CreditOf::<T>::zero();
		for (juror, seat) in jury.iter() {
			T::Slashing::note_job_finished(juror, Zero::zero(), false);
			match seat.vote {
				Some(vote)
					if outcome != DisputeOutcome::NoVerdict
						&& vote.confirms == majority_confirms =>
				{
					honest.push(juror.clone())
				}
				Some(_) => pot.subsume(Self::slash(
					job_id,
					juror,
					params.slash_juror,
					FaultKind::JurorMinority,
				)),
				None => pot.subsume(Self::slash(
					job_id,
					juror,
					params.slash_juror,
					FaultKind::JurorNoReveal,
				)),
			}
		}
		let challenge = Challenges::<T>::take(job_id);

		match outcome {
			DisputeOutcome::ResultRejected => {
				let slashed = Self::slash(
					job_id,
					&worker,
					params.slash_wrong_result,
					FaultKind::WrongResult,
				);
				T::Slashing::note_job_finished(&worker, job.fee, false);
				let total = slashed.peek();
				pot.subsume(slashed);
				if let Some(challenge) = &challenge {
					Self::release(
						HoldReason::ChallengeBond,
						&challenge.challenger,
						challenge.bond,
					);
					let reward = pot.extract(params.winner_share * total);
					Self::pay(reward, &challenge.challenger);
				}
				let jury_part = pot.extract(params.jury_share * total);
				Self::share(jury_part, &honest);
				T::ProtocolFees::on_unbalanced(pot);
				Self::refund(job_id, job, RefundReason::ResultRejected);
			}
			DisputeOutcome::ResultUpheld => {
				if let Some(challenge) = &challenge {
					let (forfeited, _) = <T::Currency as BalancedHold<_>>::slash(
						&HoldReason::ChallengeBond.into(),
						&challenge.challenger,
						challenge.bond,
					);
					let total = forfeited.peek();
					pot.subsume(forfeited);
					let reward = pot.extract(params.winner_share * total);
					Self::pay(reward, &worker);
					let jury_part = pot.extract(params.jury_share * total);
					Self::share(jury_part, &honest);
				}
				T::ProtocolFees::on_unbalanced(pot);
				Self::finalize(job_id, job, &honest);
			}
			DisputeOutcome::NoVerdict => {
				if let Some(challenge) = &challenge {
					Self::release(
						HoldReason::ChallengeBond,
						&challenge.challenger,
						challenge.bond,
					);
				}
				T::ProtocolFees::on_unbalanced(pot);
				T::Slashing::note_job_finished(&worker, job.fee, false);
				Self::refund(job_id, job, RefundReason::NoVerdict);
			}
		}
	}

	/// Pays the worker of `job` its fee minus the protocol share, which goes to `jurors` (an
	/// audited or disputed job) or else to the treasury, and marks the job finalized.
	pub(crate) fn finalize(job_id: JobId, job: &mut JobOf<T>, jurors: &[T::AccountId]) {
		let worker = match &job.status {
			JobStatus::Committed { worker, .. } | JobStatus::Disputed { worker, .. } => {
				worker.clone()
			}
			_ => return,
		};
		let params = Params::<T>::get();
		let protocol = params.protocol_share * job.fee;
		let paid = job.fee.saturating_sub(protocol);
		let moved = Self::transfer_held(&job.submitter, &worker, paid);
		let (cut, _) = <T::Currency as BalancedHold<_>>::slash(
			&HoldReason::JobFee.into(),
			&job.submitter,
			job.fee.saturating_sub(moved),
		);
		Self::share(cut, jurors);
		T::Slashing::note_job_finished(&worker, job.fee, true);
		let prune_at = Self::schedule_prune(job_id);
		job.status = JobStatus::Finalized {
			worker: worker.clone(),
			prune_at,
		};
		let output_hash = Results::<T>::get(job_id)
			.map(|result| result.output_hash)
			.unwrap_or_default();
		Self::deposit_event(Event::JobFinalized {
			job_id,
			worker,
			output_hash,
			paid: moved,
		});
	}

	/// Moves `amount` of a held fee from `from` to `to`'s free balance; returns what moved (zero
	/// when `to` cannot receive it, e.g. below the existential deposit).
	fn transfer_held(from: &T::AccountId, to: &T::AccountId, amount: BalanceOf<T>) -> BalanceOf<T> {
		if amount.is_zero() {
			return amount;
		}
		<T::Currency as MutateHold<_>>::transfer_on_hold(
			&HoldReason::JobFee.into(),
			from,
			to,
			amount,
			Precision::Exact,
			Restriction::Free,
			Fortitude::Force,
		)
		.unwrap_or_else(|_| Zero::zero())
	}

	/// Pays `credit` to `to`, or to the treasury when `to` cannot receive it.
	fn pay(credit: CreditOf<T>, to: &T::AccountId) {
		if credit.peek().is_zero() {
			return;
		}
		if let Err(unplaced) = <T::Currency as Balanced<_>>::resolve(to, credit) {
			T::ProtocolFees::on_unbalanced(unplaced);
		}
	}

	/// Shares `credit` equally among `payees`; the remainder (or all of it, with no payee) goes
	/// to the treasury.
	fn share(mut credit: CreditOf<T>, payees: &[T::AccountId]) {
		let count = payees.len() as u32;
		if count > 0 {
			let each = credit.peek() / BalanceOf::<T>::from(count);
			for payee in payees {
				Self::pay(credit.extract(each), payee);
			}
		}
		T::ProtocolFees::on_unbalanced(credit);
	}

	/// Queues the removal of a settled job; returns its block. When the queue is full for the
	/// whole spread, the job is pruned as soon as possible (the block after).
	pub(crate) fn schedule_prune(job_id: JobId) -> BlockNumberFor<T> {
		let now = frame_system::Pallet::<T>::block_number();
		let at = now.saturating_add(Params::<T>::get().result_retention);
		Self::schedule(at, Timeout::Prune(job_id)).unwrap_or(at)
	}

	/// Forfeits an unrevealed challenge commitment whose time ran out.
	fn expire_commitment(commitment: sp_core::H256, now: BlockNumberFor<T>) -> Weight {
		let Some(committed) = Commitments::<T>::get(commitment) else {
			return T::WeightInfo::settle_stale();
		};
		if now <= committed.expires_at {
			return T::WeightInfo::settle_stale();
		}
		Self::forget_commitment(commitment, &committed);
		let (forfeited, _) = <T::Currency as BalancedHold<_>>::slash(
			&HoldReason::ChallengeBond.into(),
			&committed.challenger,
			committed.bond,
		);
		T::ProtocolFees::on_unbalanced(forfeited);
		Self::deposit_event(Event::ChallengeForfeited {
			commitment,
			challenger: committed.challenger,
			bond: committed.bond,
		});
		T::WeightInfo::settle_commitment_expiry()
	}

	/// Removes a settled job's record and result.
	fn prune(job_id: JobId) -> Weight {
		let settled = Jobs::<T>::get(job_id).is_some_and(|job| {
			matches!(
				job.status,
				JobStatus::Finalized { .. } | JobStatus::Refunded { .. }
			)
		});
		if !settled {
			return T::WeightInfo::settle_stale();
		}
		Jobs::<T>::remove(job_id);
		Results::<T>::remove(job_id);
		Self::deposit_event(Event::JobPruned { job_id });
		T::WeightInfo::settle_prune()
	}
}
