//! The local testnet of `scripts/local-testnet.sh`, for the network tests: the script itself
//! starts, reports on and stops the nodes, so an operator's one command is what the tests run.

use std::{
	net::TcpListener,
	path::PathBuf,
	process::{Command, Output},
};

use super::{node_binary, read_log, Logs};

/// A testnet the script started under a temporary base folder, stopped (by the script) on drop.
pub struct Testnet {
	base: tempfile::TempDir,
	/// Added to every port of the script's layout (so the test's ports are free).
	pub offset: u16,
	validators: usize,
	workers: usize,
}

/// One node of a [`Testnet`].
pub struct TestnetNode {
	/// Its name in the script (`alice` … `dave`, `worker-1` …).
	pub name: String,
	/// Its JSON-RPC port.
	pub rpc_port: u16,
	/// Its peer-to-peer port.
	pub p2p_port: u16,
	log_path: PathBuf,
}

impl TestnetNode {
	/// The WebSocket URL of the node's RPC server.
	pub fn ws_url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}
}

impl Logs for TestnetNode {
	fn log(&self) -> String {
		read_log(&self.log_path)
	}
}

/// The script, from the workspace root.
fn script() -> PathBuf {
	PathBuf::from(env!("CARGO_MANIFEST_DIR"))
		.join("..")
		.join("scripts")
		.join("local-testnet.sh")
}

/// Whether every port of the script's layout, shifted by `offset`, can be bound now.
fn ports_free(offset: u16, nodes: u16) -> bool {
	(0..nodes).all(|i| {
		[30333u16, 9944, 9615]
			.iter()
			.all(|base| TcpListener::bind(("127.0.0.1", base + offset + i)).is_ok())
	})
}

impl Testnet {
	/// Starts `validators` validators and `workers` worker nodes with the script, on ports
	/// shifted by an offset at which they are all free; panics with the script's output if the
	/// start fails.
	pub fn start(validators: usize, workers: usize) -> Self {
		let base = tempfile::tempdir().expect("a temporary directory");
		let nodes = (4 + workers) as u16;
		let offset = (0..200)
			.map(|n| 1000 + ((std::process::id() as u16 % 97) + n) * 17 % 18000)
			.find(|offset| ports_free(*offset, nodes))
			.expect("a free range of ports");
		let testnet = Self {
			base,
			offset,
			validators,
			workers,
		};
		let output = testnet.run(&["start"]);
		assert!(
			output.status.success(),
			"local-testnet.sh start failed:\n{}{}",
			String::from_utf8_lossy(&output.stdout),
			String::from_utf8_lossy(&output.stderr)
		);
		testnet
	}

	/// Runs the script with `args` and this testnet's options.
	pub fn run(&self, args: &[&str]) -> Output {
		Command::new("bash")
			.arg(script())
			.args(args)
			.args(["--validators", &self.validators.to_string()])
			.args(["--workers", &self.workers.to_string()])
			.arg("--base")
			.arg(self.base.path())
			.args(["--port-offset", &self.offset.to_string()])
			.env("VERITY_NODE", node_binary())
			.output()
			.expect("bash runs the script")
	}

	/// Node `index` of the script's layout: validators 0 … 3, workers from 4.
	pub fn node(&self, index: usize) -> TestnetNode {
		let name = match index {
			0..=3 => ["alice", "bob", "charlie", "dave"][index].to_string(),
			_ => format!("worker-{}", index - 3),
		};
		let i = index as u16;
		TestnetNode {
			log_path: self.base.path().join(format!("{name}.log")),
			name,
			rpc_port: 9944 + self.offset + i,
			p2p_port: 30333 + self.offset + i,
		}
	}

	/// The bootnode address of Alice's node (her fixed node key).
	pub fn bootnode(&self) -> String {
		format!(
			"/ip4/127.0.0.1/tcp/{}/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp",
			self.node(0).p2p_port
		)
	}

	/// The validators, then the workers.
	pub fn nodes(&self) -> Vec<TestnetNode> {
		(0..self.validators)
			.chain(4..4 + self.workers)
			.map(|i| self.node(i))
			.collect()
	}

	/// The script's `status` table, as rows of its columns (the header left out).
	pub fn status(&self) -> Vec<Vec<String>> {
		let output = self.run(&["status"]);
		assert!(output.status.success(), "status: {output:?}");
		String::from_utf8_lossy(&output.stdout)
			.lines()
			.skip(1)
			.filter(|line| !line.starts_with("[local-testnet]"))
			.map(|line| line.split_whitespace().map(str::to_string).collect())
			.collect()
	}
}

impl Drop for Testnet {
	fn drop(&mut self) {
		let _ = self.run(&["stop"]);
	}
}
