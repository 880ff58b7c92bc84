//! # Job pallet
//!
//! The inference-job market of Verity, with optimistic verification.
//!
//! ## Overview
//!
//! A user pays for an inference; a staked worker, drawn with probability proportional to its bond,
//! answers with the output and a signed receipt; the result becomes final only after anyone had
//! the chance to prove it wrong:
//!
//! ```text
//! submit_job --> Pending --hook, D blocks on--> Assigned(worker, deadline) --submit_result--> Committed
//!                  |   \                          |                                      |        \
//!   cancel: full refund  no worker with a    deadline missed: worker pays      window closes  challenge
//!                        free slot: refund   a multiple of the fee, job        undisputed     or audit
//!                                            reassigned once, then refunded         |            |
//!                                                                                   v        Disputed:
//!                          Finalized <--- result stands (upheld, or nobody disproved it) --- jury, commit,
//!                          Refunded  <--- result rejected: liar slashed, submitter refunded   reveal; a
//!                                                                                  silent jury is redrawn
//! ```
//!
//! `D` is [`JobParams::draw_delay`]: every draw (assignment, audit, jury, reassignment) waits for
//! that many VRF outputs after it falls due; see [`draws`].
//!
//! ## Terminology
//!
//! * **Fee**: what the submitter offers (`max_fee`), held under [`HoldReason::JobFee`] until the
//!   job settles; at least the model's floor and [`JobParams::min_job_fee`], never zero. The
//!   assigned worker's bond covers it: the worker pallet reserves that much of the bond, and one
//!   slot of the worker's declared capacity for the model, while the job is in flight.
//! * **Deposit**: what the job's record costs to keep, held under [`HoldReason::JobDeposit`] from
//!   submission until the record is pruned ([`Config::JobDepositBase`] plus
//!   [`Config::JobDepositPerByte`] for the input and the largest output it allows).
//! * **Assignment**: two-phase. `submit_job` only pays; the settlement hook draws the worker once
//!   the randomness beacon has taken in [`JobParams::draw_delay`] VRF outputs of later blocks,
//!   so the submitter cannot know whom it gets when it signs, and a job can be cancelled only
//!   while nobody has been drawn for it (once a worker could have answered, cancelling would buy
//!   the answer for free: the cancel-race attack).
//! * **Challenge**: two steps, so it cannot be front-run. [`Pallet::commit_challenge`] holds a bond
//!   against a hash that binds the challenger's account, the job and a salt (see
//!   [`commitments`]); [`Pallet::reveal_challenge`] in a later block opens the dispute. A reveal
//!   copied by another account hashes to a commitment that does not exist.
//! * **Audit**: a share ([`JobParams::audit_rate`]) of results is disputed by the protocol itself,
//!   drawn a draw delay after the result, so a worker cannot know when it answers which results
//!   are checked, and verification never waits for a volunteer.
//! * **Jury**: `jury_size` seats (made odd), drawn **with replacement** in proportion to bond
//!   among the workers serving the model, excluding the accused, the challenger and the
//!   submitter: one account may hold several seats, and splitting a bond wins no seats. A
//!   challenge's jury is drawn a draw delay after the reveal, so a challenger cannot time its
//!   reveal to a jury of its own. Each juror re-executes the job, commits to its vote and reveals
//!   it after the commit phase; its vote counts once per seat. A [`Vote`] carries the juror's own
//!   output hash, not a bare yes or no. The majority of revealed seats decides. A jury none of whose members reveals is
//!   slashed for silence and replaced by a fresh one without them, up to
//!   [`JobParams::jury_rounds`] juries; then the council decides. With no eligible juror an audit
//!   is skipped (an event says so) and a challenge goes to the council. A result nobody disproved
//!   ([`DisputeOutcome::NoVerdict`]: the council did not rule in time) is paid.
//! * **Settlement**: in `on_initialize`, from a queue of [`Timeout`]s keyed by block number (see
//!   [`settlement`]): every job has exactly one entry, removed when its moment passes; at most
//!   [`Config::MaxSettlementsPerBlock`] entries are settled in a block and the rest wait for the
//!   next, in order, so no call ever fails because the queue is busy.
//!
//! ## Attacks and what stops them
//!
//! * **Flooding a worker** to get it slashed for missed deadlines: jobs go only to workers with a
//!   free slot of their declared capacity; a missed deadline costs
//!   [`JobParams::missed_deadline_multiple`] times the job's fee, not a share of the stake.
//! * **The cancel race** (read the answer in the pool, cancel first): cancelling is possible only
//!   while the job is pending, before any worker is drawn.
//! * **Filling the settlement queue** so that honest calls fail or audits are skipped: nothing
//!   fails when the queue is busy (entries wait for a later block, in order), entries leave the
//!   queue with their reason, and every entry belongs to a job or a commitment that holds a
//!   deposit or a bond. The `integrity_test` checks that a block's worst-case settlement fits in
//!   half of its weight.
//! * **Silence** (bribed or self-serving jurors, a challenge of one's own job on a thin model):
//!   a silent jury is slashed and redrawn, the council decides after the last, and a result
//!   nobody disproved is paid, so silence never refunds the submitter.
//! * **Choosing the draw** (aiming a job at a worker, revealing a challenge when the jury would
//!   be one's own, answering when no audit would come, a block author grinding the randomness):
//!   draws read BABE VRF outputs of blocks after the one that made them due, never a block hash;
//!   the residual bias is given as numbers in [`draws`].
//! * **Splitting a bond** over sybil jurors: seats are drawn with replacement and every seat's
//!   slash is a share of the same stake, so splitting changes neither seats nor exposure.
//! * **Squatting and spam**: see the worker pallet (a stronger bond takes the weakest slot of a
//!   full model index); every job carries a positive fee and a storage deposit.
//!
//! ## Calls
//!
//! * [`Pallet::submit_job`]: pay for a job; a worker is drawn a draw delay later and gets a
//!   deadline.
//! * [`Pallet::cancel_job`]: the submitter takes its fee back while no worker is drawn.
//! * [`Pallet::submit_result`]: the assigned worker answers before the deadline.
//! * [`Pallet::commit_challenge`] / [`Pallet::reveal_challenge`]: dispute a result.
//! * [`Pallet::commit_vote`] / [`Pallet::reveal_vote`]: a juror's vote.
//! * [`Pallet::set_params`]: the council changes the market's parameters.
//! * [`Pallet::decide_dispute`]: the council rules on a dispute no jury could be drawn for.
//!
//! ## Off-chain worker
//!
//! A worker node answers its jobs and votes on its juries without anyone at the keyboard: see
//! [`offchain`]. The models run on the node, behind the host functions of
//! `verity-inference-interface`, never in the runtime.
//!
//! Every refusal is a named [`Error`] and changes nothing. Models and workers are read only
//! through the traits of `verity-primitives` ([`verity_primitives::ModelRegistry`],
//! [`verity_primitives::WorkerSelection`], [`verity_primitives::Slashing`]).
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod commitments;
mod disputes;
pub mod draws;
pub mod economics;
mod invariants;
#[cfg(test)]
mod mock;
pub mod offchain;
pub mod settlement;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

#[frame_support::pallet]
pub mod pallet {
	use alloc::vec::Vec;
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{self, BalancedHold, Credit, InspectHold, MutateHold},
			tokens::Precision,
			OnUnbalanced, Randomness,
		},
	};
	use frame_system::pallet_prelude::*;
	use sp_runtime::traits::{One, Saturating, Zero};
	use verity_primitives::{
		job::{JobInput, JobOutput},
		policy::VerificationPolicy,
		receipt::{JobId, ReceiptPayload, ReceiptSignature},
		registry::ModelRegistry,
		workers::{Demand, FaultKind, SlashAmount, Slashing, WorkerSelection},
		Hash, ModelId,
	};

	use super::*;
	use crate::commitments::{challenge_commitment, vote_commitment};

	/// The balance type of the pallet's currency.
	pub type BalanceOf<T> = <<T as Config>::Currency as fungible::Inspect<
		<T as frame_system::Config>::AccountId,
	>>::Balance;
	/// Funds taken out of an account, on their way to another.
	pub type CreditOf<T> = Credit<<T as frame_system::Config>::AccountId, <T as Config>::Currency>;
	/// The market parameters of this runtime.
	pub type JobParamsOf<T> = JobParams<BalanceOf<T>, BlockNumberFor<T>>;
	/// A parameter set in use, as the runtime stores it.
	pub type ParamsUseOf<T> = ParamsUse<BalanceOf<T>, BlockNumberFor<T>>;
	/// A job of this runtime.
	pub type JobOf<T> =
		Job<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
	/// A job's status in this runtime.
	pub type JobStatusOf<T> = JobStatus<<T as frame_system::Config>::AccountId, BlockNumberFor<T>>;
	/// A result of this runtime.
	pub type JobResultOf<T> = JobResult<BlockNumberFor<T>>;
	/// A challenge commitment of this runtime.
	pub type CommitmentOf<T> = ChallengeCommitment<
		<T as frame_system::Config>::AccountId,
		BalanceOf<T>,
		BlockNumberFor<T>,
	>;
	/// An open challenge of this runtime.
	pub type OpenChallengeOf<T> =
		OpenChallenge<<T as frame_system::Config>::AccountId, BalanceOf<T>>;
	/// The jurors of one dispute, each once with its seats.
	pub type JuryMembersOf<T> =
		BoundedVec<(<T as frame_system::Config>::AccountId, JurySeat), <T as Config>::MaxJurySize>;
	/// A jury of this runtime.
	pub type JuryOf<T> = Jury<JuryMembersOf<T>, BalanceOf<T>>;
	/// A job in dispute before a jury: the job, the last block of vote commitments, the jury.
	pub type DisputeOf<T> = (JobOf<T>, BlockNumberFor<T>, JuryOf<T>);
	/// The jurors of earlier, silent juries of one dispute.
	pub type PastJurorsOf<T> =
		BoundedVec<<T as frame_system::Config>::AccountId, PastJurorsBound<T>>;

	/// The most jurors of earlier juries one dispute remembers: one jury fewer than the most
	/// rounds, each of the largest size.
	pub struct PastJurorsBound<T>(core::marker::PhantomData<T>);
	impl<T: Config> Get<u32> for PastJurorsBound<T> {
		fn get() -> u32 {
			T::MaxJurySize::get().saturating_mul(T::MaxJuryRounds::get())
		}
	}

	const STORAGE_VERSION: StorageVersion = StorageVersion::new(4);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the job pallet.
	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The native token; fees and challenge bonds are holds on it.
		type Currency: fungible::Mutate<Self::AccountId>
			+ fungible::Balanced<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ BalancedHold<Self::AccountId>;

		/// The runtime's hold reasons, of which [`HoldReason`] is a part.
		type RuntimeHoldReason: From<HoldReason>;

		/// The model registry: which models accept jobs, their kind, hash, policy and fee floor.
		type Models: ModelRegistry<BalanceOf<Self>>;

		/// Draws workers for jobs and juries.
		type Workers: WorkerSelection<Self::AccountId, BalanceOf<Self>>;

		/// Slashes workers and tracks the bond their jobs put at risk.
		type Slashing: Slashing<Self::AccountId, BalanceOf<Self>, Credit = CreditOf<Self>>;

		/// The VRF output of each block (BABE's `ParentBlockRandomness` in the Verity runtime),
		/// mixed into the market's randomness beacon every block; `None` where a block has
		/// none, and then draws wait (see [`draws`]). Never a block hash: an author chooses its
		/// block's hash.
		type Randomness: Randomness<Option<Hash>, BlockNumberFor<Self>>;

		/// Receives the protocol's share of fees and the rest of slashes and forfeited bonds (the
		/// treasury in the Verity runtime).
		type ProtocolFees: OnUnbalanced<CreditOf<Self>>;

		/// May change the market's parameters (the council in the Verity runtime).
		type ParamsOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// Rules on disputes no jury could be drawn for (the council in the Verity runtime).
		type DisputeOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// The smallest bond a worker serves with (the worker pallet's): the economic check sizes
		/// the slash for a wrong result against it.
		#[pallet::constant]
		type MinWorkerBond: Get<BalanceOf<Self>>;

		/// The longest a job may stay open; the worker pallet's unbonding period outlasts it, so
		/// every parameter set is checked against it.
		#[pallet::constant]
		type MaxJobLifetime: Get<BlockNumberFor<Self>>;

		/// The parameters until genesis or the council sets others.
		type DefaultParams: Get<JobParamsOf<Self>>;

		/// The shortest (and for retention the longest) windows a parameter set may have, in
		/// blocks of this runtime.
		type WindowBounds: Get<WindowBounds<BlockNumberFor<Self>>>;

		/// Most parameter sets with jobs in flight at once: a change is refused while this many
		/// older sets still have jobs (they all end within [`Config::MaxJobLifetime`]).
		#[pallet::constant]
		type MaxParamsVersions: Get<u32>;

		/// The largest jury.
		#[pallet::constant]
		type MaxJurySize: Get<u32>;

		/// The most juries drawn for one dispute ([`JobParams::jury_rounds`] is at most this).
		#[pallet::constant]
		type MaxJuryRounds: Get<u32>;

		/// Most settlement entries settled in one block; the rest wait for the next block, in
		/// order. The `integrity_test` checks that this many worst-case entries fit in half a
		/// block.
		#[pallet::constant]
		type MaxSettlementsPerBlock: Get<u32>;

		/// The flat part of a job's storage deposit.
		#[pallet::constant]
		type JobDepositBase: Get<BalanceOf<Self>>;

		/// The deposit per byte of a job's input and of the largest output it allows.
		#[pallet::constant]
		type JobDepositPerByte: Get<BalanceOf<Self>>;

		/// Most unrevealed challenge commitments one account has at once.
		#[pallet::constant]
		type MaxOpenCommitments: Get<u32>;

		/// The worker accounts this node serves jobs for in its off-chain worker, and how their
		/// transactions are signed (`()` for none).
		type LocalWorkers: crate::offchain::LocalWorkers<Self>;

		/// Weights of this pallet's calls and hooks, from its benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A job's fee, held from its submitter until the job settles.
		#[codec(index = 0)]
		JobFee,
		/// A challenger's bond, held from the commitment until the dispute is resolved.
		#[codec(index = 1)]
		ChallengeBond,
		/// A job's storage deposit, held from its submitter until the record is pruned.
		#[codec(index = 2)]
		JobDeposit,
	}

	/// The parameters [`Params`] holds until genesis or the council sets others.
	#[pallet::type_value]
	pub fn DefaultParamsValue<T: Config>() -> JobParamsOf<T> {
		T::DefaultParams::get()
	}

	/// The market's parameters for jobs submitted now.
	#[pallet::storage]
	pub type Params<T: Config> = StorageValue<_, JobParamsOf<T>, ValueQuery, DefaultParamsValue<T>>;

	/// The version of [`Params`]: one more at each change.
	#[pallet::storage]
	pub type ParamsVersion<T: Config> = StorageValue<_, u32, ValueQuery>;

	/// Every parameter set a job in flight was submitted under, by version, with the number of
	/// such jobs: a job is settled under the parameters it was submitted with. An entry leaves
	/// when its last job settles; at most [`Config::MaxParamsVersions`] entries.
	#[pallet::storage]
	pub type ParamsInUse<T: Config> =
		CountedStorageMap<_, Twox64Concat, u32, ParamsUseOf<T>, OptionQuery>;

	/// The id the next job gets.
	#[pallet::storage]
	pub type NextJobId<T: Config> = StorageValue<_, JobId, ValueQuery>;

	/// Jobs, from submission until pruned.
	#[pallet::storage]
	pub type Jobs<T: Config> = StorageMap<_, Twox64Concat, JobId, JobOf<T>, OptionQuery>;

	/// Results, from submission until the job is pruned.
	#[pallet::storage]
	pub type Results<T: Config> = StorageMap<_, Twox64Concat, JobId, JobResultOf<T>, OptionQuery>;

	/// The juries of disputes in progress.
	#[pallet::storage]
	pub type Juries<T: Config> = StorageMap<_, Twox64Concat, JobId, JuryOf<T>, OptionQuery>;

	/// The randomness beacon: every block's VRF output chained into one hash, and their count.
	#[pallet::storage]
	pub type Beacon<T: Config> = StorageValue<_, RandomnessBeacon, ValueQuery>;

	/// The challenges of disputes in progress.
	#[pallet::storage]
	pub type Challenges<T: Config> =
		StorageMap<_, Twox64Concat, JobId, OpenChallengeOf<T>, OptionQuery>;

	/// Challenge commitments not yet revealed, by hash.
	#[pallet::storage]
	pub type Commitments<T: Config> =
		StorageMap<_, Blake2_128Concat, Hash, CommitmentOf<T>, OptionQuery>;

	/// How many unrevealed challenge commitments each account has.
	#[pallet::storage]
	pub type OpenCommitments<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, u32, ValueQuery>;

	/// The settlement queue: what the settlement hook looks at, by block. Entries of blocks
	/// before [`SettlementCursor`] have all been settled.
	#[pallet::storage]
	pub type Timeouts<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		Twox64Concat,
		Timeout,
		(),
		OptionQuery,
	>;

	/// The first block whose queue entries may not all have been settled.
	#[pallet::storage]
	pub type SettlementCursor<T: Config> = StorageValue<_, BlockNumberFor<T>, ValueQuery>;

	/// The jurors of earlier, silent juries of a dispute in progress: a new jury excludes them.
	#[pallet::storage]
	pub type PastJurors<T: Config> =
		StorageMap<_, Twox64Concat, JobId, PastJurorsOf<T>, OptionQuery>;

	/// Parameters other than the runtime's defaults, from genesis (e.g. short windows on the dev
	/// chain).
	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// The market's parameters; `None` keeps [`Config::DefaultParams`].
		pub params: Option<JobParamsOf<T>>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			if let Some(params) = &self.params {
				Pallet::<T>::check_params(params).expect("the genesis job parameters are sound");
				Params::<T>::put(params);
			}
		}
	}

	/// What happened to jobs.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A job was paid for.
		JobSubmitted {
			/// The job.
			job_id: JobId,
			/// Who pays.
			submitter: T::AccountId,
			/// The model.
			model: ModelId,
			/// [`JobInput::hash`] of the input.
			input_hash: Hash,
			/// The fee held.
			fee: BalanceOf<T>,
			/// The storage deposit held until the record is pruned.
			deposit: BalanceOf<T>,
			/// The block whose settlement hook draws the worker, if every block until then has a
			/// VRF output (see [`draws`]).
			assign_at: BlockNumberFor<T>,
		},
		/// A worker was drawn for a job.
		JobAssigned {
			/// The job.
			job_id: JobId,
			/// The worker.
			worker: T::AccountId,
			/// The last block in which its result is accepted.
			deadline: BlockNumberFor<T>,
		},
		/// A worker answered; the result can be challenged until `settle_at`.
		ResultSubmitted {
			/// The job.
			job_id: JobId,
			/// The worker.
			worker: T::AccountId,
			/// [`JobOutput::hash`] of the output.
			output_hash: Hash,
			/// The block that finalizes it if nobody disputes it.
			settle_at: BlockNumberFor<T>,
		},
		/// A challenge bond was held against a commitment.
		ChallengeCommitted {
			/// The challenger.
			challenger: T::AccountId,
			/// The commitment.
			commitment: Hash,
		},
		/// A challenge was revealed: the result is disputed.
		ChallengeRevealed {
			/// The job.
			job_id: JobId,
			/// The challenger.
			challenger: T::AccountId,
		},
		/// A revealed challenge came after another dispute had started; its bond went back.
		ChallengeWithdrawn {
			/// The job.
			job_id: JobId,
			/// The challenger.
			challenger: T::AccountId,
		},
		/// A commitment was not revealed in time; its bond went to the treasury.
		ChallengeForfeited {
			/// The commitment.
			commitment: Hash,
			/// Who committed.
			challenger: T::AccountId,
			/// The bond forfeited.
			bond: BalanceOf<T>,
		},
		/// A result was drawn for a protocol audit: a jury follows, or the council when no jury
		/// can sit.
		AuditStarted {
			/// The job.
			job_id: JobId,
		},
		/// Jurors were drawn for a dispute.
		JuryDrawn {
			/// The job.
			job_id: JobId,
			/// The jurors, each with the seats it won (seats are drawn with replacement).
			jurors: Vec<(T::AccountId, u32)>,
			/// The last block of vote commitments.
			commit_until: BlockNumberFor<T>,
			/// The block that resolves the dispute.
			resolve_at: BlockNumberFor<T>,
			/// 0 for the first jury, one more for each drawn after a silent one.
			round: u32,
		},
		/// No juror could be drawn for a challenge, or every jury was silent: the council decides
		/// by `resolve_at`.
		DisputeReferredToCouncil {
			/// The job.
			job_id: JobId,
			/// The block by which the council must rule.
			resolve_at: BlockNumberFor<T>,
		},
		/// A juror committed to a vote.
		VoteCommitted {
			/// The job.
			job_id: JobId,
			/// The juror.
			juror: T::AccountId,
		},
		/// A juror revealed its vote.
		VoteRevealed {
			/// The job.
			job_id: JobId,
			/// The juror.
			juror: T::AccountId,
			/// The hash of the juror's own recomputation.
			output_hash: Hash,
			/// Whether it confirms the worker's output.
			confirms: bool,
		},
		/// A dispute was resolved.
		DisputeResolved {
			/// The job.
			job_id: JobId,
			/// How.
			outcome: DisputeOutcome,
			/// Seats whose revealed vote confirms the result.
			confirming: u32,
			/// Seats whose revealed vote rejects it.
			rejecting: u32,
		},
		/// A job settled: the worker was paid.
		JobFinalized {
			/// The job.
			job_id: JobId,
			/// The worker.
			worker: T::AccountId,
			/// [`JobOutput::hash`] of the final output.
			output_hash: Hash,
			/// What the worker received (the fee minus the protocol share).
			paid: BalanceOf<T>,
		},
		/// A job's fee went back to its submitter.
		JobRefunded {
			/// The job.
			job_id: JobId,
			/// The submitter.
			submitter: T::AccountId,
			/// The amount.
			amount: BalanceOf<T>,
			/// Why.
			reason: RefundReason,
		},
		/// A worker or juror was slashed over a job.
		WorkerSlashed {
			/// The job.
			job_id: JobId,
			/// The worker.
			who: T::AccountId,
			/// What for.
			fault: FaultKind,
			/// How much was taken.
			amount: BalanceOf<T>,
		},
		/// A settled job's record and result were removed (its events keep the hashes) and its
		/// deposit went back.
		JobPruned {
			/// The job.
			job_id: JobId,
			/// The deposit released to the submitter.
			deposit: BalanceOf<T>,
		},
		/// The council changed the market's parameters, for jobs submitted from now on.
		ParamsChanged {
			/// The new parameters' version.
			version: u32,
			/// The new parameters.
			params: JobParamsOf<T>,
		},
	}

	/// Why a call was refused.
	#[pallet::error]
	pub enum Error<T> {
		/// The model is unknown or was never approved.
		UnknownModel,
		/// The model is retired and takes no new jobs.
		ModelRetired,
		/// The input is malformed (empty, not UTF-8, `max_tokens` out of range).
		InvalidInput,
		/// The input asks for another kind of job than the model does.
		WrongInputKind,
		/// The fee is below the model's minimum.
		FeeBelowMinimum,
		/// The fee is above the largest fee a job may carry.
		FeeAboveMaximum,
		/// The account cannot pay the fee or the bond and stay alive.
		InsufficientBalance,
		/// No worker serving the model has a free slot and bond for the job.
		NoWorkerAvailable,
		/// No such job.
		UnknownJob,
		/// Only the submitter may do this.
		NotSubmitter,
		/// A job can be cancelled only while pending, before a worker is drawn for it.
		NotCancellable,
		/// The job already has a result, or is settled.
		NotAssigned,
		/// Only the worker assigned to the job may answer it.
		NotAssignedWorker,
		/// The job's deadline has passed.
		DeadlinePassed,
		/// The output is malformed (text not UTF-8, embedding not canonical).
		InvalidOutput,
		/// The output is of another kind than the model produces.
		WrongOutputKind,
		/// The worker has no registered receipt key.
		NoReceiptKey,
		/// The receipt signature does not verify with the worker's key.
		BadReceipt,
		/// The commitment is already in use.
		CommitmentExists,
		/// The account already has the most unrevealed commitments.
		TooManyCommitments,
		/// No commitment of the caller matches this job and salt.
		UnknownCommitment,
		/// A commitment can be revealed only in a later block than it was made in.
		RevealTooEarly,
		/// The job has no result open to challenge.
		NotChallengeable,
		/// The job is not in dispute before a jury.
		NotDisputed,
		/// The caller is not on the job's jury.
		NotAJuror,
		/// The vote commit phase is over.
		CommitPhaseOver,
		/// The juror already committed.
		AlreadyCommitted,
		/// The juror did not commit to a vote.
		NotCommitted,
		/// The revealed vote and salt do not match the commitment.
		VoteMismatch,
		/// The juror already revealed.
		AlreadyRevealed,
		/// Under the model's exact policy a vote confirms exactly when its hash is the claimed
		/// output's.
		InconsistentVote,
		/// The dispute is not waiting for the council.
		NotReferredToCouncil,
		/// The execution window is shorter than the runtime's bound.
		ExecutionWindowTooShort,
		/// The challenge window or the challenge commitment's lifetime is shorter than the
		/// runtime's bound.
		ChallengeWindowTooShort,
		/// A jury's commit or reveal window is shorter than the runtime's bound.
		JuryWindowTooShort,
		/// The council's window is shorter than the runtime's bound.
		CouncilWindowTooShort,
		/// The result retention is outside the runtime's bounds.
		RetentionOutOfBounds,
		/// The draw delay is outside [`draws::MIN_DRAW_DELAY`] ..= [`draws::MAX_DRAW_DELAY`].
		DrawDelayOutOfBounds,
		/// The winner's share of a slash is below the pallet's bound (catching a liar must pay).
		WinnerShareTooLow,
		/// The protocol's share of a fee is above the pallet's bound.
		ProtocolShareTooHigh,
		/// The audit rate is above the pallet's bound.
		AuditRateTooHigh,
		/// A juror slash (minority or silence) is above the pallet's bound.
		JurorSlashTooHigh,
		/// Silence would cost a juror less than a minority vote.
		SilenceCheaperThanMinority,
		/// The missed-deadline multiple is above the pallet's bound.
		MissedDeadlineMultipleTooHigh,
		/// The wrong-result multiple is above the pallet's bound.
		WrongResultMultipleTooHigh,
		/// A job at the largest fee would reserve more collateral than the smallest bond holds.
		CollateralAboveMinBond,
		/// The challenge bond is above what a rejected lie at the largest fee can pay.
		ChallengeBondTooHigh,
		/// The most parameter sets with jobs in flight are in use; wait for their jobs to settle.
		TooManyParamsInFlight,
		/// The jury size is zero, even, or above the most the runtime allows; or the jury rounds
		/// are zero or above the most the runtime allows.
		BadJurySize,
		/// The winner's and the jury's shares of a slash add up to more than all of it.
		SharesExceedWhole,
		/// A job could outlive the bound the worker pallet's unbonding period covers.
		LifetimeTooLong,
		/// Cheating would pay: audit rate × wrong-result multiple is not above 1 − audit rate
		/// (see [`crate::economics`]).
		CheatingPays,
		/// The challenge bond, the largest fee, the smallest fee or the missed-deadline multiple is
		/// zero, or the smallest fee is above the largest.
		ZeroAmount,
		/// The job counter would overflow.
		Overflow,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			// The beacon first: draws settled below read this block's output.
			Self::mix_randomness();
			Self::settle_block(now).saturating_add(T::DbWeight::get().reads_writes(2, 1))
		}

		/// Answers the jobs assigned to this node's workers and serves on their juries; see
		/// [`offchain`].
		fn offchain_worker(now: BlockNumberFor<T>) {
			Self::run_offchain_worker(now);
		}

		fn integrity_test() {
			assert!(T::MaxJurySize::get() > 0, "MaxJurySize must not be zero");
			assert!(
				T::MaxJuryRounds::get() > 0,
				"MaxJuryRounds must not be zero"
			);
			assert!(
				T::MaxSettlementsPerBlock::get() > 0,
				"MaxSettlementsPerBlock must not be zero"
			);
			let settlement = Self::worst_settlement_weight();
			let half_block = <T as frame_system::Config>::BlockWeights::get().max_block / 2;
			assert!(
				settlement.all_lte(half_block),
				"the worst-case settlement of one block ({settlement:?}) exceeds half a block \
				 ({half_block:?}): lower MaxSettlementsPerBlock"
			);
			assert!(
				T::MaxOpenCommitments::get() > 0,
				"MaxOpenCommitments must not be zero"
			);
			assert!(
				T::MaxParamsVersions::get() > 0,
				"MaxParamsVersions must not be zero"
			);
			if let Err(error) = Self::check_params(&T::DefaultParams::get()) {
				panic!("the default job parameters are refused: {error:?}");
			}
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()?;
			Self::params_in_use_are_sound()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Pays `max_fee` for running `input` on `model`. The fee and the job's storage deposit
		/// are held; in a later block the settlement hook draws a worker serving the model with a
		/// free slot and bond for the fee, in proportion to its bond, which must answer within
		/// [`JobParams::execution_window`] blocks. Refused at once when no such worker exists
		/// now; refunded (`NoWorker`) if none is left at the draw.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::submit_job())]
		pub fn submit_job(
			origin: OriginFor<T>,
			model: ModelId,
			input: JobInput,
			#[pallet::compact] max_fee: BalanceOf<T>,
		) -> DispatchResult {
			let submitter = ensure_signed(origin)?;
			input.validate().map_err(|_| Error::<T>::InvalidInput)?;
			let summary = T::Models::model(model).ok_or(Error::<T>::UnknownModel)?;
			ensure!(summary.accepts_jobs, Error::<T>::ModelRetired);
			ensure!(input.kind() == summary.kind, Error::<T>::WrongInputKind);
			let params = Params::<T>::get();
			ensure!(
				max_fee >= summary.min_fee && max_fee >= params.min_job_fee,
				Error::<T>::FeeBelowMinimum
			);
			ensure!(max_fee <= params.max_job_fee, Error::<T>::FeeAboveMaximum);
			let deposit = Self::deposit_for(&input);
			ensure!(
				T::Currency::can_hold(
					&HoldReason::JobFee.into(),
					&submitter,
					max_fee.saturating_add(deposit)
				),
				Error::<T>::InsufficientBalance
			);
			ensure!(
				T::Workers::eligible_count(
					model,
					core::slice::from_ref(&submitter),
					Demand::Job(Self::collateral(&params, max_fee))
				) > 0,
				Error::<T>::NoWorkerAvailable
			);
			let draw_delay = params.draw_delay;
			let params_version = ParamsVersion::<T>::get();
			let in_use = match ParamsInUse::<T>::get(params_version) {
				Some(mut in_use) => {
					in_use.jobs = in_use.jobs.checked_add(1).ok_or(Error::<T>::Overflow)?;
					in_use
				}
				None => ParamsUse { params, jobs: 1 },
			};

			let job_id = NextJobId::<T>::get();
			let next = job_id.checked_add(1).ok_or(Error::<T>::Overflow)?;
			T::Currency::hold(&HoldReason::JobFee.into(), &submitter, max_fee)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			T::Currency::hold(&HoldReason::JobDeposit.into(), &submitter, deposit)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			ParamsInUse::<T>::insert(params_version, in_use);
			let now = frame_system::Pallet::<T>::block_number();
			let input_hash = input.hash();
			let mut job = Job {
				submitter: submitter.clone(),
				model,
				input,
				input_hash,
				fee: max_fee,
				deposit,
				submitted_at: now,
				params_version,
				next_settlement: Zero::zero(),
				draw_after: 0,
				status: JobStatus::Pending { missed_by: None },
			};
			let assign_at = Self::draw_falls_due(&mut job, draw_delay);
			job.next_settlement = Self::schedule(assign_at, Timeout::Job(job_id));
			Jobs::<T>::insert(job_id, job);
			NextJobId::<T>::put(next);
			Self::deposit_event(Event::JobSubmitted {
				job_id,
				submitter,
				model,
				input_hash,
				fee: max_fee,
				deposit,
				assign_at,
			});
			Ok(())
		}

		/// The submitter cancels `job_id` while it is pending, before any worker is drawn; the
		/// whole fee comes back (the deposit when the record is pruned). Once a worker could have
		/// answered, cancelling is refused: the answer may already be in the transaction pool.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::cancel_job())]
		pub fn cancel_job(origin: OriginFor<T>, job_id: JobId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut job = Jobs::<T>::get(job_id).ok_or(Error::<T>::UnknownJob)?;
			ensure!(job.submitter == who, Error::<T>::NotSubmitter);
			ensure!(
				job.status == JobStatus::Pending { missed_by: None },
				Error::<T>::NotCancellable
			);
			Self::refund(job_id, &mut job, RefundReason::Cancelled);
			Jobs::<T>::insert(job_id, job);
			Ok(())
		}

		/// The assigned worker answers `job_id` with `output` and its ed25519 receipt signature
		/// over (genesis hash, job, model hash, input hash, output hash). Opens the challenge
		/// window.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::submit_result())]
		pub fn submit_result(
			origin: OriginFor<T>,
			job_id: JobId,
			output: JobOutput,
			receipt_signature: ReceiptSignature,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut job = Jobs::<T>::get(job_id).ok_or(Error::<T>::UnknownJob)?;
			let JobStatus::Assigned {
				worker, deadline, ..
			} = &job.status
			else {
				return Err(Error::<T>::NotAssigned.into());
			};
			ensure!(*worker == who, Error::<T>::NotAssignedWorker);
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(now <= *deadline, Error::<T>::DeadlinePassed);
			output.validate().map_err(|_| Error::<T>::InvalidOutput)?;
			let summary = T::Models::model(job.model).ok_or(Error::<T>::UnknownModel)?;
			ensure!(output.kind() == summary.kind, Error::<T>::WrongOutputKind);
			let key = T::Workers::receipt_key(&who).ok_or(Error::<T>::NoReceiptKey)?;
			let output_hash = output.hash();
			let payload = ReceiptPayload {
				genesis_hash: Self::genesis_hash(),
				job_id,
				model_hash: summary.model_hash,
				input_hash: job.input_hash,
				output_hash,
			};
			ensure!(
				sp_io::crypto::ed25519_verify(&receipt_signature, &payload.signing_payload(), &key),
				Error::<T>::BadReceipt
			);

			let params = Self::params_of(&job);
			let audit_draw_at = Self::draw_falls_due(&mut job, params.draw_delay);
			let settle_at = now.saturating_add(params.challenge_window);
			// The machine is free for another job; the bond stays reserved until settlement.
			T::Slashing::note_slot_freed(&who, job.model);
			job.status = JobStatus::Committed {
				worker: who.clone(),
				audit_draw_at,
				audit_decided: false,
				settle_at,
			};
			Self::reschedule(job_id, &mut job, audit_draw_at);
			Jobs::<T>::insert(job_id, job);
			Results::<T>::insert(
				job_id,
				JobResult {
					output,
					output_hash,
					receipt_signature,
					submitted_at: now,
				},
			);
			Self::deposit_event(Event::ResultSubmitted {
				job_id,
				worker: who,
				output_hash,
				settle_at,
			});
			Ok(())
		}

		/// Holds [`JobParams::challenge_bond`] against `commitment`, the hash
		/// [`commitments::challenge_commitment`] of the caller's account, the job and a secret
		/// salt. Reveal it in a later block, before the job's window closes. Unrevealed after
		/// [`JobParams::challenge_commit_ttl`] blocks, the bond goes to the treasury.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::commit_challenge())]
		pub fn commit_challenge(origin: OriginFor<T>, commitment: Hash) -> DispatchResult {
			let challenger = ensure_signed(origin)?;
			ensure!(
				!Commitments::<T>::contains_key(commitment),
				Error::<T>::CommitmentExists
			);
			let open = OpenCommitments::<T>::get(&challenger);
			ensure!(
				open < T::MaxOpenCommitments::get(),
				Error::<T>::TooManyCommitments
			);
			let params = Params::<T>::get();
			let bond = params.challenge_bond;
			ensure!(
				T::Currency::can_hold(&HoldReason::ChallengeBond.into(), &challenger, bond),
				Error::<T>::InsufficientBalance
			);
			let now = frame_system::Pallet::<T>::block_number();
			let expires_at = now.saturating_add(params.challenge_commit_ttl);
			T::Currency::hold(&HoldReason::ChallengeBond.into(), &challenger, bond)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			Self::schedule(
				expires_at.saturating_add(One::one()),
				Timeout::Commitment(commitment),
			);
			Commitments::<T>::insert(
				commitment,
				ChallengeCommitment {
					challenger: challenger.clone(),
					bond,
					committed_at: now,
					expires_at,
				},
			);
			OpenCommitments::<T>::insert(&challenger, open.saturating_add(1));
			Self::deposit_event(Event::ChallengeCommitted {
				challenger,
				commitment,
			});
			Ok(())
		}

		/// Reveals the caller's challenge of `job_id` made with `salt`: the result is disputed, and
		/// its jury is drawn [`JobParams::draw_delay`] blocks later, from randomness the
		/// challenger cannot know now. Only the account that committed can reveal (the hash binds it). If the
		/// job is already disputed or settled, the bond comes back instead.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::reveal_challenge(T::MaxJurySize::get()))]
		pub fn reveal_challenge(
			origin: OriginFor<T>,
			job_id: JobId,
			salt: [u8; 32],
		) -> DispatchResult {
			let challenger = ensure_signed(origin)?;
			let commitment = challenge_commitment(&challenger, job_id, &salt);
			// The hash binds the caller, but another account may have committed a copy of it
			// first (taken from the pool): that commitment, and its bond, are not the caller's.
			let committed = Commitments::<T>::get(commitment)
				.filter(|committed| committed.challenger == challenger)
				.ok_or(Error::<T>::UnknownCommitment)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(now > committed.committed_at, Error::<T>::RevealTooEarly);
			let mut job = Jobs::<T>::get(job_id).ok_or(Error::<T>::UnknownJob)?;
			match &job.status {
				JobStatus::Pending { .. } | JobStatus::Assigned { .. } => {
					Err(Error::<T>::NotChallengeable.into())
				}
				JobStatus::Committed { worker, .. } => {
					let worker = worker.clone();
					Self::forget_commitment(commitment, &committed);
					Challenges::<T>::insert(
						job_id,
						OpenChallenge {
							challenger: challenger.clone(),
							bond: committed.bond,
						},
					);
					Self::deposit_event(Event::ChallengeRevealed {
						job_id,
						challenger: challenger.clone(),
					});
					Self::open_challenge(job_id, &mut job, worker, challenger);
					Jobs::<T>::insert(job_id, job);
					Ok(())
				}
				_ => {
					Self::forget_commitment(commitment, &committed);
					Self::release(HoldReason::ChallengeBond, &challenger, committed.bond);
					Self::deposit_event(Event::ChallengeWithdrawn { job_id, challenger });
					Ok(())
				}
			}
		}

		/// A juror of `job_id` commits to its vote: [`commitments::vote_commitment`] of its
		/// account, the job, the vote and a secret salt.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::commit_vote(T::MaxJurySize::get()))]
		pub fn commit_vote(
			origin: OriginFor<T>,
			job_id: JobId,
			commitment: Hash,
		) -> DispatchResult {
			let juror = ensure_signed(origin)?;
			let (job, commit_until, mut jury) = Self::jury_of(job_id)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(now <= commit_until, Error::<T>::CommitPhaseOver);
			let seat = Self::seat_of(&mut jury.members, &juror)?;
			ensure!(seat.commitment.is_none(), Error::<T>::AlreadyCommitted);
			seat.commitment = Some(commitment);
			// Re-executed: the juror's slot is free for a job.
			T::Slashing::note_slot_freed(&juror, job.model);
			Juries::<T>::insert(job_id, jury);
			Self::deposit_event(Event::VoteCommitted { job_id, juror });
			Ok(())
		}

		/// A juror of `job_id` reveals its vote and salt, after the commit phase and before the
		/// dispute resolves.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::reveal_vote(T::MaxJurySize::get()))]
		pub fn reveal_vote(
			origin: OriginFor<T>,
			job_id: JobId,
			vote: Vote,
			salt: [u8; 32],
		) -> DispatchResult {
			let juror = ensure_signed(origin)?;
			let (job, commit_until, mut jury) = Self::jury_of(job_id)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(now > commit_until, Error::<T>::RevealTooEarly);
			let seat = Self::seat_of(&mut jury.members, &juror)?;
			let commitment = seat.commitment.ok_or(Error::<T>::NotCommitted)?;
			ensure!(seat.vote.is_none(), Error::<T>::AlreadyRevealed);
			ensure!(
				vote_commitment(&juror, job_id, &vote, &salt) == commitment,
				Error::<T>::VoteMismatch
			);
			let policy = T::Models::model(job.model)
				.map(|summary| summary.policy)
				.unwrap_or(VerificationPolicy::Exact);
			if policy == VerificationPolicy::Exact {
				let claimed = Results::<T>::get(job_id)
					.map(|result| result.output_hash)
					.ok_or(Error::<T>::NotDisputed)?;
				ensure!(
					vote.confirms == (vote.output_hash == claimed),
					Error::<T>::InconsistentVote
				);
			}
			seat.vote = Some(vote);
			Juries::<T>::insert(job_id, jury);
			Self::deposit_event(Event::VoteRevealed {
				job_id,
				juror,
				output_hash: vote.output_hash,
				confirms: vote.confirms,
			});
			Ok(())
		}

		/// Sets the market's parameters for jobs submitted from now on; refused when
		/// [`Pallet::check_params`] finds them unsound, or while [`Config::MaxParamsVersions`]
		/// older sets still have jobs in flight. Jobs in flight keep the parameters they were
		/// submitted under.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::set_params())]
		pub fn set_params(origin: OriginFor<T>, params: JobParamsOf<T>) -> DispatchResult {
			T::ParamsOrigin::ensure_origin(origin)?;
			Self::check_params(&params)?;
			ensure!(
				ParamsInUse::<T>::count() < T::MaxParamsVersions::get(),
				Error::<T>::TooManyParamsInFlight
			);
			let version = ParamsVersion::<T>::get()
				.checked_add(1)
				.ok_or(Error::<T>::Overflow)?;
			ParamsVersion::<T>::put(version);
			Params::<T>::put(&params);
			Self::deposit_event(Event::ParamsChanged { version, params });
			Ok(())
		}

		/// Rules on a dispute that no jury could be drawn for, or whose juries were all silent:
		/// `upheld` keeps the result (the worker is paid, the challenger loses its bond),
		/// otherwise the worker is slashed and the submitter refunded.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::decide_dispute())]
		pub fn decide_dispute(origin: OriginFor<T>, job_id: JobId, upheld: bool) -> DispatchResult {
			T::DisputeOrigin::ensure_origin(origin)?;
			let mut job = Jobs::<T>::get(job_id).ok_or(Error::<T>::UnknownJob)?;
			let JobStatus::Disputed {
				by_council: true, ..
			} = job.status
			else {
				return Err(Error::<T>::NotReferredToCouncil.into());
			};
			let outcome = if upheld {
				DisputeOutcome::ResultUpheld
			} else {
				DisputeOutcome::ResultRejected
			};
			Self::resolve_dispute(job_id, &mut job, Some(outcome));
			Jobs::<T>::insert(job_id, job);
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// The genesis hash receipts are bound to.
		pub fn genesis_hash() -> Hash {
			let hash = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero());
			Hash::from_slice(hash.as_ref())
		}

		/// A job in dispute before a jury: the job, the last block of vote commitments, the jury.
		fn jury_of(job_id: JobId) -> Result<DisputeOf<T>, Error<T>> {
			let job = Jobs::<T>::get(job_id).ok_or(Error::<T>::UnknownJob)?;
			let JobStatus::Disputed {
				commit_until,
				by_council: false,
				jury_pending: false,
				..
			} = job.status
			else {
				return Err(Error::<T>::NotDisputed);
			};
			let jury = Juries::<T>::get(job_id).ok_or(Error::<T>::NotDisputed)?;
			Ok((job, commit_until, jury))
		}

		/// The seat of `juror` on `jury`.
		fn seat_of<'a>(
			jury: &'a mut JuryMembersOf<T>,
			juror: &T::AccountId,
		) -> Result<&'a mut JurySeat, Error<T>> {
			jury.iter_mut()
				.find(|(account, _)| account == juror)
				.map(|(_, seat)| seat)
				.ok_or(Error::<T>::NotAJuror)
		}

		/// Queues `timeout` for block `at` (never before the next block, whose hook has not run
		/// yet); returns the block. The queue has no per-block bound: the hook settles at most
		/// [`Config::MaxSettlementsPerBlock`] entries a block and the rest in the next blocks, so
		/// scheduling never fails.
		pub(crate) fn schedule(at: BlockNumberFor<T>, timeout: Timeout) -> BlockNumberFor<T> {
			let next = frame_system::Pallet::<T>::block_number().saturating_add(One::one());
			let at = at.max(next);
			Timeouts::<T>::insert(at, timeout, ());
			at
		}

		/// Moves the queue entry of `job_id` from `job.next_settlement` to `at` (the old entry is
		/// gone already when the hook is settling it).
		pub(crate) fn reschedule(job_id: JobId, job: &mut JobOf<T>, at: BlockNumberFor<T>) {
			Timeouts::<T>::remove(job.next_settlement, Timeout::Job(job_id));
			job.next_settlement = Self::schedule(at, Timeout::Job(job_id));
		}

		/// The storage deposit of a job with `input`: the base plus the per-byte rate for the
		/// input and the largest output it allows.
		pub fn deposit_for(input: &JobInput) -> BalanceOf<T> {
			let bytes = (input.encoded_size() as u32).saturating_add(input.max_output_len());
			T::JobDepositPerByte::get()
				.saturating_mul(bytes.into())
				.saturating_add(T::JobDepositBase::get())
		}

		/// Releases `amount` held for `reason` from `who`.
		pub(crate) fn release(reason: HoldReason, who: &T::AccountId, amount: BalanceOf<T>) {
			let _ = T::Currency::release(&reason.into(), who, amount, Precision::BestEffort);
		}

		/// Drops an unrevealed commitment from the books and the settlement queue (its bond stays
		/// held).
		pub(crate) fn forget_commitment(commitment: Hash, committed: &CommitmentOf<T>) {
			Commitments::<T>::remove(commitment);
			Timeouts::<T>::remove(
				committed.expires_at.saturating_add(One::one()),
				Timeout::Commitment(commitment),
			);
			OpenCommitments::<T>::mutate_exists(&committed.challenger, |open| {
				let left = open.unwrap_or(0).saturating_sub(1);
				*open = (left > 0).then_some(left);
			});
		}

		/// Returns a job's fee to its submitter and marks the job refunded.
		pub(crate) fn refund(job_id: JobId, job: &mut JobOf<T>, reason: RefundReason) {
			Self::release(HoldReason::JobFee, &job.submitter, job.fee);
			let prune_at = Self::schedule_prune(job_id, job);
			job.status = JobStatus::Refunded { reason, prune_at };
			Self::deposit_event(Event::JobRefunded {
				job_id,
				submitter: job.submitter.clone(),
				amount: job.fee,
				reason,
			});
		}

		/// Slashes `who` by `amount` for `fault` over `job_id` and hands the slashed funds back.
		pub(crate) fn slash(
			job_id: JobId,
			who: &T::AccountId,
			amount: SlashAmount<BalanceOf<T>>,
			fault: FaultKind,
		) -> CreditOf<T> {
			let credit = T::Slashing::slash_into_credit(who, amount, fault);
			Self::deposit_event(Event::WorkerSlashed {
				job_id,
				who: who.clone(),
				fault,
				amount: frame_support::traits::Imbalance::peek(&credit),
			});
			credit
		}
	}
}
