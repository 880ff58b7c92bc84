//! A test runtime: System, Balances, the real worker pallet (bonds, draws, slashing) and the job
//! pallet, with a model registry and a randomness source kept in thread-local tables.

use core::cell::RefCell;
use std::collections::BTreeMap;

use codec::Encode;
use frame_support::{
	derive_impl, parameter_types,
	traits::{tokens::imbalance::ResolveTo, ConstU128, ConstU32, ConstU64, Hooks, Randomness},
};
use frame_system::EnsureRoot;
use sp_core::{ed25519, Pair};
use sp_runtime::{BuildStorage, Perbill};
use verity_primitives::{
	job::{JobInput, JobKind, JobOutput},
	policy::VerificationPolicy,
	receipt::{JobId, ReceiptPayload, ReceiptSignature},
	registry::{ModelRegistry, ModelSummary},
	Hash, ModelId,
};

use crate::{self as pallet_jobs, JobParams};

/// Account ids are plain numbers in tests.
pub type AccountId = u64;
/// Balances in tests.
pub type Balance = u128;
type Block = frame_system::mocking::MockBlock<Test>;

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Test;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type Balances = pallet_balances;
	#[runtime::pallet_index(2)]
	pub type Workers = pallet_workers;
	#[runtime::pallet_index(3)]
	pub type Jobs = pallet_jobs;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = Balance;
	type ExistentialDeposit = ConstU128<1>;
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
}

/// A generation model (exact policy).
pub const GENERATE: ModelId = 0;
/// An embedding model (tolerance policy).
pub const EMBED: ModelId = 1;
/// A model that was approved and is now retired.
pub const RETIRED: ModelId = 3;
/// A model nobody approved.
pub const UNKNOWN: ModelId = 9;
/// The smallest fee of every model in tests.
pub const MIN_FEE: Balance = 10;

thread_local! {
	/// Model id -> (kind, accepts jobs). Absent: unknown.
	static MODELS: RefCell<BTreeMap<ModelId, (JobKind, bool)>> = const { RefCell::new(BTreeMap::new()) };
	/// Mixed into every random output, so a test can change the draws.
	static ENTROPY: RefCell<u64> = const { RefCell::new(0) };
	/// VRF outputs a test set for given blocks (`None`: a block without one).
	static VRF: RefCell<BTreeMap<u64, Option<Hash>>> = const { RefCell::new(BTreeMap::new()) };
	/// Set by tests that write parameters the soundness check would refuse.
	pub static PARAMS_FORCED: RefCell<bool> = const { RefCell::new(false) };
	/// The worker accounts the off-chain worker serves.
	static LOCAL_WORKERS: RefCell<Vec<AccountId>> = const { RefCell::new(Vec::new()) };
	/// What the off-chain worker sent, in order.
	static SENT: RefCell<Vec<(AccountId, crate::Call<Test>)>> = const { RefCell::new(Vec::new()) };
}

/// The off-chain worker's view of the node in tests: a settable list of local workers, and a
/// transaction pool that records what is sent.
pub struct MockLocalWorkers;

impl MockLocalWorkers {
	/// Makes `workers` this node's workers.
	pub fn set(workers: &[AccountId]) {
		LOCAL_WORKERS.with(|l| *l.borrow_mut() = workers.to_vec());
	}

	/// Takes what was sent since the last call.
	pub fn take_sent() -> Vec<(AccountId, crate::Call<Test>)> {
		SENT.with(|s| core::mem::take(&mut *s.borrow_mut()))
	}
}

impl crate::offchain::LocalWorkers<Test> for MockLocalWorkers {
	fn accounts() -> Vec<AccountId> {
		LOCAL_WORKERS.with(|l| l.borrow().clone())
	}

	fn submit(
		who: &AccountId,
		call: crate::Call<Test>,
	) -> Result<(), crate::offchain::SubmitError> {
		if !Self::accounts().contains(who) {
			return Err(crate::offchain::SubmitError::NoKey);
		}
		SENT.with(|s| s.borrow_mut().push((*who, call)));
		Ok(())
	}
}

/// The registry as the job pallet sees it in tests.
pub struct MockModels;

impl MockModels {
	/// Retires model `id`.
	pub fn retire(id: ModelId) {
		MODELS.with(|m| {
			if let Some(entry) = m.borrow_mut().get_mut(&id) {
				entry.1 = false;
			}
		});
	}
}

impl ModelRegistry<Balance> for MockModels {
	fn model(id: ModelId) -> Option<ModelSummary<Balance>> {
		let (kind, accepts_jobs) = MODELS.with(|m| m.borrow().get(&id).copied())?;
		Some(ModelSummary {
			kind,
			model_hash: Hash::repeat_byte(id as u8 + 1),
			weights_hash: Hash::repeat_byte(id as u8 + 1),
			tokenizer_hash: Hash::repeat_byte(id as u8 + 1),
			policy: match kind {
				JobKind::Generate => VerificationPolicy::Exact,
				JobKind::Embed => VerificationPolicy::Tolerance {
					max_abs_diff_ppm: 100,
				},
			},
			min_fee: MIN_FEE,
			accepts_jobs,
		})
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn register_benchmark_model(kind: JobKind) -> Option<ModelId> {
		let id = MODELS.with(|m| m.borrow().keys().last().map_or(0, |last| last + 1));
		MODELS.with(|m| m.borrow_mut().insert(id, (kind, true)));
		Some(id)
	}
}

/// The VRF source in tests, shaped like BABE's `ParentBlockRandomness`: the output a block
/// reads (BLAKE2 of the block number and the test's entropy, unless a test set another or none),
/// hashed with the subject.
pub struct MockRandomness;

impl MockRandomness {
	/// Changes every later output a test did not set.
	pub fn set_entropy(entropy: u64) {
		ENTROPY.with(|e| *e.borrow_mut() = entropy);
	}

	/// Sets the VRF output block `block` reads; `None` makes it a block without one.
	pub fn set_output(block: u64, output: Option<Hash>) {
		VRF.with(|v| v.borrow_mut().insert(block, output));
	}

	/// What the beacon takes in from a block whose VRF output is `output`.
	pub fn beacon_input(output: Hash) -> Hash {
		verity_primitives::blake2_256(&(crate::draws::BEACON_TAG, output).encode())
	}

	/// The output block `block` reads.
	pub fn output(block: u64) -> Option<Hash> {
		VRF.with(|v| v.borrow().get(&block).copied())
			.unwrap_or_else(|| {
				let entropy = ENTROPY.with(|e| *e.borrow());
				Some(verity_primitives::blake2_256(
					&(b"vrf", block, entropy).encode(),
				))
			})
	}
}

impl Randomness<Option<Hash>, u64> for MockRandomness {
	fn random(subject: &[u8]) -> (Option<Hash>, u64) {
		let block = System::block_number();
		let output = Self::output(block)
			.map(|output| verity_primitives::blake2_256(&(subject, output).encode()));
		(output, block.saturating_sub(1))
	}
}

/// Where the protocol's share and slashes go in tests.
pub const TREASURY: AccountId = 99;
/// The smallest worker bond in tests.
pub const MIN_BOND: Balance = 50_000;
/// The longest job the parameters may allow, in blocks.
pub const MAX_LIFETIME: u64 = 60;
/// The flat part of a job's deposit in tests.
pub const DEPOSIT_BASE: Balance = 7;
/// The deposit per byte in tests.
pub const DEPOSIT_PER_BYTE: Balance = 1;
/// The capacity every test worker declares for each model, unless a test says otherwise.
pub const CAPACITY: u32 = 16;

parameter_types! {
	pub const Treasury: AccountId = TREASURY;
	pub TestParams: JobParams<Balance, u64> = default_params();
	pub TestWindowBounds: crate::WindowBounds<u64> = crate::WindowBounds {
		min_execution_window: 2,
		min_challenge_window: 2,
		min_jury_phase: 1,
		min_council_window: 2,
		min_result_retention: 1,
		max_result_retention: 1_000,
	};
}

/// The parameters every test starts with.
pub fn default_params() -> JobParams<Balance, u64> {
	JobParams {
		execution_window: 5,
		challenge_window: 4,
		challenge_commit_ttl: 4,
		jury_commit_window: 2,
		jury_reveal_window: 2,
		council_window: 5,
		audit_rate: Perbill::from_percent(10),
		jury_size: 3,
		challenge_bond: 500,
		max_job_fee: 1_000,
		min_job_fee: 1,
		missed_deadline_multiple: 2,
		wrong_result_multiple: 20,
		slash_juror: Perbill::from_percent(1),
		slash_juror_silent: Perbill::from_percent(2),
		jury_rounds: 2,
		protocol_share: Perbill::from_percent(10),
		winner_share: Perbill::from_percent(50),
		jury_share: Perbill::from_percent(30),
		result_retention: 20,
		draw_delay: 2,
	}
}

impl pallet_workers::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Models = MockModels;
	type MinWorkerBond = ConstU128<MIN_BOND>;
	type UnbondingPeriod = ConstU64<100>;
	type MaxJobLifetime = ConstU64<MAX_LIFETIME>;
	type MaxWorkersPerModel = ConstU32<8>;
	type MaxModelsPerWorker = ConstU32<3>;
	type MaxUnbondingChunks = ConstU32<3>;
	type MaxCapacity = ConstU32<64>;
	type Slashed = ResolveTo<Treasury, Balances>;
	type WeightInfo = ();
}

impl pallet_jobs::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Models = MockModels;
	type Workers = Workers;
	type Slashing = Workers;
	type Randomness = MockRandomness;
	type ProtocolFees = ResolveTo<Treasury, Balances>;
	type ParamsOrigin = EnsureRoot<AccountId>;
	type DisputeOrigin = EnsureRoot<AccountId>;
	type MinWorkerBond = ConstU128<MIN_BOND>;
	type MaxJobLifetime = ConstU64<MAX_LIFETIME>;
	type DefaultParams = TestParams;
	type WindowBounds = TestWindowBounds;
	type MaxParamsVersions = ConstU32<3>;
	type MaxJurySize = ConstU32<5>;
	type MaxJuryRounds = ConstU32<3>;
	type MaxSettlementsPerBlock = ConstU32<16>;
	type JobDepositBase = ConstU128<DEPOSIT_BASE>;
	type JobDepositPerByte = ConstU128<DEPOSIT_PER_BYTE>;
	type MaxOpenCommitments = ConstU32<2>;
	type LocalWorkers = MockLocalWorkers;
	type WeightInfo = ();
}

/// Accounts that can act as workers.
pub const WORKERS: [AccountId; 6] = [1, 2, 3, 4, 5, 6];
/// Users who submit jobs.
pub const ALICE: AccountId = 10;
/// Another user.
pub const BOB: AccountId = 11;
/// A challenger.
pub const CHALLENGER: AccountId = 12;
/// A user with little money.
pub const POOR: AccountId = 20;
/// What funded accounts start with.
pub const ENDOWMENT: Balance = 10_000_000;
/// The bond of a worker in tests.
pub const BOND: Balance = 100_000;

/// The receipt key pair of worker `who`.
pub fn receipt_pair(who: AccountId) -> ed25519::Pair {
	ed25519::Pair::from_seed(&[who as u8; 32])
}

/// Bonds [`BOND`] from `who` and registers it for `models`.
pub fn register(who: AccountId, models: &[ModelId]) {
	register_with_bond(who, BOND, models);
}

/// Bonds `bond` from `who` and registers it for `models`, each with [`CAPACITY`].
pub fn register_with_bond(who: AccountId, bond: Balance, models: &[ModelId]) {
	register_with_capacity(who, bond, models, CAPACITY);
}

/// Bonds `bond` from `who` and registers it for `models`, each with `capacity`.
pub fn register_with_capacity(who: AccountId, bond: Balance, models: &[ModelId], capacity: u32) {
	Workers::bond(RuntimeOrigin::signed(who), bond).unwrap();
	let offers: Vec<pallet_workers::ModelCapacity> = models
		.iter()
		.map(|model| pallet_workers::ModelCapacity {
			model: *model,
			capacity,
		})
		.collect();
	Workers::register_worker(
		RuntimeOrigin::signed(who),
		offers.try_into().unwrap(),
		receipt_pair(who).public(),
	)
	.unwrap();
}

/// A generation input.
pub fn prompt(text: &str) -> JobInput {
	JobInput::generate(text, 8).unwrap()
}

/// A generation output.
pub fn answer(text: &str) -> JobOutput {
	JobOutput::generated(text.bytes().map(u32::from).collect(), text).unwrap()
}

/// The receipt signature `worker` gives for `output` of `job_id`.
pub fn sign(worker: AccountId, job_id: JobId, output: &JobOutput) -> ReceiptSignature {
	let job = pallet_jobs::Jobs::<Test>::get(job_id).expect("the job exists");
	let summary = MockModels::model(job.model).expect("the model exists");
	let payload = ReceiptPayload {
		genesis_hash: Jobs::genesis_hash(),
		job_id,
		model_hash: summary.model_hash,
		input_hash: job.input_hash,
		output_hash: output.hash(),
	};
	receipt_pair(worker).sign(&payload.signing_payload())
}

/// Moves to block `n`, running the job pallet's `on_initialize` in every block on the way.
pub fn run_to_block(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Jobs::on_initialize(next);
	}
}

/// Genesis: funded users and workers, a treasury account, the models; nobody registered.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default()
		.build_storage()
		.unwrap();
	let mut balances: Vec<(AccountId, Balance)> = WORKERS.iter().map(|w| (*w, ENDOWMENT)).collect();
	balances.extend([
		(ALICE, ENDOWMENT),
		(BOB, ENDOWMENT),
		(CHALLENGER, ENDOWMENT),
		(POOR, 15),
		(TREASURY, 1),
	]);
	pallet_balances::GenesisConfig::<Test> {
		balances,
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	MODELS.with(|m| {
		let mut models = m.borrow_mut();
		models.clear();
		models.insert(GENERATE, (JobKind::Generate, true));
		models.insert(EMBED, (JobKind::Embed, true));
		models.insert(RETIRED, (JobKind::Generate, false));
	});
	MockRandomness::set_entropy(0);
	VRF.with(|v| v.borrow_mut().clear());
	MockLocalWorkers::set(&[]);
	MockLocalWorkers::take_sent();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Runs `test` in a fresh test externality, then checks both pallets' books and that no money
/// was created or destroyed (the job pallet never burns: every slash and fee lands somewhere).
pub fn run_test(test: impl FnOnce()) {
	PARAMS_FORCED.with(|forced| *forced.borrow_mut() = false);
	new_test_ext().execute_with(|| {
		let issuance = Balances::total_issuance();
		test();
		Jobs::do_try_state().expect("the job pallet's books balance");
		if !PARAMS_FORCED.with(|forced| *forced.borrow()) {
			Jobs::params_in_use_are_sound().expect("every parameter set in use is sound");
		}
		Workers::do_try_state().expect("the worker pallet's books balance");
		assert_eq!(
			Balances::total_issuance(),
			issuance,
			"the job market neither mints nor burns"
		);
	});
}

/// [`new_test_ext`] with a keystore, where the benchmarks keep their workers' receipt keys.
#[cfg(feature = "runtime-benchmarks")]
pub fn new_bench_ext() -> sp_io::TestExternalities {
	let mut ext = new_test_ext();
	ext.register_extension(sp_keystore::KeystoreExt::new(
		sp_keystore::testing::MemoryKeystore::new(),
	));
	ext
}
