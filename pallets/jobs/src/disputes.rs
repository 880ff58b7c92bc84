//! Disputes: juries for audits and challenges, silent juries, the council, and who pays whom.
//!
//! ## Juries
//!
//! A jury is `jury_size` seats (made odd) among the workers serving the model, excluding the
//! accused, the submitter, the challenger and the jurors of earlier juries of the same dispute;
//! seats are drawn **with replacement** in proportion to bond, so a juror may hold several, and
//! a group of accounts wins the same number of seats however it splits its bond. A juror's vote
//! counts once per seat it holds. Sitting takes one slot of the juror's capacity (see the worker
//! pallet), whatever its seats, but is drawn regardless of load. A challenge's jury, and the
//! fresh jury after a silent one, are drawn a draw delay after they fall due (see
//! [`crate::draws`]); an audit's jury with the audit draw.
//!
//! Every seat stands for the same stake, the jury's `seat_stake`: the pool's bond over the
//! seats. A juror's slash is a share of it per seat held (capped by what the juror has), so a
//! seat costs the same whoever holds it, and nobody lowers its exposure by splitting its bond
//! over accounts (a slash as a share of each account's own stake would make small sybils'
//! seats cheap).
//!
//! ## Silence
//!
//! Silence must not decide a dispute, or it becomes something to buy:
//!
//! * A juror that does not reveal is slashed [`JobParams::slash_juror_silent`] of the seat stake
//!   per seat (and earns nothing). With no revealed vote at all, the jury is replaced by a fresh one without
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
//! and its capacity bounds the juries it sits on. The live value, 1% of the seat stake per
//! silent seat, is ten times the minority slash; a juror's expected loss per jury it could be
//! drawn for is 1% of its own bond whatever its size, while buying the silence of three juries of
//! three costs at least nine such seat slashes and still leaves the council.
//!
//! ## Money
//!
//! * **Rejected**: the worker is slashed [`JobParams::slash_wrong_result`]; the challenger gets
//!   its bond back and [`JobParams::winner_share`] of the slash; the majority jurors share
//!   [`JobParams::jury_share`] by seats; the rest and the slashes of silent and minority jurors go to the
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
		BalanceOf, Challenges, Config, CreditOf, Event, HoldReason, JobOf, Juries, JuryOf, Pallet,
		PastJurors,
	},
	DisputeOutcome, JobStatus, JurySeat, RefundReason,
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

	/// The seats of a jury over `job`: odd, at most `jury_size`; none when nobody is eligible.
	/// Seats are drawn with replacement, so one eligible juror is enough to fill them.
	fn jury_size(job: &JobOf<T>, exclude: &[T::AccountId]) -> u32 {
		if T::Workers::eligible_count(job.model, exclude, Demand::JurySeat) == 0 {
			return 0;
		}
		let size = Self::params_of(job).jury_size.min(T::MaxJurySize::get());
		if size % 2 == 0 {
			size.saturating_sub(1)
		} else {
			size
		}
	}

	/// The jury `seed` gives a dispute over `job` (accused `worker`): each juror once with its
	/// seats, and the stake a seat stands for. Nobody is booked yet; the settlement hook and
	/// the tests' simulations draw through here alike.
	pub(crate) fn jury_from_seed(
		job_id: JobId,
		job: &JobOf<T>,
		worker: &T::AccountId,
		seed: verity_primitives::Hash,
	) -> (Vec<(T::AccountId, u32)>, BalanceOf<T>) {
		let exclude = Self::excluded(job_id, job, worker);
		let size = Self::jury_size(job, &exclude);
		if size == 0 {
			return (Vec::new(), Zero::zero());
		}
		let (drawn, pool) = T::Workers::draw_seats(job.model, &exclude, seed, size);
		(drawn, pool / BalanceOf::<T>::from(size))
	}

	/// Draws and seats jury number `round` for `job_id` (whose status names the accused and the
	/// challenger), from the beacon as it is now; returns `false` when nobody can be drawn.
	fn seat_jury(job_id: JobId, job: &mut JobOf<T>, worker: T::AccountId, round: u32) -> bool {
		let seed = Self::seed(b"verity/jury", job_id, round);
		let (drawn, seat_stake) = Self::jury_from_seed(job_id, job, &worker, seed);
		let params = Self::params_of(job);
		let now = frame_system::Pallet::<T>::block_number();
		let commit_until = now.saturating_add(params.jury_commit_window);
		let resolve_at = commit_until
			.saturating_add(params.jury_reveal_window)
			.saturating_add(One::one());
		let mut jury = JuryOf::<T> {
			members: Default::default(),
			seat_stake,
		};
		for (juror, seats) in &drawn {
			let seat = JurySeat {
				seats: *seats,
				..Default::default()
			};
			if T::Slashing::note_job_started(juror, job.model, Demand::JurySeat).is_ok()
				&& jury.members.try_push((juror.clone(), seat)).is_err()
			{
				T::Slashing::note_job_finished(juror, job.model, Demand::JurySeat, true, false);
			}
		}
		if jury.members.is_empty() {
			return false;
		}
		let challenger = match &job.status {
			JobStatus::Disputed { challenger, .. } => challenger.clone(),
			_ => None,
		};
		let jurors: Vec<(T::AccountId, u32)> = jury
			.members
			.iter()
			.map(|(juror, seat)| (juror.clone(), seat.seats))
			.collect();
		Juries::<T>::insert(job_id, jury);
		job.status = JobStatus::Disputed {
			worker,
			challenger,
			commit_until,
			resolve_at,
			by_council: false,
			jury_pending: false,
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

	/// Jury number `round` of the dispute over `job` falls due: it is drawn once the beacon has
	/// taken in the job's draw delay of fresh outputs.
	fn await_jury(
		job_id: JobId,
		job: &mut JobOf<T>,
		worker: T::AccountId,
		challenger: Option<T::AccountId>,
		round: u32,
	) {
		let draw_at = Self::draw_falls_due(job, Self::params_of(job).draw_delay);
		job.status = JobStatus::Disputed {
			worker,
			challenger,
			commit_until: draw_at,
			resolve_at: draw_at,
			by_council: false,
			jury_pending: true,
			round,
		};
		Self::reschedule(job_id, job, draw_at);
	}

	/// Opens the dispute of a revealed challenge: its jury is drawn after the draw delay, so
	/// the challenger cannot time its reveal to a jury of its own.
	pub(crate) fn open_challenge(
		job_id: JobId,
		job: &mut JobOf<T>,
		worker: T::AccountId,
		challenger: T::AccountId,
	) {
		Self::await_jury(job_id, job, worker, Some(challenger), 0);
	}

	/// Draws the pending jury of a disputed job whose draw is ready; the council decides when
	/// nobody can be drawn.
	pub(crate) fn draw_pending_jury(job_id: JobId, job: &mut JobOf<T>) {
		let JobStatus::Disputed {
			worker,
			round,
			jury_pending: true,
			..
		} = job.status.clone()
		else {
			return;
		};
		if !Self::seat_jury(job_id, job, worker.clone(), round) {
			Self::refer_to_council(job_id, job, worker, round);
		}
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
			jury_pending: false,
			round,
		};
		Self::reschedule(job_id, job, resolve_at);
		Self::deposit_event(Event::DisputeReferredToCouncil { job_id, resolve_at });
	}

	/// Opens the dispute of an audited result: a jury at once (the audit draw that chose it
	/// read randomness nobody knew when the result was submitted), or the council when none
	/// can sit. An audit is never skipped: the detection rate the economic check relies on is
	/// the audit rate on every model, however few workers serve it.
	pub(crate) fn open_audit(job_id: JobId, job: &mut JobOf<T>, worker: T::AccountId) {
		// The jury's own fields are set by `seat_jury`; this marks who is accused.
		job.status = JobStatus::Disputed {
			worker: worker.clone(),
			challenger: None,
			commit_until: Zero::zero(),
			resolve_at: Zero::zero(),
			by_council: false,
			jury_pending: false,
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
		let seats_voting = |confirms: bool| -> u32 {
			jury.members
				.iter()
				.filter(|(_, seat)| seat.vote.is_some_and(|vote| vote.confirms == confirms))
				.fold(0u32, |sum, (_, seat)| sum.saturating_add(seat.seats))
		};
		let confirming = seats_voting(true);
		let rejecting = seats_voting(false);

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
		for (juror, seat) in jury.members.iter() {
			let voting = seat.commitment.is_none();
			T::Slashing::note_job_finished(juror, job.model, Demand::JurySeat, voting, false);
			match seat.vote {
				Some(vote) if vote.confirms == majority_confirms => {
					honest.push((juror.clone(), seat.seats))
				}
				Some(_) => pot.subsume(Self::slash(
					job_id,
					juror,
					Self::seat_slash(params.slash_juror, &jury, seat),
					FaultKind::JurorMinority,
				)),
				None => pot.subsume(Self::slash(
					job_id,
					juror,
					Self::seat_slash(params.slash_juror_silent, &jury, seat),
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
		for (juror, seat) in jury.members.iter() {
			let voting = seat.commitment.is_none();
			T::Slashing::note_job_finished(juror, job.model, Demand::JurySeat, voting, false);
			pot.subsume(Self::slash(
				job_id,
				juror,
				Self::seat_slash(params.slash_juror_silent, jury, seat),
				FaultKind::JurorNoReveal,
			));
			// Bounded by MaxJurySize × MaxJuryRounds, and rounds stop before that.
			let _ = past.try_push(juror.clone());
		}
		T::ProtocolFees::on_unbalanced(pot);
		PastJurors::<T>::insert(job_id, past);
		let next = round.saturating_add(1);
		let rounds = params.jury_rounds.min(T::MaxJuryRounds::get());
		if next < rounds {
			// Drawn after the delay: the silent jurors chose their silence by the end of the
			// reveal window, and must not know whom it brings.
			let challenger = match &job.status {
				JobStatus::Disputed { challenger, .. } => challenger.clone(),
				_ => None,
			};
			Self::await_jury(job_id, job, worker, challenger, next);
			return;
		}
		Self::refer_to_council(job_id, job, worker, next);
	}

	/// What a juror's fault costs: `share` of the stake one seat stands for, per seat it holds
	/// (capped by its stake when slashed). A seat costs the same whoever holds it, so splitting
	/// a bond over accounts lowers nobody's exposure.
	fn seat_slash(
		share: sp_runtime::Perbill,
		jury: &JuryOf<T>,
		seat: &crate::JurySeat,
	) -> SlashAmount<BalanceOf<T>> {
		SlashAmount::Exact((share * jury.seat_stake).saturating_mul(seat.seats.into()))
	}
}
