//! Settlement: what happens to jobs when time passes, and where the money goes.
//!
//! ## The queue
//!
//! [`Timeouts`] maps (block, [`Timeout`]) to nothing: every job has exactly one entry, at the
//! block its status says ([`crate::Job::next_settlement`]), and every unrevealed challenge
//! commitment one, the block after it expires. A status change moves the job's entry; a revealed
//! commitment takes its entry away. So the queue holds only live reasons, and each of them is
//! backed by a job's fee and deposit or by a challenge bond.
//!
//! `on_initialize` settles entries from [`SettlementCursor`] (the first block not yet fully
//! settled) up to the current block, at most [`Config::MaxSettlementsPerBlock`] of them; what is
//! left waits for the next block and goes first there. Nothing is refused because the queue is
//! busy, and nothing is skipped: a burst only delays settlement, in order, by a few blocks, and
//! every moment is checked against the status, so a late entry acts as if it came on time
//! (a deadline is still the deadline; a late draw reads a later state of the randomness beacon,
//! which nobody knew either). A draw whose beacon lacks its fresh VRF outputs (see
//! [`crate::draws`]) waits a block and is looked at again. The `integrity_test` checks that the
//! worst case of one block ([`Pallet::worst_settlement_weight`]) fits in half of its weight.
//!
//! ## The moments of a job
//!
//! * **Pending**, a draw delay after it fell due: the assignment draw: a worker with a free slot
//!   and bond for the fee, or a refund when there is none.
//! * **Assigned** past its deadline: the worker pays [`JobParams::missed_deadline_multiple`]
//!   times the fee (to the treasury); the job is pending again for a second worker, drawn a draw
//!   delay later without the silent one (refunded at once when nobody else could take it), and
//!   refunded if the second misses too.
//! * **Committed**, a draw delay after the result: the audit draw. An audited result is disputed
//!   before a jury like a challenged one.
//! * **Committed** at the end of its window: finalized. The worker gets the fee minus
//!   [`JobParams::protocol_share`], which goes to the treasury.
//! * **Disputed** at its end: see [`crate::disputes`].
//! * **Finalized** or **Refunded** at `prune_at`: the record and result are removed and the
//!   deposit goes back.
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
	traits::{One, Saturating, Zero},
	Perbill,
};
use verity_primitives::{
	receipt::JobId,
	registry::ModelRegistry,
	workers::{Demand, FaultKind, SlashAmount, Slashing, WorkerSelection},
};

use crate::{
	pallet::{
		BalanceOf, Commitments, Config, CreditOf, Event, HoldReason, JobOf, JobParamsOf, Jobs,
		Pallet, Params, ParamsInUse, Results, SettlementCursor, Timeouts,
	},
	weights::WeightInfo,
	JobStatus, RefundReason, Timeout,
};

impl<T: Config> Pallet<T> {
	/// Settles what is due up to block `now`, at most [`Config::MaxSettlementsPerBlock`] entries,
	/// oldest block first; returns the weight used.
	pub(crate) fn settle_block(now: BlockNumberFor<T>) -> Weight {
		let max = T::MaxSettlementsPerBlock::get();
		let mut weight = T::WeightInfo::on_initialize_empty();
		let mut settled = 0u32;
		let mut block = SettlementCursor::<T>::get();
		// Each block looked at costs a read of its first key, settled or not; bounded too.
		let mut looked = 0u32;
		while block <= now && settled < max && looked < max {
			looked = looked.saturating_add(1);
			let room = max.saturating_sub(settled) as usize;
			let due: Vec<Timeout> = Timeouts::<T>::iter_key_prefix(block).take(room).collect();
			for timeout in due {
				Timeouts::<T>::remove(block, &timeout);
				settled = settled.saturating_add(1);
				weight.saturating_accrue(match timeout {
					Timeout::Job(job_id) => Self::settle_job(job_id, now),
					Timeout::Commitment(commitment) => Self::expire_commitment(commitment, now),
				});
			}
			if Timeouts::<T>::iter_key_prefix(block).next().is_some() {
				// The budget ran out with entries of `block` left: they go first next block.
				break;
			}
			block = block.saturating_add(One::one());
		}
		SettlementCursor::<T>::put(block);
		weight
			.saturating_add(T::DbWeight::get().reads_writes(u64::from(looked).saturating_mul(2), 1))
	}

	/// The most one block's settlement can weigh: [`Config::MaxSettlementsPerBlock`] entries of
	/// the heaviest kind (a dispute resolved with a fresh jury drawn, counted as a resolution and
	/// an audit draw with the largest jury), plus the queue's own reads.
	pub fn worst_settlement_weight() -> Weight {
		let jury = T::MaxJurySize::get();
		let heaviest = [
			T::WeightInfo::settle_assign(),
			T::WeightInfo::settle_missed_deadline(),
			T::WeightInfo::settle_audit_draw(jury),
			T::WeightInfo::settle_finalize(),
			T::WeightInfo::settle_dispute(jury)
				.saturating_add(T::WeightInfo::settle_audit_draw(jury)),
			T::WeightInfo::settle_commitment_expiry(),
			T::WeightInfo::settle_prune(),
			T::WeightInfo::settle_stale(),
		]
		.into_iter()
		.fold(Weight::zero(), |max, weight| max.max(weight));
		let max = u64::from(T::MaxSettlementsPerBlock::get());
		T::WeightInfo::on_initialize_empty()
			.saturating_add(heaviest.saturating_mul(max))
			.saturating_add(T::DbWeight::get().reads_writes(max.saturating_mul(4), 1))
	}

	/// Acts on the moment that has come for `job_id`.
	fn settle_job(job_id: JobId, now: BlockNumberFor<T>) -> Weight {
		let Some(mut job) = Jobs::<T>::get(job_id) else {
			return T::WeightInfo::settle_stale();
		};
		let weight = match job.status.clone() {
			JobStatus::Pending { .. }
			| JobStatus::Committed { .. }
			| JobStatus::Disputed { .. }
				if Self::awaits_draw(&job.status, now) && !Self::draw_ready(&job) =>
			{
				// Its draw is due but the beacon lacks fresh VRF outputs: wait a block.
				Self::reschedule(job_id, &mut job, now.saturating_add(One::one()));
				Jobs::<T>::insert(job_id, job);
				return T::WeightInfo::settle_stale();
			}
			JobStatus::Pending { missed_by } => {
				Self::assign(job_id, &mut job, missed_by);
				T::WeightInfo::settle_assign()
			}
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
				if Self::draw_audit(job_id, &job) {
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
				if matches!(job.status, JobStatus::Committed { .. }) {
					if now >= settle_at {
						Self::finalize(job_id, &mut job, &[]);
					} else {
						Self::reschedule(job_id, &mut job, settle_at);
					}
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
			JobStatus::Disputed {
				resolve_at,
				jury_pending: true,
				..
			} if now >= resolve_at => {
				Self::draw_pending_jury(job_id, &mut job);
				T::WeightInfo::settle_audit_draw(T::MaxJurySize::get())
			}
			JobStatus::Disputed { resolve_at, .. } if now >= resolve_at => {
				Self::resolve_dispute(job_id, &mut job, None);
				T::WeightInfo::settle_dispute(T::MaxJurySize::get())
					.saturating_add(T::WeightInfo::settle_audit_draw(T::MaxJurySize::get()))
			}
			JobStatus::Finalized { prune_at, .. } | JobStatus::Refunded { prune_at, .. }
				if now >= prune_at =>
			{
				return Self::prune(job_id, &job);
			}
			// Not its moment (cannot happen while every status change moves the entry): keep
			// the job in the queue for the moment its status names.
			status => {
				let at = Self::moment_of(&status).unwrap_or(now);
				Self::reschedule(job_id, &mut job, at);
				Jobs::<T>::insert(job_id, job);
				return T::WeightInfo::settle_stale();
			}
		};
		Jobs::<T>::insert(job_id, job);
		weight
	}

	/// Whether a job with `status`, looked at in block `now`, is due for a draw: an assignment,
	/// an audit or a pending jury.
	fn awaits_draw(status: &crate::JobStatusOf<T>, now: BlockNumberFor<T>) -> bool {
		match status {
			JobStatus::Pending { .. } => true,
			JobStatus::Committed {
				audit_draw_at,
				audit_decided: false,
				..
			} => now >= *audit_draw_at,
			JobStatus::Disputed {
				jury_pending: true,
				resolve_at,
				..
			} => now >= *resolve_at,
			_ => false,
		}
	}

	/// The block at which a job with `status` next needs the hook.
	pub(crate) fn moment_of(status: &crate::JobStatusOf<T>) -> Option<BlockNumberFor<T>> {
		match status {
			JobStatus::Pending { .. } => None,
			JobStatus::Assigned { deadline, .. } => Some(deadline.saturating_add(One::one())),
			JobStatus::Committed {
				audit_draw_at,
				audit_decided,
				settle_at,
				..
			} => Some(if *audit_decided {
				*settle_at
			} else {
				*audit_draw_at
			}),
			JobStatus::Disputed { resolve_at, .. } => Some(*resolve_at),
			JobStatus::Finalized { prune_at, .. } | JobStatus::Refunded { prune_at, .. } => {
				Some(*prune_at)
			}
		}
	}

	/// The assignment draw of a pending job: a worker serving the model with a free slot and
	/// bond for the fee, not the submitter and not the worker that missed its deadline (the
	/// second draw); or a refund when there is none.
	fn assign(job_id: JobId, job: &mut JobOf<T>, missed_by: Option<T::AccountId>) {
		let reassigned = missed_by.is_some();
		let seed = Self::seed(b"verity/assign", job_id, u32::from(reassigned));
		let mut exclude = alloc::vec![job.submitter.clone()];
		exclude.extend(missed_by);
		if T::Models::accepts_jobs(job.model)
			&& Self::give_to_worker(job_id, job, &exclude, seed, reassigned)
		{
			return;
		}
		Self::refund(job_id, job, RefundReason::NoWorker);
	}

	/// Draws a worker for `job` (not in `exclude`) that can take it and assigns it; returns
	/// whether one was found.
	fn give_to_worker(
		job_id: JobId,
		job: &mut JobOf<T>,
		exclude: &[T::AccountId],
		seed: verity_primitives::Hash,
		reassigned: bool,
	) -> bool {
		let params = Self::params_of(job);
		let demand = Demand::Job(Self::collateral(&params, job.fee));
		let Some(worker) = T::Workers::select(job.model, exclude, seed, 1, demand).pop() else {
			return false;
		};
		if T::Slashing::note_job_started(&worker, job.model, demand).is_err() {
			return false;
		}
		let now = frame_system::Pallet::<T>::block_number();
		let deadline = now.saturating_add(params.execution_window);
		job.status = JobStatus::Assigned {
			worker: worker.clone(),
			deadline,
			reassigned,
		};
		Self::reschedule(job_id, job, deadline.saturating_add(One::one()));
		Self::deposit_event(Event::JobAssigned {
			job_id,
			worker,
			deadline,
		});
		true
	}

	/// Whether the result of `job_id` is audited: drawn from the beacon, a draw delay after the
	/// result.
	fn draw_audit(job_id: JobId, job: &JobOf<T>) -> bool {
		let rate = Self::params_of(job).audit_rate;
		let seed = Self::seed(b"verity/audit", job_id, 0);
		// 64 random bits reduced modulo 10^9: the bias of the reduction is below 10^-9 (32 bits
		// would favour the low quarter of the range by a fifth).
		let mut bytes = [0u8; 8];
		bytes.copy_from_slice(&seed.as_bytes()[..8]);
		let point = (u64::from_le_bytes(bytes) % 1_000_000_000) as u32;
		Perbill::from_parts(point) < rate
	}

	/// What a missed deadline costs the worker of `job`.
	pub fn missed_deadline_penalty(job: &JobOf<T>) -> BalanceOf<T> {
		job.fee
			.saturating_mul(Self::params_of(job).missed_deadline_multiple.into())
	}

	/// What a result of `job` proved wrong costs its worker.
	pub fn wrong_result_slash(job: &JobOf<T>) -> BalanceOf<T> {
		job.fee
			.saturating_mul(Self::params_of(job).wrong_result_multiple.into())
	}

	/// What `job` demands of its worker: a slot and its collateral.
	pub(crate) fn demand_of(job: &JobOf<T>) -> Demand<BalanceOf<T>> {
		Demand::Job(Self::collateral(&Self::params_of(job), job.fee))
	}

	/// The parameters `job` was submitted under (the current ones if its set were missing,
	/// which `try_state` rules out).
	pub fn params_of(job: &JobOf<T>) -> JobParamsOf<T> {
		ParamsInUse::<T>::get(job.params_version)
			.map(|in_use| in_use.params)
			.unwrap_or_else(Params::<T>::get)
	}

	/// `job` settled: its parameter set counts one job fewer, and leaves with its last.
	fn release_params(job: &JobOf<T>) {
		ParamsInUse::<T>::mutate_exists(job.params_version, |in_use| {
			if let Some(entry) = in_use {
				entry.jobs = entry.jobs.saturating_sub(1);
				if entry.jobs == 0 {
					*in_use = None;
				}
			}
		});
	}

	/// A missed deadline: the worker pays a multiple of the fee, then the job waits for a second
	/// worker, drawn after the draw delay (the silent worker chose its silence by the deadline
	/// and must not know whom it brings), or is refunded at once when no other worker could take
	/// it now.
	fn missed_deadline(job_id: JobId, job: &mut JobOf<T>, worker: T::AccountId, reassigned: bool) {
		let credit = Self::slash(
			job_id,
			&worker,
			SlashAmount::Exact(Self::missed_deadline_penalty(job)),
			FaultKind::MissedDeadline,
		);
		T::ProtocolFees::on_unbalanced(credit);
		T::Slashing::note_job_finished(&worker, job.model, Self::demand_of(job), true, false);
		let demand = Self::demand_of(job);
		let others = [job.submitter.clone(), worker.clone()];
		if !reassigned
			&& T::Models::accepts_jobs(job.model)
			&& T::Workers::eligible_count(job.model, &others, demand) > 0
		{
			job.status = JobStatus::Pending {
				missed_by: Some(worker),
			};
			let draw_at = Self::draw_falls_due(job, Self::params_of(job).draw_delay);
			Self::reschedule(job_id, job, draw_at);
			return;
		}
		Self::refund(job_id, job, RefundReason::NoWorker);
	}

	/// Pays the worker of `job` its fee minus the protocol share, which goes to `jurors` (an
	/// audited or disputed job; by seats) or else to the treasury, and marks the job finalized.
	pub(crate) fn finalize(job_id: JobId, job: &mut JobOf<T>, jurors: &[(T::AccountId, u32)]) {
		let worker = match &job.status {
			JobStatus::Committed { worker, .. } | JobStatus::Disputed { worker, .. } => {
				worker.clone()
			}
			_ => return,
		};
		let params = Self::params_of(job);
		let protocol = params.protocol_share * job.fee;
		let paid = job.fee.saturating_sub(protocol);
		let moved = Self::transfer_held(&job.submitter, &worker, paid);
		let (cut, _) = <T::Currency as BalancedHold<_>>::slash(
			&HoldReason::JobFee.into(),
			&job.submitter,
			job.fee.saturating_sub(moved),
		);
		Self::share(cut, jurors);
		T::Slashing::note_job_finished(&worker, job.model, Self::demand_of(job), false, true);
		let prune_at = Self::schedule_prune(job_id, job);
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
	pub(crate) fn pay(credit: CreditOf<T>, to: &T::AccountId) {
		if credit.peek().is_zero() {
			return;
		}
		if let Err(unplaced) = <T::Currency as Balanced<_>>::resolve(to, credit) {
			T::ProtocolFees::on_unbalanced(unplaced);
		}
	}

	/// Shares `credit` among `payees` in proportion to their seats (equal parts per seat); the
	/// remainder (or all of it, with no payee) goes to the treasury.
	pub(crate) fn share(mut credit: CreditOf<T>, payees: &[(T::AccountId, u32)]) {
		let seats = payees
			.iter()
			.fold(0u32, |sum, (_, seats)| sum.saturating_add(*seats));
		if seats > 0 {
			let per_seat = credit.peek() / BalanceOf::<T>::from(seats);
			for (payee, held) in payees {
				Self::pay(
					credit.extract(per_seat.saturating_mul((*held).into())),
					payee,
				);
			}
		}
		T::ProtocolFees::on_unbalanced(credit);
	}

	/// Moves the queue entry of a settled job to its pruning block and lets go of its
	/// parameter set; returns the block. Every settlement (finalized or refunded) passes here
	/// once.
	pub(crate) fn schedule_prune(job_id: JobId, job: &mut JobOf<T>) -> BlockNumberFor<T> {
		let now = frame_system::Pallet::<T>::block_number();
		let at = now.saturating_add(Self::params_of(job).result_retention);
		Self::release_params(job);
		Self::reschedule(job_id, job, at);
		job.next_settlement
	}

	/// Forfeits an unrevealed challenge commitment whose time ran out.
	fn expire_commitment(commitment: sp_core::H256, now: BlockNumberFor<T>) -> Weight {
		let Some(committed) = Commitments::<T>::get(commitment) else {
			return T::WeightInfo::settle_stale();
		};
		if now <= committed.expires_at {
			Self::schedule(
				committed.expires_at.saturating_add(One::one()),
				Timeout::Commitment(commitment),
			);
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

	/// Removes a settled job's record and result, and returns its deposit.
	fn prune(job_id: JobId, job: &JobOf<T>) -> Weight {
		Self::release(HoldReason::JobDeposit, &job.submitter, job.deposit);
		Jobs::<T>::remove(job_id);
		Results::<T>::remove(job_id);
		Self::deposit_event(Event::JobPruned {
			job_id,
			deposit: job.deposit,
		});
		T::WeightInfo::settle_prune()
	}
}
