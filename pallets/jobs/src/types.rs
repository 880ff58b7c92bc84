//! The records of the job market: a job and where it stands, its result, the market's parameters,
//! challenge commitments, jury votes and the settlement queue.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_runtime::Perbill;
use verity_primitives::{
	job::{JobInput, JobOutput},
	receipt::{JobId, ReceiptSignature},
	Hash, ModelId,
};

/// The market's economic and timing parameters. They live in storage, are set per chain preset and
/// can be changed by the council; [`crate::Pallet::check_params`] refuses a set that breaks the
/// economics or lets a job outlive what the worker pallet's unbonding period covers.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	PartialEq,
	Eq,
	Debug,
	serde::Serialize,
	serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct JobParams<Balance, BlockNumber> {
	/// Blocks an assigned worker has to submit its result.
	pub execution_window: BlockNumber,
	/// Blocks after a result during which it can be challenged (and after which it finalizes).
	pub challenge_window: BlockNumber,
	/// Blocks a challenge commitment stays valid; unrevealed by then, its bond is forfeited.
	pub challenge_commit_ttl: BlockNumber,
	/// Blocks jurors have to commit their votes.
	pub jury_commit_window: BlockNumber,
	/// Blocks after the commit window during which jurors reveal.
	pub jury_reveal_window: BlockNumber,
	/// Blocks the council has to decide a challenge no juror could be drawn for.
	pub council_window: BlockNumber,
	/// The share of results audited by a jury without any challenger.
	pub audit_rate: Perbill,
	/// The most jurors drawn for an audit or a dispute (the jury is odd and at most this).
	pub jury_size: u32,
	/// What a challenger holds while its challenge is open.
	pub challenge_bond: Balance,
	/// The largest fee one job may carry: the economic check sizes the slash against it.
	pub max_job_fee: Balance,
	/// The smallest fee any job carries, whatever its model's floor (never zero: a job reserves
	/// a worker's bond and slot, and that must cost something).
	pub min_job_fee: Balance,
	/// What a missed deadline costs the worker, as a multiple of the job's fee (so at most this
	/// multiple of [`JobParams::max_job_fee`]); never a share of its whole stake, so a flood of
	/// cheap jobs cannot turn into a large slash.
	pub missed_deadline_multiple: u32,
	/// What a result proved wrong costs its worker, as a multiple of the job's fee. The larger
	/// of this and [`JobParams::missed_deadline_multiple`], times the fee, is the job's
	/// *collateral*: reserved from the worker's bond when the job is drawn for it and held until
	/// the job settles, so each job in flight carries its own slash and a worker holding many
	/// jobs cannot spread one stake thin over them (see [`crate::economics`]).
	pub wrong_result_multiple: u32,
	/// The share of a juror's stake slashed for voting with the minority.
	pub slash_juror: Perbill,
	/// The share of a juror's stake slashed for not revealing a vote (silence).
	pub slash_juror_silent: Perbill,
	/// Juries drawn for one dispute, at most: a jury none of whose members reveals is replaced
	/// by a fresh one (without the silent jurors), and after the last the council decides.
	pub jury_rounds: u32,
	/// The share of every fee that goes to the treasury, or to the jurors of an audited job.
	pub protocol_share: Perbill,
	/// The share of slashed or forfeited funds paid to the winner of a dispute (the challenger
	/// when the worker lied, the worker when the challenge was frivolous).
	pub winner_share: Perbill,
	/// The share of slashed or forfeited funds paid to the majority jurors of a dispute.
	pub jury_share: Perbill,
	/// Blocks a settled job's record and result are kept before they are pruned.
	pub result_retention: BlockNumber,
	/// VRF outputs (one per block) the randomness beacon must take in after a draw falls due
	/// before the draw is made: an assignment after `submit_job`, an audit after
	/// `submit_result`, a jury after `reveal_challenge` or a silent jury, a second worker after
	/// a missed deadline. Whoever makes a draw fall due cannot know the outputs of the blocks
	/// that follow unless it authors every one of them (see [`crate::draws`]). At least
	/// [`crate::draws::MIN_DRAW_DELAY`].
	pub draw_delay: u32,
}

/// A parameter set some job in flight was submitted under, and how many such jobs there are.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct ParamsUse<Balance, BlockNumber> {
	/// The parameters.
	pub params: JobParams<Balance, BlockNumber>,
	/// Jobs submitted under them and not yet settled.
	pub jobs: u32,
}

/// The shortest and longest windows the runtime lets the council set, in blocks (they depend on
/// the block time, so they are the runtime's; the bounds on shares and multiples are the
/// pallet's own, in [`crate::economics`]). A window too short to act in is a weapon: an
/// execution window shorter than a model's run slashes honest workers, a challenge window
/// shorter than a re-execution lets lies through.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct WindowBounds<BlockNumber> {
	/// The shortest [`JobParams::execution_window`].
	pub min_execution_window: BlockNumber,
	/// The shortest [`JobParams::challenge_window`] and [`JobParams::challenge_commit_ttl`].
	pub min_challenge_window: BlockNumber,
	/// The shortest [`JobParams::jury_commit_window`] and [`JobParams::jury_reveal_window`].
	pub min_jury_phase: BlockNumber,
	/// The shortest [`JobParams::council_window`].
	pub min_council_window: BlockNumber,
	/// The shortest [`JobParams::result_retention`].
	pub min_result_retention: BlockNumber,
	/// The longest [`JobParams::result_retention`].
	pub max_result_retention: BlockNumber,
}

/// Where a job stands.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub enum JobStatus<AccountId, BlockNumber> {
	/// Waiting for its worker, drawn by the settlement hook once the randomness beacon has
	/// taken in [`JobParams::draw_delay`] VRF outputs after the job fell due (its `draw_after`),
	/// from randomness the submitter could not know. While nobody has been drawn
	/// (`missed_by` is `None`) the submitter can cancel: nobody has seen the job to answer it.
	Pending {
		/// The worker that missed its deadline, when this is the wait for the second (and last)
		/// worker: it is excluded from the draw, and the job can no longer be cancelled.
		missed_by: Option<AccountId>,
	},
	/// A worker was drawn and must answer by `deadline`.
	Assigned {
		/// The assigned worker.
		worker: AccountId,
		/// The last block in which its result is accepted.
		deadline: BlockNumber,
		/// Whether this is the second (and last) worker drawn after a missed deadline.
		reassigned: bool,
	},
	/// A result is on chain and can be challenged until `settle_at`.
	Committed {
		/// The worker that answered.
		worker: AccountId,
		/// The block whose randomness decides whether the result is audited.
		audit_draw_at: BlockNumber,
		/// Whether the audit draw has been made.
		audit_decided: bool,
		/// The block that finalizes the result if nobody disputes it.
		settle_at: BlockNumber,
	},
	/// An audit or a challenge is being decided.
	Disputed {
		/// The worker whose result is in dispute.
		worker: AccountId,
		/// Who challenged, or `None` for a protocol audit.
		challenger: Option<AccountId>,
		/// The last block of vote commitments.
		commit_until: BlockNumber,
		/// The block that resolves the dispute (votes revealed before it count).
		resolve_at: BlockNumber,
		/// No juror could be drawn, or every jury was silent: the council decides by
		/// `resolve_at`.
		by_council: bool,
		/// The jury of `round` is not drawn yet: it is drawn at `resolve_at` (or later, once the
		/// job's `draw_after` is reached), from randomness nobody knew when the dispute opened
		/// or the last jury fell silent. No vote is taken meanwhile.
		jury_pending: bool,
		/// Which jury this is: 0 for the first, one more for each jury drawn after a silent one.
		round: u32,
	},
	/// Settled: the worker was paid. The record is pruned at `prune_at`.
	Finalized {
		/// The worker that was paid.
		worker: AccountId,
		/// When the record is removed.
		prune_at: BlockNumber,
	},
	/// Settled: the fee went back to the submitter. The record is pruned at `prune_at`.
	Refunded {
		/// Why.
		reason: RefundReason,
		/// When the record is removed.
		prune_at: BlockNumber,
	},
}

/// An inference job.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct Job<AccountId, Balance, BlockNumber> {
	/// Who pays.
	pub submitter: AccountId,
	/// The model that runs it.
	pub model: ModelId,
	/// What the model is asked.
	pub input: JobInput,
	/// [`JobInput::hash`] of `input`.
	pub input_hash: Hash,
	/// The fee held from the submitter until the job settles.
	pub fee: Balance,
	/// The storage deposit held from the submitter until the record is pruned: it pays for the
	/// input and the largest output the input allows.
	pub deposit: Balance,
	/// The block it was submitted in.
	pub submitted_at: BlockNumber,
	/// The parameter set it was submitted under ([`crate::ParamsInUse`]): a change of the
	/// market's parameters applies only to jobs submitted after it.
	pub params_version: u32,
	/// The block whose settlement hook looks at the job next (its one entry in
	/// [`crate::Timeouts`]).
	pub next_settlement: BlockNumber,
	/// The count of VRF outputs ([`RandomnessBeacon::outputs`]) the job's next draw waits for
	/// (an assignment, audit or jury): [`JobParams::draw_delay`] more than when it fell due.
	/// Meaningless while no draw is pending.
	pub draw_after: u64,
	/// Where it stands.
	pub status: JobStatus<AccountId, BlockNumber>,
}

/// A worker's answer to a job.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct JobResult<BlockNumber> {
	/// The output.
	pub output: JobOutput,
	/// [`JobOutput::hash`] of `output`.
	pub output_hash: Hash,
	/// The worker's ed25519 receipt signature over (chain, job, model, input, output).
	pub receipt_signature: ReceiptSignature,
	/// The block it was submitted in.
	pub submitted_at: BlockNumber,
}

/// A challenge commitment: the challenger and job stay hidden until the reveal.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct ChallengeCommitment<AccountId, Balance, BlockNumber> {
	/// Who committed (and holds the bond).
	pub challenger: AccountId,
	/// The bond held.
	pub bond: Balance,
	/// The block of the commitment; the reveal must come in a later one.
	pub committed_at: BlockNumber,
	/// The last block in which it can be revealed.
	pub expires_at: BlockNumber,
}

/// An open challenge: who challenged and what it holds.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct OpenChallenge<AccountId, Balance> {
	/// The challenger.
	pub challenger: AccountId,
	/// Its bond, held until the dispute is resolved.
	pub bond: Balance,
}

/// A juror's vote: the hash of the output it recomputed, and whether that confirms the claimed
/// output under the model's verification policy.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub struct Vote {
	/// [`JobOutput::hash`] of the juror's own recomputation.
	pub output_hash: Hash,
	/// Whether the recomputation confirms the claimed output. Under an exact policy this must be
	/// `output_hash == claimed hash` (the chain checks it); under a tolerance policy the juror
	/// compares values with `verity_primitives::policy::check`.
	pub confirms: bool,
}

/// A juror's place on a jury: how many seats it won, its commitment and, once revealed, its
/// vote (which counts once per seat).
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug, Default)]
pub struct JurySeat {
	/// Seats this juror holds: seats are drawn with replacement in proportion to bond.
	pub seats: u32,
	/// The hash it committed to.
	pub commitment: Option<Hash>,
	/// The vote it revealed.
	pub vote: Option<Vote>,
}

/// A jury: its members with their seats (`Members`, a bounded list of (juror, [`JurySeat`])),
/// and the stake every seat stands for.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug, Default)]
pub struct Jury<Members, Balance> {
	/// Each juror once, with its seats and vote.
	pub members: Members,
	/// The bond of the pool the seats were drawn from, divided by the seats: what a juror's
	/// slash is a share of, per seat, so that a seat costs the same whoever holds it and
	/// splitting a bond over accounts lowers no one's exposure.
	pub seat_stake: Balance,
}

/// The market's randomness beacon: every block's VRF output (BABE's, read the block after)
/// chained into one hash. Draws read it a [`JobParams::draw_delay`] of outputs after they fall
/// due; see [`crate::draws`].
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Default,
)]
pub struct RandomnessBeacon {
	/// BLAKE2-256 of the previous value and the newest VRF output.
	pub value: Hash,
	/// How many VRF outputs have been mixed in since genesis.
	pub outputs: u64,
}

/// How a dispute ended.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum DisputeOutcome {
	/// The result stands: the worker is paid.
	ResultUpheld,
	/// The result was wrong: the worker is slashed and the submitter refunded.
	ResultRejected,
	/// Nobody disproved the result (every jury was silent and the council did not rule in
	/// time): it stands and the worker is paid, as for an undisputed result; a challenger gets
	/// its bond back. Silence never refunds the submitter, so challenging one's own job from a
	/// second account buys no free inference.
	NoVerdict,
}

/// Why a job's fee went back to its submitter.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum RefundReason {
	/// The submitter cancelled before a worker was drawn.
	Cancelled,
	/// No worker could take the job (none with a free slot and bond), or none answered in time
	/// after one reassignment.
	NoWorker,
	/// A dispute proved the result wrong.
	ResultRejected,
}

/// Something the settlement hook must look at in a given block. Each job has exactly one entry
/// (at its `next_settlement`), each unrevealed commitment one (the block after it expires); an
/// entry leaves the queue when its reason does.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub enum Timeout {
	/// A job's assignment draw, deadline, audit draw, window end, dispute end or pruning; the
	/// job's status says which.
	Job(JobId),
	/// A challenge commitment expires.
	Commitment(Hash),
}
