//! End to end: the `verity` command line against a real development node (`--dev --worker`),
//! one node for every command.
//!
//! * `verity models list|show` read the registry;
//! * bad input is a readable error and a non-zero exit and changes nothing: an unknown model or
//!   job, an amount without a unit, a real secret on the command line, an unreachable node; a
//!   refused extrinsic names its pallet error and its documentation;
//! * `verity job submit --wait` follows a SmolLM2 and a MiniLM job to their finalization, and
//!   `verity job verify` re-runs each locally and says VERIFIED (exit 0).
//!
//! The `verity` binary is the one cargo built next to `verity-node` (`cargo test --workspace`
//! builds both). The MISMATCH verdict is checked on a lying worker's job in `e2e_faults.rs`.

mod common;

use std::{
	process::{Command, Output},
	time::Duration,
};

use common::{verity_binary, TestNode};
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
	let mut node = TestNode::start(&["--dev", "--worker", "--models-dir", models]);
	let _api = node.connect(Duration::from_secs(120)).await;
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

	// Bad input: readable, non-zero, nothing on chain.
	let alice = ["--suri", "//Alice"];
	let submit = |extra: &[&str]| {
		let mut args = vec!["job", "submit"];
		args.extend_from_slice(extra);
		args.extend_from_slice(&alice);
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

	// Two jobs, followed to their finalization at once, then verified.
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
		"//Alice",
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
		"//Bob",
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
	// Bob submitted the embedding, the second job.
	let bobs = json(&verity(
		url,
		&["job", "list", "--mine", "--suri", "//Bob", "--json"],
	));
	assert_eq!(ids(&bobs), vec![finalized[1]], "{bobs}");
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

	let status = node.stop(Duration::from_secs(60));
	assert!(status.success(), "verity-node exits cleanly, got {status}");
}
