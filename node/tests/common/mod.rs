//! A `verity-node` process for end-to-end tests: free ports, a temporary base path, a log file,
//! and a clean stop (SIGINT, then wait) that the test can assert on.
// Each test binary compiles this module and uses a different part of it.
#![allow(dead_code)]

use std::{
	fs::File,
	net::TcpListener,
	path::{Path, PathBuf},
	process::{Child, Command, ExitStatus, Stdio},
	time::{Duration, Instant},
};

use subxt::{OnlineClient, PolkadotConfig};

pub mod testnet;

/// Anything with a log to print when a test fails: a [`TestNode`], a node of a
/// [`testnet::Testnet`].
pub trait Logs {
	/// The log so far.
	fn log(&self) -> String;
}

impl Logs for TestNode {
	fn log(&self) -> String {
		TestNode::log(self)
	}
}

/// The path of the node binary cargo built for this test run.
pub fn node_binary() -> &'static str {
	env!("CARGO_BIN_EXE_verity-node")
}

/// The `verity` command line cargo built next to the node (`cargo test --workspace` builds both).
pub fn verity_binary() -> PathBuf {
	let path = PathBuf::from(node_binary()).with_file_name("verity");
	assert!(
		path.is_file(),
		"{} is missing: build the workspace (cargo test --workspace builds it)",
		path.display()
	);
	path
}

/// A port nobody listens on right now (the OS picks it; we release it for the node).
pub fn free_port() -> u16 {
	TcpListener::bind("127.0.0.1:0")
		.and_then(|listener| listener.local_addr())
		.map(|addr| addr.port())
		.expect("the OS hands out a free port")
}

/// A running node, killed on drop if the test did not stop it.
pub struct TestNode {
	child: Option<Child>,
	/// Where the node's output goes; printed when a test fails.
	pub log_path: PathBuf,
	/// The JSON-RPC port.
	pub rpc_port: u16,
	/// The peer-to-peer port.
	pub p2p_port: u16,
	/// The Prometheus port.
	pub prometheus_port: u16,
	_base_path: tempfile::TempDir,
}

impl TestNode {
	/// Starts `verity-node` with `args` on free ports and a fresh temporary base path.
	pub fn start(args: &[&str]) -> Self {
		let base_path = tempfile::tempdir().expect("a temporary directory");
		let log_path = base_path.path().join("node.log");
		let log = File::create(&log_path).expect("a log file");
		let (rpc_port, p2p_port, prometheus_port) = (free_port(), free_port(), free_port());
		let child = Command::new(node_binary())
			.args(args)
			.arg("--base-path")
			.arg(base_path.path())
			.args(["--rpc-port", &rpc_port.to_string()])
			.args(["--port", &p2p_port.to_string()])
			.args(["--prometheus-port", &prometheus_port.to_string()])
			.arg("--no-telemetry")
			.arg("--no-mdns")
			.stdout(Stdio::null())
			.stderr(log)
			.spawn()
			.expect("verity-node starts");
		Self {
			child: Some(child),
			log_path,
			rpc_port,
			p2p_port,
			prometheus_port,
			_base_path: base_path,
		}
	}

	/// The WebSocket URL of the node's RPC server.
	pub fn ws_url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	/// The node's log so far (for failure messages).
	pub fn log(&self) -> String {
		read_log(&self.log_path)
	}

	/// The node's Prometheus metrics, as text.
	pub fn metrics(&self) -> String {
		use std::io::{Read, Write};
		let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.prometheus_port))
			.expect("the Prometheus endpoint answers");
		stream
			.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
			.expect("a request");
		let mut response = String::new();
		stream.read_to_string(&mut response).expect("a response");
		response
	}

	/// Connects a subxt client, retrying until the RPC server answers or `timeout` passes.
	pub async fn connect(&mut self, timeout: Duration) -> OnlineClient<PolkadotConfig> {
		let deadline = Instant::now() + timeout;
		loop {
			if let Some(status) = self
				.child
				.as_mut()
				.and_then(|c| c.try_wait().ok().flatten())
			{
				panic!(
					"verity-node exited early with {status}; log:\n{}",
					self.log()
				);
			}
			match OnlineClient::<PolkadotConfig>::from_insecure_url(self.ws_url()).await {
				Ok(client) => return client,
				Err(error) if Instant::now() < deadline => {
					let _ = error;
					tokio::time::sleep(Duration::from_millis(250)).await;
				}
				Err(error) => panic!(
					"no RPC answer on {} within {timeout:?}: {error}; log:\n{}",
					self.ws_url(),
					self.log()
				),
			}
		}
	}

	/// Stops the node the way an operator does (Ctrl-C) and returns its exit status.
	pub fn stop(&mut self, timeout: Duration) -> ExitStatus {
		let mut child = self.child.take().expect("the node is running");
		let interrupted = Command::new("kill")
			.args(["-INT", &child.id().to_string()])
			.status()
			.map(|s| s.success())
			.unwrap_or(false);
		assert!(interrupted, "could not send SIGINT to verity-node");
		let deadline = Instant::now() + timeout;
		loop {
			if let Some(status) = child.try_wait().expect("waiting on the node") {
				return status;
			}
			if Instant::now() > deadline {
				let _ = child.kill();
				panic!(
					"verity-node did not stop within {timeout:?}; log:\n{}",
					self.log()
				);
			}
			std::thread::sleep(Duration::from_millis(100));
		}
	}
}

impl Drop for TestNode {
	fn drop(&mut self) {
		if let Some(mut child) = self.child.take() {
			let _ = child.kill();
			let _ = child.wait();
		}
	}
}

/// Reads a log file, or says why it could not.
pub fn read_log(path: &Path) -> String {
	std::fs::read_to_string(path).unwrap_or_else(|e| format!("<no log at {}: {e}>", path.display()))
}

/// Helpers for talking to the chain with subxt's dynamic API.
pub mod chain {
	use std::time::Duration;

	use subxt::{
		dynamic::{self, Value},
		events::Events,
		ext::scale_decode::{self, DecodeAsType},
		ext::scale_value::{Composite, ValueDef},
		extrinsics::ExtrinsicEvents,
		transactions::Payload,
		utils::AccountId32,
		OnlineClient, PolkadotConfig,
	};
	use subxt_signer::sr25519::Keypair;
	use verity_primitives::job::JobInput;

	/// A client of the test chain.
	pub type Api = OnlineClient<PolkadotConfig>;

	/// Signs `call` with `signer`, waits until it is finalized and succeeds, and returns the
	/// number of its block and its events.
	pub async fn submit(
		api: &Api,
		node: &dyn super::Logs,
		call: &impl Payload,
		signer: &Keypair,
	) -> (u64, ExtrinsicEvents<PolkadotConfig>) {
		let (hash, events) = tokio::time::timeout(Duration::from_secs(120), async {
			let in_block = api
				.at_current_block()
				.await
				.expect("the current block")
				.transactions()
				.sign_and_submit_then_watch_default(call, signer)
				.await
				.expect("the pool accepts the transaction")
				.wait_for_finalized()
				.await
				.expect("the transaction is finalized");
			let events = in_block
				.wait_for_success()
				.await
				.expect("the transaction succeeds");
			(in_block.block_hash(), events)
		})
		.await
		.unwrap_or_else(|_| {
			panic!(
				"a transaction was not finalized in time; log:\n{}",
				node.log()
			)
		});
		let number = api
			.at_block(hash)
			.await
			.expect("the inclusion block")
			.block_number();
		(number, events)
	}

	/// The part of `System::Account` the tests read.
	#[derive(Debug, DecodeAsType)]
	#[decode_as_type(crate_path = "scale_decode")]
	struct AccountInfo {
		data: AccountData,
	}

	#[derive(Debug, DecodeAsType)]
	#[decode_as_type(crate_path = "scale_decode")]
	struct AccountData {
		free: u128,
		reserved: u128,
	}

	/// The free and held balance of `who` at the finalized head.
	pub async fn balance(api: &Api, who: &AccountId32) -> (u128, u128) {
		let info = api
			.at_current_block()
			.await
			.expect("the current block")
			.storage()
			.fetch(
				dynamic::storage::<(AccountId32,), AccountInfo>("System", "Account"),
				(who.clone(),),
			)
			.await
			.expect("the account")
			.decode()
			.expect("an AccountInfo");
		(info.data.free, info.data.reserved)
	}

	/// `Balances::TotalIssuance` and the sum of every account's free and held balance at the
	/// finalized head: equal unless money was minted or burned outside the books.
	pub async fn issuance_and_accounts(api: &Api) -> (u128, u128) {
		let at = api.at_current_block().await.expect("the current block");
		let issuance: u128 = at
			.storage()
			.fetch(
				dynamic::storage::<(), u128>("Balances", "TotalIssuance"),
				(),
			)
			.await
			.expect("the total issuance")
			.decode()
			.expect("a u128");
		let mut sum = 0u128;
		let mut accounts = at
			.storage()
			.iter(
				dynamic::storage::<(AccountId32,), AccountInfo>("System", "Account"),
				(),
			)
			.await
			.expect("the accounts");
		while let Some(entry) = accounts.next().await {
			let info = entry
				.expect("an account")
				.value()
				.decode()
				.expect("an AccountInfo");
			sum += info.data.free + info.data.reserved;
		}
		(issuance, sum)
	}

	/// The `Balances::Deposit` events of finalized block `number` deposited while the block was
	/// initialized (the settlement hooks; transaction fees come later): who received how much.
	pub async fn deposits_in_block(api: &Api, number: u64) -> Vec<(AccountId32, u128)> {
		#[derive(Debug, DecodeAsType)]
		#[decode_as_type(crate_path = "scale_decode")]
		struct Deposit {
			who: AccountId32,
			amount: u128,
		}
		events_of_block(api, number)
			.await
			.iter()
			.map(|event| event.expect("a decodable event"))
			.filter(|event| {
				event.pallet_name() == "Balances"
					&& event.event_name() == "Deposit"
					&& matches!(event.phase(), subxt::events::Phase::Initialization)
			})
			.map(|event| {
				let d: Deposit = event.decode_fields_unchecked_as().expect("a Deposit");
				(d.who, d.amount)
			})
			.collect()
	}

	/// The events of finalized block `number`, waiting for it to be finalized.
	pub async fn events_of_block(api: &Api, number: u64) -> Events<PolkadotConfig> {
		loop {
			let head = api
				.at_current_block()
				.await
				.expect("the finalized head")
				.block_number();
			if number <= head {
				break;
			}
			tokio::time::sleep(Duration::from_millis(500)).await;
		}
		api.at_block(number)
			.await
			.expect("a finalized block")
			.events()
			.fetch()
			.await
			.expect("the block's events")
	}

	/// The fields of the first `pallet::name` event among a transaction's events.
	pub fn find_event<E: scale_decode::DecodeAsFields>(
		events: &ExtrinsicEvents<PolkadotConfig>,
		pallet: &str,
		name: &str,
	) -> E {
		events
			.iter()
			.map(|event| event.expect("a decodable event"))
			.find(|event| event.pallet_name() == pallet && event.event_name() == name)
			.unwrap_or_else(|| panic!("no {pallet}::{name} event"))
			.decode_fields_unchecked_as::<E>()
			.unwrap_or_else(|error| panic!("{pallet}::{name} fields: {error}"))
	}

	/// A job input as the dynamic value the `Jobs::submit_job` call takes.
	pub fn input_value(input: &JobInput) -> Value {
		match input {
			JobInput::Generate { prompt, max_tokens } => Value::named_variant(
				"Generate",
				[
					("prompt", Value::from_bytes(prompt.to_vec())),
					("max_tokens", Value::u128(u128::from(*max_tokens))),
				],
			),
			JobInput::Embed { texts } => Value::named_variant(
				"Embed",
				[(
					"texts",
					Value::unnamed_composite(
						texts.iter().map(|text| Value::from_bytes(text.to_vec())),
					),
				)],
			),
		}
	}

	/// The variant name of an enum value (an event's `reason`, `fault`, `outcome` …).
	pub fn variant_name<T: std::fmt::Debug>(value: &Value<T>) -> &str {
		match &value.value {
			ValueDef::Variant(variant) => &variant.name,
			other => panic!("not an enum value: {other:?}"),
		}
	}

	/// Replaces field `name` of a struct value.
	pub fn set_field(value: &mut Value, name: &str, new: Value) {
		let ValueDef::Composite(Composite::Named(fields)) = &mut value.value else {
			panic!("not a struct value: {value:?}");
		};
		let field = fields
			.iter_mut()
			.find(|(field, _)| field == name)
			.unwrap_or_else(|| panic!("no field {name}"));
		field.1 = new;
	}
}

/// Council motions over the RPC, as the council's members send them from their wallets.
pub mod council {
	use codec::Encode;
	use frame_support::dispatch::GetDispatchInfo;
	use subxt::{
		dynamic::{self, Value},
		ext::scale_decode::{self, DecodeAsType},
	};
	use subxt_signer::sr25519::{dev, Keypair};
	use verity_runtime::RuntimeCall;

	use super::{
		chain::{find_event, submit, variant_name, Api},
		Logs,
	};

	/// `Council::Proposed`: the motion's index and hash.
	#[derive(Debug, DecodeAsType)]
	#[decode_as_type(crate_path = "scale_decode")]
	pub struct Proposed {
		pub proposal_index: u32,
		pub proposal_hash: [u8; 32],
	}

	/// `Council::Executed`: what the motion's call returned.
	#[derive(Debug, DecodeAsType)]
	#[decode_as_type(crate_path = "scale_decode")]
	pub struct Executed {
		pub result: Value,
	}

	/// A weight as the dynamic value calls take.
	pub fn weight_value(weight: frame_support::weights::Weight) -> Value {
		Value::named_composite([
			("ref_time", Value::u128(u128::from(weight.ref_time()))),
			("proof_size", Value::u128(u128::from(weight.proof_size()))),
		])
	}

	/// Proposes `call` to the council with a threshold of two, and Alice and Bob vote for it (the
	/// proposer's proposal is not its vote). Returns the motion's hash and index; it is closed
	/// separately. `native` is the same call, for its length and weight.
	pub async fn propose_and_vote(
		api: &Api,
		node: &dyn Logs,
		call: Value,
		native: &RuntimeCall,
	) -> ([u8; 32], u32) {
		let (alice, bob) = (dev::alice(), dev::bob());
		let propose = dynamic::transaction(
			"Council",
			"propose",
			(
				Value::u128(2),
				call,
				Value::u128(native.encoded_size() as u128),
			),
		);
		let (_, events) = submit(api, node, &propose, &alice).await;
		let proposed: Proposed = find_event(&events, "Council", "Proposed");
		let vote = dynamic::transaction(
			"Council",
			"vote",
			(
				Value::from_bytes(proposed.proposal_hash),
				Value::u128(u128::from(proposed.proposal_index)),
				Value::bool(true),
			),
		);
		// Both members vote in the same block.
		tokio::join!(
			submit(api, node, &vote, &alice),
			submit(api, node, &vote, &bob)
		);
		(proposed.proposal_hash, proposed.proposal_index)
	}

	/// Closes an approved motion; asserts the council dispatched it and it succeeded. Returns the
	/// block it ran in and the events of the close.
	pub async fn close(
		api: &Api,
		node: &dyn Logs,
		(hash, index): ([u8; 32], u32),
		native: &RuntimeCall,
		closer: &Keypair,
	) -> (u64, Vec<(String, String)>) {
		let close = dynamic::transaction(
			"Council",
			"close",
			(
				Value::from_bytes(hash),
				Value::u128(u128::from(index)),
				weight_value(native.get_dispatch_info().call_weight),
				Value::u128(native.encoded_size() as u128),
			),
		);
		let (block, events) = submit(api, node, &close, closer).await;
		let names: Vec<(String, String)> = events
			.iter()
			.map(|event| event.expect("a decodable event"))
			.map(|event| {
				(
					event.pallet_name().to_string(),
					event.event_name().to_string(),
				)
			})
			.collect();
		let executed: Executed = find_event(&events, "Council", "Executed");
		assert_eq!(
			variant_name(&executed.result),
			"Ok",
			"the motion's call succeeded: {:?}",
			executed.result
		);
		(block, names)
	}
}
