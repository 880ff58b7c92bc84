//! The explorer (`explorer/`, served by `scripts/explorer.sh`) in a real browser: Debian's
//! headless Chromium driven by playwright-core (`explorer/tests/browser.mjs`).
//!
//! * a job submitted as Alice with @polkadot/api appears in the jobs table and reaches
//!   Finalized there without a reload; the status filter narrows the table;
//! * its page shows the prompt, the output and the output hash that the chain holds (read here
//!   with `verity job show`), its events in order and the `verity job verify` command;
//! * the workers page shows the dev worker's jobs-done count go up, never past the chain's;
//! * an unknown job id says "not found"; the registry lists both models; the network page has
//!   its four charts;
//! * with the node stopped, the page says it cannot reach it ([`node_gone`]);
//! * a screenshot of each page is written to `$CARGO_TARGET_TMPDIR/explorer/`.

use std::{
	os::unix::process::CommandExt,
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

use crate::common::{free_port, verity_binary};
use serde_json::Value;

/// The repository's root.
fn root() -> PathBuf {
	Path::new(env!("CARGO_MANIFEST_DIR"))
		.parent()
		.expect("node/ has a parent")
		.to_path_buf()
}

/// `scripts/explorer.sh` serving the explorer, killed on drop.
pub struct Explorer {
	child: Child,
	/// Its address, `http://127.0.0.1:PORT`.
	pub base: String,
}

impl Drop for Explorer {
	fn drop(&mut self) {
		// The whole process group: `npm ci` or the build may still run under the script.
		let _ = Command::new("kill")
			.args(["-TERM", "--", &format!("-{}", self.child.id())])
			.status();
		let _ = self.child.wait();
	}
}

/// Runs `explorer/tests/browser.mjs` with `args` and returns its report. The script gives up by
/// itself after 280 s; it is killed at 300.
fn browser(args: &[&str]) -> Value {
	let mut child = Command::new("node")
		.arg(root().join("explorer/tests/browser.mjs"))
		.args(args)
		.current_dir(root().join("explorer"))
		.stdout(Stdio::piped())
		.stderr(Stdio::piped())
		.spawn()
		.expect("node runs");
	let started = Instant::now();
	while child.try_wait().expect("the script's status").is_none() {
		if started.elapsed() > Duration::from_secs(300) {
			let _ = child.kill();
			panic!("browser.mjs {args:?} did not finish in 300 s");
		}
		std::thread::sleep(Duration::from_millis(200));
	}
	let output = child.wait_with_output().expect("its output");
	assert!(
		output.status.success(),
		"browser.mjs {args:?} failed: {}{}",
		String::from_utf8_lossy(&output.stdout),
		String::from_utf8_lossy(&output.stderr)
	);
	serde_json::from_slice(&output.stdout)
		.unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

/// A PNG file that is not empty.
fn assert_screenshot(path: &Path) {
	let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
	assert!(
		bytes.len() > 10_000 && bytes.starts_with(b"\x89PNG"),
		"{} is not a screenshot",
		path.display()
	);
}

/// Where the screenshots go.
fn screenshots() -> PathBuf {
	let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explorer");
	std::fs::create_dir_all(&out).expect("the screenshot folder");
	out
}

impl Explorer {
	/// Builds (`npm ci` and the bundle the first time, seconds afterwards) and serves the
	/// explorer for the node at `ws`.
	pub fn start(ws: &str) -> Self {
		let port = free_port();
		let log = std::env::temp_dir().join(format!("verity-explorer-{port}.log"));
		let log_file = std::fs::File::create(&log).expect("a log");
		let child = Command::new(root().join("scripts/explorer.sh"))
			.args(["--url", ws, "--port", &port.to_string()])
			.process_group(0)
			.stdout(log_file.try_clone().expect("the log again"))
			.stderr(log_file)
			.spawn()
			.expect("explorer.sh starts");
		let explorer = Self {
			child,
			base: format!("http://127.0.0.1:{port}"),
		};
		let started = Instant::now();
		while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
			assert!(
				started.elapsed() < Duration::from_secs(300),
				"the explorer did not listen: {}",
				std::fs::read_to_string(&log).unwrap_or_default()
			);
			std::thread::sleep(Duration::from_millis(250));
		}
		explorer
	}
}

/// The browser's scenario against the explorer at `base`, for the node at `ws` (other jobs may
/// run on the node meanwhile).
pub fn browse(base: &str, ws: &str) {
	let out = screenshots();
	let seen = browser(&["up", base, ws, out.to_str().expect("a UTF-8 path")]);
	assert_eq!(
		seen["problems"],
		serde_json::json!([]),
		"script errors on the page: {seen}"
	);
	let id = seen["jobId"].as_u64().expect("a job id");
	assert!(
		["Submitted", "Assigned", "Result"].contains(&seen["firstStatus"].as_str().unwrap()),
		"{seen}"
	);
	assert_eq!(seen["tableStatus"], "Finalized");
	for (filter, has_ours) in [("Finalized", true), ("Refunded", false)] {
		let rows = seen[format!("filter{filter}")]
			.as_array()
			.expect("rows")
			.clone();
		assert!(
			rows.iter().all(|row| row[1] == filter),
			"{filter}: {rows:?}"
		);
		assert_eq!(
			rows.iter().any(|row| row[0] == id),
			has_ours,
			"{filter}: {rows:?}"
		);
	}
	assert_eq!(seen["pageStatus"], "Finalized");
	assert_eq!(seen["prompt"], "Name a primary colour.");
	// What the page shows is what the chain holds.
	let show = |args: &[&str]| -> Value {
		let output = Command::new(verity_binary())
			.args(args)
			.args(["--json", "--url", ws])
			.output()
			.expect("verity runs");
		assert!(
			output.status.success(),
			"{}",
			String::from_utf8_lossy(&output.stderr)
		);
		serde_json::from_slice(&output.stdout).expect("JSON")
	};
	let chain = show(&["job", "show", &id.to_string()]);
	assert_eq!(seen["output"], chain["output"]["text"], "{seen}");
	assert_eq!(seen["outputHash"], chain["output_hash"]);
	assert_eq!(seen["verify"], format!("verity job verify {id} --url {ws}"));
	let events: Vec<&str> = seen["events"]
		.as_array()
		.unwrap()
		.iter()
		.map(|e| e.as_str().unwrap())
		.collect();
	assert_eq!(events.first(), Some(&"JobSubmitted"), "{events:?}");
	assert_eq!(events.last(), Some(&"JobFinalized"), "{events:?}");
	assert!(
		events.contains(&"JobAssigned") && events.contains(&"ResultSubmitted"),
		"{events:?}"
	);
	// Up while the page watched, and what it showed was the chain's count at some block.
	let before = seen["jobsDoneBefore"].as_u64().unwrap();
	let after = seen["jobsDoneAfter"].as_u64().unwrap();
	let worker = seen["worker"].as_str().unwrap();
	let now = show(&["worker", "status", worker])["jobs_done"]
		.as_u64()
		.unwrap();
	assert!(
		before < after && after <= now,
		"jobs done: {before} → {after} (chain now {now})"
	);
	assert!(
		seen["unknownJob"]
			.as_str()
			.unwrap()
			.contains("was not found"),
		"{seen}"
	);
	assert_eq!(seen["models"], 2);
	assert_eq!(seen["charts"], 4);
	assert_eq!(
		seen["bannerHidden"], true,
		"no connection problem while the node ran: {seen}"
	);
	for page in ["jobs", "job", "workers", "registry", "disputes", "network"] {
		assert_screenshot(&out.join(format!("{page}.png")));
	}
}

/// With the node stopped: the page says it cannot reach it (and keeps trying).
pub fn node_gone(explorer: &Explorer) {
	let out = screenshots();
	let down = browser(&["down", &explorer.base, out.to_str().expect("a UTF-8 path")]);
	let banner = down["banner"].as_str().unwrap_or_default();
	assert!(
		banner.contains("cannot reach the node") || banner.contains("lost the connection"),
		"{down}"
	);
	assert_screenshot(&out.join("unreachable.png"));
}
