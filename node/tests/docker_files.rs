//! `docker/` cannot be run here (no Docker engine on the CI machines), so it is checked against
//! what it names: every `verity-node` flag its Dockerfile, compose file and healthcheck use is one
//! the node accepts (`verity-node --help`, `verity-node key insert --help`); every file the
//! Dockerfile copies exists; the compose file's nodes are the testnet `scripts/local-testnet.sh`
//! starts (same node keys, bootnode, roles, host ports), its volumes are declared, Prometheus
//! scrapes every node, and Grafana's dashboard reads the provisioned data source. (That each
//! metric the dashboard plots is one a worker node exports is checked against a running node in
//! `e2e_jobs`.)

mod common;

use std::{
	collections::{BTreeMap, BTreeSet},
	path::{Path, PathBuf},
	process::Command,
};

use serde_yaml::Value;

fn root() -> PathBuf {
	Path::new(env!("CARGO_MANIFEST_DIR"))
		.parent()
		.expect("the workspace")
		.to_path_buf()
}

fn read(path: &str) -> String {
	std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The long flags a `verity-node` command line accepts, from its `--help`.
fn accepted_flags(subcommand: &[&str]) -> BTreeSet<String> {
	let output = Command::new(common::node_binary())
		.args(subcommand)
		.arg("--help")
		.output()
		.expect("verity-node runs");
	assert!(output.status.success(), "{subcommand:?} --help");
	long_flags(&String::from_utf8_lossy(&output.stdout))
}

/// Every `--flag` in `text` (the part before any `=`).
fn long_flags(text: &str) -> BTreeSet<String> {
	text.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']' || c == '"')
		.filter(|word| word.starts_with("--") && word.len() > 2)
		.map(|word| {
			word.split(['=', '<'])
				.next()
				.unwrap_or(word)
				.trim_end_matches(['.', ')'])
				.to_string()
		})
		.collect()
}

/// The compose file, its `<<: *node` merge keys applied (as Docker Compose does).
/// The `--flags` of `text` that are not in `accepted`.
fn unknown_flags(text: &str, accepted: &BTreeSet<String>) -> Vec<String> {
	long_flags(text)
		.into_iter()
		.filter(|flag| !accepted.contains(flag))
		.collect()
}

fn compose() -> Value {
	let mut compose: Value =
		serde_yaml::from_str(&read("docker/compose.yml")).expect("compose.yml is YAML");
	compose.apply_merge().expect("the merge keys apply");
	compose
}

/// The services of the compose file that run the node image, with their command lines.
fn node_services(compose: &Value) -> BTreeMap<String, Vec<String>> {
	let services = compose["services"].as_mapping().expect("services");
	services
		.iter()
		.filter(|(_, service)| service["image"].as_str() == Some("verity:local"))
		.filter(|(_, service)| service["entrypoint"].is_null())
		.map(|(name, service)| {
			let command = service["command"]
				.as_sequence()
				.expect("a node's command is a list")
				.iter()
				.map(|arg| arg.as_str().expect("a string").to_string())
				.collect();
			(name.as_str().expect("a name").to_string(), command)
		})
		.collect()
}

/// The value after `flag` in `args`.
fn value_of<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
	args.iter()
		.position(|arg| arg == flag)
		.and_then(|i| args.get(i + 1))
		.map(String::as_str)
}

/// The script's dry run: each node's command line, by name (the `--base-path` folder's name).
fn script_dry_run() -> BTreeMap<String, Vec<String>> {
	let base = tempfile::tempdir().expect("a temporary directory");
	let output = Command::new("bash")
		.arg(root().join("scripts/local-testnet.sh"))
		.args(["start", "--dry-run", "--base"])
		.arg(base.path())
		.env("VERITY_NODE", common::node_binary())
		.output()
		.expect("bash runs the script");
	assert!(output.status.success(), "{output:?}");
	String::from_utf8_lossy(&output.stdout)
		.lines()
		.map(|line| {
			line.split_whitespace()
				.skip(1)
				.map(str::to_string)
				.collect::<Vec<_>>()
		})
		.filter(|args| args.first().map(String::as_str) != Some("key"))
		.map(|args| {
			let name = value_of(&args, "--base-path")
				.and_then(|path| Path::new(path).file_name())
				.and_then(|name| name.to_str())
				.expect("a base path")
				.to_string();
			(name, args)
		})
		.collect()
}

#[test]
fn every_flag_of_the_script_the_dockerfile_and_the_compose_file_is_the_nodes() {
	let node_flags = accepted_flags(&[]);
	assert!(node_flags.contains("--worker") && node_flags.contains("--alice"));
	let key_flags = accepted_flags(&["key", "insert"]);

	// The script's command lines.
	let script = script_dry_run();
	assert_eq!(script.len(), 5, "four validators and a worker: {script:?}");
	for (name, args) in &script {
		let unknown = unknown_flags(&args.join(" "), &node_flags);
		assert!(unknown.is_empty(), "the script's {name}: {unknown:?}");
	}

	// The Dockerfile's default command.
	let dockerfile = read("docker/Dockerfile");
	let cmd = dockerfile
		.lines()
		.find(|line| line.starts_with("CMD "))
		.expect("a CMD");
	let unknown = unknown_flags(cmd, &node_flags);
	assert!(unknown.is_empty(), "the Dockerfile's CMD: {unknown:?}");

	// The compose file's nodes, and its key-insertion service.
	let compose = compose();
	let nodes = node_services(&compose);
	assert_eq!(nodes.len(), 5, "four validators and a worker: {nodes:?}");
	for (name, args) in &nodes {
		let unknown = unknown_flags(&args.join(" "), &node_flags);
		assert!(unknown.is_empty(), "compose's {name}: {unknown:?}");
	}
	let keys = compose["services"]["worker-1-keys"]["command"][0]
		.as_str()
		.expect("a shell command");
	let inserts: Vec<&str> = keys.split("&&").collect();
	assert_eq!(inserts.len(), 2, "vwrk and vrcp: {keys}");
	for insert in inserts {
		let insert = insert.trim();
		assert!(insert.starts_with("verity-node key insert "), "{insert}");
		let unknown = unknown_flags(insert, &key_flags);
		assert!(unknown.is_empty(), "key insert: {unknown:?}");
	}
}

#[test]
fn the_compose_testnet_is_the_scripts_testnet() {
	let script = script_dry_run();
	let compose = compose();
	let nodes = node_services(&compose);
	assert_eq!(
		nodes.keys().collect::<Vec<_>>(),
		script.keys().collect::<Vec<_>>(),
		"the same nodes"
	);
	let services = &compose["services"];
	for (name, args) in &nodes {
		let theirs = &script[name];
		for flag in ["--node-key", "--chain"] {
			assert_eq!(
				value_of(args, flag),
				value_of(theirs, flag),
				"{name} {flag}"
			);
		}
		for flag in [
			"--validator",
			"--worker",
			"--alice",
			"--bob",
			"--charlie",
			"--dave",
		] {
			assert_eq!(
				args.iter().any(|arg| arg == flag),
				theirs.iter().any(|arg| arg == flag),
				"{name} {flag}"
			);
		}
		// The same bootnode peer (the address differs: a container name, not loopback).
		let peer = |args: &[String]| {
			value_of(args, "--bootnodes").map(|b| b.rsplit('/').next().map(str::to_string))
		};
		assert_eq!(peer(args), peer(theirs), "{name}: bootnode peer");
		if let Some(bootnode) = value_of(args, "--bootnodes") {
			assert!(
				bootnode.starts_with("/dns/alice/tcp/30333/p2p/"),
				"{bootnode}"
			);
		}
		// Host ports as the script's: RPC and Prometheus of the same node index.
		let script_rpc = value_of(theirs, "--rpc-port").expect("an RPC port");
		let script_prometheus = value_of(theirs, "--prometheus-port").expect("a Prometheus port");
		let ports: Vec<&str> = services[name.as_str()]["ports"]
			.as_sequence()
			.expect("ports")
			.iter()
			.map(|port| port.as_str().expect("a string"))
			.collect();
		assert_eq!(
			ports,
			[
				format!("127.0.0.1:{script_rpc}:9944"),
				format!("127.0.0.1:{script_prometheus}:9615")
			],
			"{name}: loopback only, the script's ports"
		);
		// Every node's data on its own declared volume.
		let volume = format!("{name}-data:/data");
		assert!(
			services[name.as_str()]["volumes"]
				.as_sequence()
				.expect("volumes")
				.iter()
				.any(|v| v.as_str() == Some(volume.as_str())),
			"{name}: {volume}"
		);
		assert!(
			compose["volumes"].get(format!("{name}-data")).is_some(),
			"{name}-data is declared"
		);
	}
	// The worker waits for the models and its keys, and reads the shared models volume.
	let worker = &services["worker-1"];
	for dependency in ["models", "worker-1-keys"] {
		assert_eq!(
			worker["depends_on"][dependency]["condition"].as_str(),
			Some("service_completed_successfully"),
			"{dependency}"
		);
	}
	assert_eq!(
		value_of(&nodes["worker-1"], "--models-dir"),
		Some("/models")
	);
	assert_eq!(
		services["models"]["build"]["target"].as_str(),
		Some("models")
	);

	// Prometheus scrapes every node.
	let prometheus: Value =
		serde_yaml::from_str(&read("docker/prometheus.yml")).expect("prometheus.yml is YAML");
	let targets: BTreeSet<String> = prometheus["scrape_configs"][0]["static_configs"][0]["targets"]
		.as_sequence()
		.expect("targets")
		.iter()
		.map(|t| t.as_str().expect("a string").to_string())
		.collect();
	let expected: BTreeSet<String> = nodes.keys().map(|name| format!("{name}:9615")).collect();
	assert_eq!(targets, expected);
}

#[test]
fn the_dockerfile_copies_what_exists_and_exposes_what_the_node_listens_on() {
	let dockerfile = read("docker/Dockerfile");
	for line in dockerfile.lines().filter(|line| line.starts_with("COPY ")) {
		if line.contains("--from=") {
			continue;
		}
		let words: Vec<&str> = line.split_whitespace().collect();
		for source in &words[1..words.len() - 1] {
			assert!(root().join(source).exists(), "COPY {source}: no such path");
		}
	}
	for script in ["scripts/setup.sh", "scripts/common.sh"] {
		assert!(dockerfile.contains(script), "{script}");
		assert!(root().join(script).is_file(), "{script}");
	}
	assert!(
		dockerfile.contains("\"${VERITY_CARGO_BUILD[@]}\""),
		"the builder runs the same cargo build as scripts/test.sh"
	);
	// The binaries it installs are the workspace's.
	let release = PathBuf::from(common::node_binary());
	for binary in ["verity-node", "verity"] {
		assert!(
			dockerfile.contains(&format!("target/release/{binary}")),
			"{binary}"
		);
		assert!(
			release.with_file_name(binary).is_file(),
			"{binary} is built"
		);
	}
	let expose = dockerfile
		.lines()
		.find(|line| line.starts_with("EXPOSE "))
		.expect("EXPOSE");
	assert_eq!(
		expose, "EXPOSE 30333 9944 9615",
		"p2p, RPC, Prometheus defaults"
	);
	assert!(dockerfile.contains("\"method\":\"system_health\""));
	assert!(dockerfile.contains("USER verity"), "not root");
	assert!(dockerfile.contains("VOLUME [\"/data\", \"/models\"]"));
	assert!(root().join(".dockerignore").is_file());
}

#[test]
fn the_dashboard_reads_the_provisioned_prometheus() {
	let datasource: Value = serde_yaml::from_str(&read(
		"docker/grafana/provisioning/datasources/prometheus.yml",
	))
	.expect("YAML");
	let uid = datasource["datasources"][0]["uid"].as_str().expect("a uid");
	assert_eq!(
		datasource["datasources"][0]["url"].as_str(),
		Some("http://prometheus:9090")
	);
	let dashboard: serde_json::Value =
		serde_json::from_str(&read("docker/grafana/dashboards/verity.json")).expect("JSON");
	let panels = dashboard["panels"].as_array().expect("panels");
	assert!(panels.len() >= 6, "blocks, finality, peers, inference");
	for panel in panels {
		assert_eq!(panel["datasource"]["uid"], uid, "{}", panel["title"]);
		for target in panel["targets"].as_array().expect("targets") {
			assert!(target["expr"].as_str().is_some_and(|e| !e.is_empty()));
		}
	}
	let provider: Value =
		serde_yaml::from_str(&read("docker/grafana/provisioning/dashboards/verity.yml"))
			.expect("YAML");
	assert_eq!(
		provider["providers"][0]["options"]["path"].as_str(),
		Some("/var/lib/grafana/dashboards"),
		"where compose mounts docker/grafana/dashboards"
	);
}
