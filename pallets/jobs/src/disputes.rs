//! Disputes: juries for audits and challenges, silent juries, the council, and who pays whom.
//!
//! ## Juries
//!
//! A jury is `min(jury_size, eligible)` workers serving the model (made odd), drawn in proportion
//! to bond, excluding the accused, the submitter, the challenger and the jurors of earlier juries
//! of the same dispute. A seat takes a slot of the juror's capacity (see the worker pallet) but is
//! drawn regardless of load.
//!
//! ## Silence
//!
//! Silence must not decide a dispute, or it becomes something to buy:
//!
//! * A juror that does not reveal is slashed [`JobParams::slash_juror_silent`] of its stake (and
//!   earns nothing). With no revealed vote at all, the jury is replaced by a fresh one without
//!   the silent jurors, up to [`JobParams::jury_rounds`] juries; after the last, or when nobody
//!   is left to draw, the council decides. So a lying worker that bribes jurors to stay silent
//!   must buy every seat of every jury (each juror losing its silence slash) and then the
//!   council too; one revealed honest vote is enough to reject the lie.
//! * When the council does not rule in time either, the result nobody disproved stands
//!   ([`DisputeOutcome::NoVerdict`]): the worker is paid as if nobody had disputed it, and a
//!   challenger gets its bond back. Silence never refunds the submitter, so challenging one's
//!   own job from a second account, on a model with too few workers to seat a jury, gets no free
//!   inference.
//!
//! How the silence slash is weighed: it must exceed what a bribe for one seat is worth, yet not
//! ruin an honest juror whose machine crashed. A seat is worth little to a briber, because
//! silence of one jury only buys a redraw; a crashed machine misses at most the seats it holds,
//! and its capacity bounds those. The live value, 1% of stake per silent seat, is ten times the
//! minority slash and costs a crashed minimum-bond juror 10 VRT a seat, while buying the silence
//! of three juries of three costs at least nine such slashes and still leaves the council.
//!
//! ## Money
//!
//! * **Rejected**: the worker is slashed [`JobParams::slash_wrong_result`]; the challenger gets
//!   its bond back and [`JobParams::winner_share`] of the slash; the majority jurors share
//!   [`JobParams::jury_share`]; the rest and the slashes of silent and minority jurors go to the
//!   treasury; the submitter is refunded.
//! * **Upheld**: a challenger forfeits its bond: the worker gets the winner's share, the majority
//!   jurors the jury's share, the treasury the rest; the worker is paid its fee, and the protocol
//!   share of an audited or disputed job goes to the majority jurors.
//! * **No verdict**: as upheld without a forfeit: the worker is paid, a challenger's bond comes
//!   back.

use alloc::vec::Vec;
use frame_support::{
	pallet_prelude::*,
	traits::{fungible::BalancedHold, Imbalance, OnUnbalanced},
};
use sp_runtime::traits::{One, Saturating, Zero};
use verity_primitives::{
	receipt::JobId,
	workers::{Demand, FaultKind, SlashAmount, Slashing, WorkerSelection},
};

use crate::{
	pallet::{
		Challenges, Config, CreditOf, Event, HoldReason, JobOf, Juries, JuryOf, Pallet, PastJurors,
	},
	DisputeOutcome, JobStatus, RefundReason,
};

impl<T: Config> Pallet<T> {
	/// Everyone a jury for `job_id` must not include: the accused, the submitter, a challenger,
	/// and the jurors of earlier juries.
	fn excluded(job_id: JobId, job: &JobOf<T>, worker: &T::AccountId) -> Vec<T::AccountId> {
		let mut exclude = alloc::vec![worker.clone(), job.submitter.clone()];
		if let JobStatus::Disputed {
			challenger: Some(challenger),
			..
		} = &job.status
		{
			exclude.push(challenger.clone());
		}
		exclude.extend(PastJurors::<T>::get(job_id).unwrap_or_default());
		exclude
	}

	/// The jury a dispute over `job` can have: odd, at most `jury_size`, from the eligible workers.
	fn jury_size(job: &JobOf<T>, exclude: &[T::AccountId]) -> u32 {
		let wanted = Self::params_of(job).jury_size.min(T::MaxJurySize::get());
		let eligible = T::Workers::eligible_count(job.model, exclude, Demand::JurySeat);
		let size = wanted.min(eligible);
		if size % 2 == 0 {
			size.saturating_sub(1)
		} else {
			size
		}
	}

	/// Draws and seats jury number `round` for `job_id` (whose status names the accused and the
	/// challenger); returns `false` when nobody can be drawn.
	fn seat_jury(job_id: JobId, job: &mut JobOf<T>, worker: T::AccountId, round: u32) -> bool {
		let exclude = Self::excluded(job_id, job, &worker);
		let size = Self::jury_size(job, &exclude);
		if size == 0 {
			return false;
		}
		let params = Self::params_of(job);
		let now = frame_system::Pallet::<T>::block_number();
		let commit_until = now.saturating_add(params.jury_commit_window);
		let resolve_at = commit_until
			.saturating_add(params.jury_reveal_window)
			.saturating_add(One::one());
		let seed = Self::seed(b"verity/jury", job_id, round);
		let drawn = T::Workers::select(job.model, &exclude, seed, size, Demand::JurySeat);
		let mut jury = JuryOf::<T>::default();
		for juror in &drawn {
			if T::Slashing::note_job_started(juror, job.model, Demand::JurySeat).is_ok()
				&& jury.try_push((juror.clone(), Default::default())).is_err()
			{
				T::Slashing::note_job_finished(juror, job.model, Demand::JurySeat, true, false);
			}
		}
		if jury.is_empty() {
			return false;
		}
		let challenger = match &job.status {
			JobStatus::Disputed { challenger, .. } => challenger.clone(),
			_ => None,
		};
		let jurors: Vec<T::AccountId> = jury.iter().map(|(juror, _)| juror.clone()).collect();
		Juries::<T>::insert(job_id, jury);
		job.status = JobStatus::Disputed {
			worker,
			challenger,
			commit_until,
			resolve_at,
			by_council: false,
			round,
		};
		Self::reschedule(job_id, job, resolve_at);
		Self::deposit_event(Event::JuryDrawn {
			job_id,
			jurors,
			commit_until,
			resolve_at,
			round,
		});
		true
	}

	/// Hands a dispute to the council, which must rule by `now + council_window`.
	fn refer_to_council(job_id: JobId, job: &mut JobOf<T>, worker: T::AccountId, round: u32) {
		let now = frame_system::Pallet::<T>::block_number();
		let resolve_at = now.saturating_add(Self::params_of(job).council_window);
		let challenger = match &job.status {
			JobStatus::Disputed { challenger, .. } => challenger.clone(),
			_ => None,
		};
		job.status = JobStatus::Disputed {
			worker,
			challenger,
			commit_until: now,
			resolve_at,
			by_council: true,
			round,
		};
		Self::reschedule(job_id, job, resolve_at);
		Self::deposit_event(Event::DisputeReferredToCouncil { job_id, resolve_at });
	}

	/// Opens the dispute of an audited or challenged result: a jury, or the council when none
	/// can sit. An audit is never skipped: the detection rate the economic check relies on is
	/// the audit rate on every model, however few workers serve it.
	pub(crate) fn open_dispute(
		job_id: JobId,
		job: &mut JobOf<T>,
		worker: T::AccountId,
		challenger: Option<T::AccountId>,
	) {
		// The jury's own fields are set by `seat_jury`; this marks who is accused and by whom.
		job.status = JobStatus::Disputed {
			worker: worker.clone(),
			challenger,
			commit_until: Zero::zero(),
			resolve_at: Zero::zero(),
			by_council: false,
			round: 0,
		};
		if !Self::seat_jury(job_id, job, worker.clone(), 0) {
			Self::refer_to_council(job_id, job, worker, 0);
		}
	}

	/// Counts the revealed votes of a dispute (or takes the council's ruling), pays and slashes;
	/// a jury with no revealed vote is replaced or the dispute goes to the council (see the
	/// module docs).
	///
	/// The result is rejected only when more revealed votes reject it than confirm it. Jurors
	/// who did not reveal are slashed [`JobParams::slash_juror_silent`], jurors who voted against
	/// the outcome [`JobParams::slash_juror`].
	pub(crate) fn resolve_dispute(
		job_id: JobId,
		job: &mut JobOf<T>,
		ruling: Option<DisputeOutcome>,
	) {
		let JobStatus::Disputed {
			worker,
			by_council,
			round,
			..
		} = job.status.clone()
		else {
			return;
		};
		let params = Self::params_of(job);
		let jury = Juries::<T>::take(job_id).unwrap_or_default();
		let votes = jury.iter().filter_map(|(_, seat)| seat.vote);
		let confirming = votes.clone().filter(|vote| vote.confirms).count() as u32;
		let rejecting = votes.filter(|vote| !vote.confirms).count() as u32;

		if ruling.is_none() && !by_council && confirming.saturating_add(rejecting) == 0 {
			Self::replace_silent_jury(job_id, job, worker, round, &jury);
			return;
		}
		let outcome = ruling.unwrap_or(if by_council {
			DisputeOutcome::NoVerdict
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
		PastJurors::<T>::remove(job_id);

		// Jurors: the majority is paid below; the others are slashed to the pot.
		let majority_confirms = outcome != DisputeOutcome::ResultRejected;
		let mut honest = Vec::new();
		let mut pot = CreditOf::<T>::zero();
		for (juror, seat) in jury.iter() {
			let voting = seat.commitment.is_none();
			T::Slashing::note_job_finished(juror, job.model, Demand::JurySeat, voting, false);
			match seat.vote {
				Some(vote) if vote.confirms == majority_confirms => honest.push(juror.clone()),
				Some(_) => pot.subsume(Self::slash(
					job_id,
					juror,
					SlashAmount::Fraction(params.slash_juror),
					FaultKind::JurorMinority,
				)),
				None => pot.subsume(Self::slash(
					job_id,
					juror,
					SlashAmount::Fraction(params.slash_juror_silent),
					FaultKind::JurorNoReveal,
				)),
			}
		}
		let challenge = Challenges::<T>::take(job_id);
		if let Some(challenge) = &challenge {
			if outcome != DisputeOutcome::ResultUpheld {
				Self::release(
					HoldReason::ChallengeBond,
					&challenge.challenger,
					challenge.bond,
				);
			}
		}

		match outcome {
			DisputeOutcome::ResultRejected => {
				let slashed = Self::slash(
					job_id,
					&worker,
					SlashAmount::Exact(Self::wrong_result_slash(job)),
					FaultKind::WrongResult,
				);
				T::Slashing::note_job_finished(
					&worker,
					job.model,
					Self::demand_of(job),
					false,
					false,
				);
				let total = slashed.peek();
				pot.subsume(slashed);
				if let Some(challenge) = &challenge {
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
				T::ProtocolFees::on_unbalanced(pot);
				Self::finalize(job_id, job, &[]);
			}
		}
	}

	/// A jury none of whose members revealed: each is slashed for silence and remembered, and a
	/// fresh jury without them is drawn; after the last round, or with nobody left to draw, the
	/// council decides.
	fn replace_silent_jury(
		job_id: JobId,
		job: &mut JobOf<T>,
		worker: T::AccountId,
		round: u32,
		jury: &JuryOf<T>,
	) {
		let params = Self::params_of(job);
		let mut pot = CreditOf::<T>::zero();
		let mut past = PastJurors::<T>::get(job_id).unwrap_or_default();
		for (juror, seat) in jury.iter() {
			let voting = seat.commitment.is_none();
			T::Slashing::note_job_finished(juror, job.model, Demand::JurySeat, voting, false);
			pot.subsume(Self::slash(
				job_id,
				juror,
				SlashAmount::Fraction(params.slash_juror_silent),
				FaultKind::JurorNoReveal,
			));
			// Bounded by MaxJurySize × MaxJuryRounds, and rounds stop before that.
			let _ = past.try_push(juror.clone());
		}
		T::ProtocolFees::on_unbalanced(pot);
		PastJurors::<T>::insert(job_id, past);
		let next = round.saturating_add(1);
		let rounds = params.jury_rounds.min(T::MaxJuryRounds::get());
		if next < rounds && Self::seat_jury(job_id, job, worker.clone(), next) {
			return;
		}
		Self::refer_to_council(job_id, job, worker, next);
	}
}
