//! `verity gateway` on the development node, driven by the real `openai` Python package (pinned
//! in `tests/gateway/requirements.txt`) and by `curl`.
//!
//! * `models.list` names the registry's models; a chat completion, a streamed one (its status
//!   chunks as the job advances, then the text) and an embedding (base64, decoded by the client)
//!   come back with job ids whose results `verity job verify` re-runs and finds VERIFIED, with
//!   the text and the vectors equal to the chain's record; `"verity": {"wait": "final"}` waits
//!   for finality and says `final: true`, the others say they are not verified yet;
//! * bad requests get OpenAI error objects with the right HTTP status (sampling settings, token
//!   budgets, unknown models, conversations a job cannot carry, a fee below the floor, a bad key,
//!   bad JSON, a rate limit with `Retry-After`, an exhausted spending cap), and change nothing on
//!   chain: the account's balance and nonce are the same to the planck;
//! * the spending ledger holds exactly what the account paid (job fees and transaction fees)
//!   and survives a restart: a gateway started again refuses a job that would pass the cap;
//! * with the node gone, a request is a 503 and nothing else ([`node_gone`]).

use std::{
	path::{Path, PathBuf},
	process::{Child, Command, Output, Stdio},
	time::{Duration, Instant},
};

use crate::common::{self, chain::balance, free_port, verity_binary};
use serde_json::{json, Value};
use subxt::utils::AccountId32;
use subxt_signer::sr25519::dev;

const KEY: &str = "test-key-0123456789abcdefghij";
const SLOW_KEY: &str = "slow-key-0123456789abcdefghij";
const TINY_KEY: &str = "tiny-key-0123456789abcdefghij";
/// A small chat completion, for the requests that must be refused.
const CHAT_BODY: &str =
	r#"{"model":"smollm2","messages":[{"role":"user","content":"Hi"}],"max_tokens":4}"#;

/// A `verity gateway` process, stopped on drop.
pub struct Gateway {
	child: Child,
	port: u16,
	log: PathBuf,
}

impl Gateway {
	/// With a keys file and a state folder.
	fn start(url: &str, keys: &Path, state: &Path, log: PathBuf) -> Self {
		let keys = keys.to_str().expect("a UTF-8 path");
		let state = state.to_str().expect("a UTF-8 path");
		Self::start_with(url, &["--keys", keys, "--state-dir", state], &[], log)
	}

	/// With `args` and the environment variables `env`.
	fn start_with(url: &str, args: &[&str], env: &[(&str, &str)], log: PathBuf) -> Self {
		let port = free_port();
		let child = Command::new(verity_binary())
			.args([
				"gateway",
				"--url",
				url,
				"--listen",
				&format!("127.0.0.1:{port}"),
			])
			.args(args)
			.envs(env.iter().copied())
			.env_remove("VERITY_SURI")
			.stdout(Stdio::null())
			.stderr(std::fs::File::create(&log).expect("a log file"))
			.spawn()
			.expect("verity gateway starts");
		let gateway = Self { child, port, log };
		let started = Instant::now();
		while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
			assert!(
				started.elapsed() < Duration::from_secs(60),
				"the gateway did not listen: {}",
				gateway.log()
			);
			std::thread::sleep(Duration::from_millis(200));
		}
		gateway
	}

	fn base(&self) -> String {
		format!("http://127.0.0.1:{}/v1", self.port)
	}

	fn log(&self) -> String {
		std::fs::read_to_string(&self.log).unwrap_or_default()
	}

	/// SIGTERM, and the exit status.
	fn stop(&mut self) -> std::process::ExitStatus {
		let _ = Command::new("kill")
			.arg(self.child.id().to_string())
			.status();
		self.child.wait().expect("the gateway exits")
	}
}

impl Drop for Gateway {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

/// `body` POSTed to `path` with `key` is refused with HTTP `status` and OpenAI error `code`;
/// returns the error body.
fn refused(base: &str, path: &str, key: &str, body: &str, status: u16, code: &str) -> Value {
	let (got, _, answer) = curl(base, "POST", path, Some(key), Some(body));
	assert_eq!(
		(got, answer["error"]["code"].as_str()),
		(status, Some(code)),
		"{path}: {answer}"
	);
	answer
}

/// `curl` against the gateway: the HTTP status, the headers and the JSON body.
fn curl(
	base: &str,
	method: &str,
	path: &str,
	key: Option<&str>,
	body: Option<&str>,
) -> (u16, String, Value) {
	let mut command = Command::new("curl");
	command.args(["-sS", "-i", "-X", method, &format!("{base}{path}")]);
	if let Some(key) = key {
		command.args(["-H", &format!("Authorization: Bearer {key}")]);
	}
	if let Some(body) = body {
		command.args([
			"-H",
			"Content-Type: application/json",
			"--data-binary",
			body,
		]);
	}
	let output = command.output().expect("curl runs");
	let text = String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n");
	let (head, body) = text
		.split_once("\n\n")
		.unwrap_or_else(|| panic!("an HTTP response: {text}"));
	let status = head
		.split(' ')
		.nth(1)
		.and_then(|s| s.parse().ok())
		.expect("a status");
	let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
	(status, head.to_ascii_lowercase(), json)
}

fn verity(args: &[&str]) -> Output {
	Command::new(verity_binary())
		.args(args)
		.env_remove("VERITY_SURI")
		.output()
		.expect("verity runs")
}

fn json_of(output: &Output) -> Value {
	assert!(
		output.status.success(),
		"verity failed: {}{}",
		String::from_utf8_lossy(&output.stdout),
		String::from_utf8_lossy(&output.stderr)
	);
	serde_json::from_slice(&output.stdout).expect("JSON")
}

/// The key hash `verity gateway --hash-key` prints for `key`.
fn key_hash(key: &str) -> String {
	use std::io::Write;
	let mut child = Command::new(verity_binary())
		.args(["gateway", "--hash-key"])
		.stdin(Stdio::piped())
		.stdout(Stdio::piped())
		.spawn()
		.expect("verity runs");
	writeln!(child.stdin.take().expect("stdin"), "{key}").expect("the key is written");
	let output = child.wait_with_output().expect("verity exits");
	assert!(output.status.success());
	String::from_utf8(output.stdout)
		.expect("UTF-8")
		.trim()
		.to_string()
}

/// The `openai` package and what it imports, pinned, installed once into the cache.
fn openai_package() -> PathBuf {
	let requirements = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gateway/requirements.txt");
	let text = std::fs::read_to_string(&requirements).expect("the requirements");
	let digest =
		verity_inference::digest::to_hex(&verity_primitives::blake2_256(text.as_bytes()).0[..8]);
	let home = std::env::var_os("HOME").map(PathBuf::from).expect("$HOME");
	let target = home.join(format!(".cache/verity/python/openai-{digest}"));
	if !target.join("openai").is_dir() {
		let partial = target.with_extension("partial");
		let _ = std::fs::remove_dir_all(&partial);
		let status = Command::new("python3")
			.args([
				"-m",
				"pip",
				"install",
				"--quiet",
				"--disable-pip-version-check",
				"--no-deps",
				"--target",
			])
			.arg(&partial)
			.arg("-r")
			.arg(&requirements)
			.status()
			.expect("pip runs");
		assert!(
			status.success(),
			"pip install -r {} failed",
			requirements.display()
		);
		std::fs::rename(&partial, &target).expect("the package is moved into place");
	}
	target
}

/// The job `id` as `verity job show --json` prints it.
fn job(url: &str, id: u64) -> Value {
	json_of(&verity(&[
		"job",
		"show",
		&id.to_string(),
		"--json",
		"--url",
		url,
	]))
}

/// Waits until job `id` is Finalized.
fn finalized(url: &str, id: u64) -> Value {
	let started = Instant::now();
	loop {
		let job = job(url, id);
		if job["status"] == "Finalized" {
			return job;
		}
		assert!(
			started.elapsed() < Duration::from_secs(180),
			"job {id} did not finalize: {job}"
		);
		std::thread::sleep(Duration::from_secs(2));
	}
}

/// JSON numbers as `f32`s (a Python float of an `f32` is exact; so is the cast back).
fn f32s(values: &[Value]) -> Vec<f32> {
	values
		.iter()
		.map(|v| v.as_f64().expect("a number") as f32)
		.collect()
}

/// `free + reserved` and the nonce of `who`.
async fn books(api: &common::chain::Api, who: &AccountId32) -> (u128, u64) {
	let (free, reserved) = balance(api, who).await;
	let nonce = api
		.at_current_block()
		.await
		.expect("a block")
		.transactions()
		.account_nonce(who)
		.await
		.expect("a nonce");
	(free + reserved, nonce)
}

fn keys_file(dir: &Path, app_cap: &str) -> PathBuf {
	let path = dir.join("keys.json");
	let hash = key_hash(KEY);
	assert_eq!(
		hash,
		format!(
			"0x{}",
			verity_inference::digest::to_hex(&verity_primitives::blake2_256(KEY.as_bytes()).0)
		)
	);
	let keys = json!({
		"accounts": [
			{ "name": "app", "suri": "//Dave", "spend_cap": app_cap },
			{ "name": "tiny", "suri": "//Ferdie", "spend_cap": "0.005VRT" },
		],
		"keys": [
			{ "name": "main", "key_hash": hash, "account": "app", "requests_per_minute": 120 },
			{ "name": "slow", "key_hash": key_hash(SLOW_KEY), "account": "app", "requests_per_minute": 1 },
			{ "name": "tiny", "key_hash": key_hash(TINY_KEY), "account": "tiny", "requests_per_minute": 120 },
		],
	});
	std::fs::write(&path, keys.to_string()).expect("the keys file");
	path
}

/// The gateway's scenario against the node at `url` (`api`), with its files in `dir`; returns
/// the gateway still running, for [`node_gone`].
pub async fn scenario(api: &common::chain::Api, url: &str, dir: &Path) -> Gateway {
	let python = openai_package();
	let url = url.to_string();
	let state = dir.join("state");
	let keys = keys_file(dir, "10VRT");
	let mut gateway = Gateway::start(&url, &keys, &state, dir.join("gateway.log"));
	let dave = AccountId32(dev::dave().public_key().0);
	let ferdie = AccountId32(dev::ferdie().public_key().0);
	let dave_before = books(api, &dave).await;

	// curl: a float embedding, in flight with the client's four jobs.
	let base = gateway.base();
	let float_embedding = std::thread::spawn(move || {
		curl(
			&base,
			"POST",
			"/embeddings",
			Some(KEY),
			Some(r#"{"model":"minilm","input":"a cat","encoding_format":"float"}"#),
		)
	});

	// The OpenAI client: the scenario of tests/gateway/client.py.
	let client = Command::new("python3")
		.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gateway/client.py"))
		.env("PYTHONPATH", &python)
		.env("GATEWAY", gateway.base())
		.env("KEY", KEY)
		.env("BAD_KEY", "not-a-key-0123456789abcdef")
		.output()
		.expect("python3 runs");
	assert!(
		client.status.success(),
		"client.py failed: {}\ngateway: {}",
		String::from_utf8_lossy(&client.stderr),
		gateway.log()
	);
	let seen: Value = serde_json::from_slice(&client.stdout).expect("client.py prints JSON");

	let names = seen["models"].as_array().expect("models");
	assert_eq!(names.len(), 2, "{seen}");
	// Each answer is a job whose result on chain is what the client got, and verifies.
	let chat = &seen["chat"];
	let chat_id = chat["verity"]["job_id"].as_u64().expect("a job id");
	assert_eq!(chat["id"], format!("chatcmpl-verity-{chat_id}"));
	assert_eq!(chat["role"], "assistant");
	assert_eq!(chat["verity"]["final"], false, "{chat}");
	// Inside its challenge window (or, if an audit drew it, disputed): not verified yet.
	assert!(
		chat["verity"]["note"]
			.as_str()
			.unwrap()
			.starts_with("NOT VERIFIED"),
		"{chat}"
	);
	let stream = &seen["stream"];
	let stream_id = stream["verity"]["job_id"].as_u64().expect("a job id");
	assert_eq!(
		stream["content"], chat["content"],
		"the same prompt, greedy: the same text"
	);
	// The stage at the first finalized head after submission (the draw may be in it already).
	assert!(
		["Submitted", "Assigned"].contains(&stream["statuses"][0].as_str().unwrap()),
		"{stream}"
	);
	assert!(
		stream["statuses"]
			.as_array()
			.unwrap()
			.contains(&json!("Result")),
		"{stream}"
	);
	assert_eq!(stream["finish_reason"], chat["finish_reason"]);
	let final_answer = &seen["final"];
	assert_eq!(final_answer["verity"]["final"], true, "{final_answer}");
	assert_eq!(final_answer["verity"]["status"], "Finalized");
	let final_id = final_answer["verity"]["job_id"].as_u64().expect("a job id");
	let embeddings = &seen["embeddings"];
	let embed_id = embeddings["verity"]["job_id"].as_u64().expect("a job id");
	assert_eq!(embeddings["dims"], json!([384, 384]));
	assert_eq!(embeddings["indices"], json!([0, 1]));

	for (id, answer) in [
		(chat_id, chat),
		(stream_id, stream),
		(final_id, final_answer),
	] {
		let record = finalized(&url, id);
		assert_eq!(record["output"]["text"], answer["content"], "job {id}");
		assert_eq!(
			record["output_hash"], answer["verity"]["output_hash"],
			"job {id}"
		);
		assert_eq!(record["input"]["prompt"], "Name a primary colour.");
		let budget = record["input"]["max_tokens"].as_u64().unwrap();
		let reason = if record["output"]["tokens"].as_u64().unwrap() >= budget {
			"length"
		} else {
			"stop"
		};
		assert_eq!(answer["finish_reason"], reason, "job {id}");
	}
	let record = finalized(&url, embed_id);
	for (index, head) in embeddings["head"].as_array().unwrap().iter().enumerate() {
		let chain = f32s(&record["output"]["embeddings"][index].as_array().unwrap()[..4]);
		let client = f32s(head.as_array().unwrap());
		assert_eq!(
			chain, client,
			"the base64 vectors decode to the chain's to the bit"
		);
	}
	for id in [chat_id, embed_id] {
		let verified = verity(&["job", "verify", &id.to_string(), "--json", "--url", &url]);
		assert_eq!(json_of(&verified)["verdict"], "VERIFIED", "job {id}");
	}
	let command = chat["verity"]["verify_command"].as_str().unwrap();
	assert_eq!(command, format!("verity job verify {chat_id} --url {url}"));

	// The refusals of client.py: OpenAI error objects, the right status, the field at fault.
	let refusals = &seen["refusals"];
	for (name, status, code, param) in [
		("temperature", 400, "unsupported_value", Some("temperature")),
		("max_tokens", 400, "invalid_value", Some("max_tokens")),
		("unknown_model", 404, "model_not_found", None),
		("wrong_kind", 400, "model_kind_mismatch", Some("model")),
		(
			"two_turns",
			400,
			"unsupported_conversation",
			Some("messages"),
		),
		("long_prompt", 400, "invalid_value", Some("messages")),
		("low_fee", 400, "invalid_value", Some("verity.max_fee")),
		("bad_key", 401, "invalid_api_key", None),
	] {
		let refusal = &refusals[name];
		assert_eq!(
			(
				refusal["status"].as_u64(),
				refusal["code"].as_str(),
				refusal["param"].as_str()
			),
			(Some(status), Some(code), param),
			"{name}: {refusal}"
		);
	}

	// curl: the float embedding, bad JSON, the rate limit, the spending cap.
	let (status, _, body) = float_embedding.join().expect("curl ran");
	assert_eq!(status, 200, "{body}");
	let curl_id = body["verity"]["job_id"].as_u64().unwrap();
	let first = &body["data"][0]["embedding"];
	assert_eq!(first.as_array().unwrap().len(), 384);
	assert_eq!(
		f32s(&first.as_array().unwrap()[..4]),
		f32s(embeddings["head"][0].as_array().unwrap()),
		"a cat, embedded twice, as floats and as base64"
	);
	refused(
		&gateway.base(),
		"/chat/completions",
		KEY,
		"{not json",
		400,
		"invalid_json",
	);
	let (status, _, body) = curl(
		&gateway.base(),
		"POST",
		"/completions",
		Some(KEY),
		Some("{}"),
	);
	assert_eq!(
		(status, body["error"]["type"].as_str()),
		(404, Some("invalid_request_error")),
		"{body}"
	);
	let (status, _, _) = curl(&gateway.base(), "GET", "/models", Some(SLOW_KEY), None);
	assert_eq!(status, 200);
	let (status, head, body) = curl(&gateway.base(), "GET", "/models", Some(SLOW_KEY), None);
	assert_eq!(
		(status, body["error"]["code"].as_str()),
		(429, Some("rate_limit_exceeded")),
		"{body}"
	);
	assert!(head.contains("retry-after: 60"), "{head}");
	let ferdie_before = books(api, &ferdie).await;
	refused(
		&gateway.base(),
		"/chat/completions",
		TINY_KEY,
		CHAT_BODY,
		429,
		"insufficient_quota",
	);
	assert_eq!(
		books(api, &ferdie).await,
		ferdie_before,
		"a capped request charges nothing"
	);

	// The ledger holds what Dave paid to the planck: five job fees and five transaction fees
	// (every job is final, so its fee is paid out; its deposit is held, so free + held keeps it).
	finalized(&url, curl_id);
	let dave_after = books(api, &dave).await;
	assert_eq!(
		dave_after.1,
		dave_before.1 + 5,
		"five jobs, and no transaction for a refusal"
	);
	let ledger: Value = serde_json::from_str(
		&std::fs::read_to_string(state.join("spent.json")).expect("the ledger"),
	)
	.expect("JSON");
	let spent: u128 = ledger[dave.to_string()]
		.as_str()
		.expect("Dave's entry")
		.parse()
		.unwrap();
	assert_eq!(
		dave_before.0 - dave_after.0,
		spent,
		"free + held fell by the ledger's figure"
	);

	// A second gateway on the same ledger is refused: each would spend up to the cap.
	let second = verity(&[
		"gateway",
		"--url",
		&url,
		"--keys",
		keys.to_str().unwrap(),
		"--state-dir",
		state.to_str().unwrap(),
	]);
	let says = String::from_utf8_lossy(&second.stderr);
	assert!(
		!second.status.success() && says.contains("another gateway"),
		"{says}"
	);

	// Restarted with a cap just under one more job: the ledger was kept, so it is refused.
	assert!(
		gateway.stop().success(),
		"SIGTERM stops the gateway cleanly: {}",
		gateway.log()
	);
	let keys = keys_file(dir, &format!("{}planck", spent + 10_000_000_000 - 1));
	let gateway = Gateway::start(&url, &keys, &state, dir.join("gateway2.log"));
	refused(
		&gateway.base(),
		"/chat/completions",
		KEY,
		CHAT_BODY,
		429,
		"insufficient_quota",
	);
	assert_eq!(books(api, &dave).await, dave_after, "nothing charged");

	// One key from $VERITY_GATEWAY_KEY for the --suri signer, with --spend-cap: under one job.
	let no_key = verity(&["gateway", "--url", &url, "--suri", "//Eve"]);
	assert!(
		String::from_utf8_lossy(&no_key.stderr).contains("$VERITY_GATEWAY_KEY"),
		"{no_key:?}"
	);
	let no_cap = Command::new(verity_binary())
		.args(["gateway", "--url", &url, "--suri", "//Eve"])
		.env("VERITY_GATEWAY_KEY", TINY_KEY)
		.output()
		.expect("verity runs");
	let says = String::from_utf8_lossy(&no_cap.stderr);
	assert!(
		!no_cap.status.success() && says.contains("--spend-cap AMOUNT is needed"),
		"{says}"
	);
	let simple_state = dir.join("simple");
	let simple_state = simple_state.to_str().unwrap();
	let simple = Gateway::start_with(
		&url,
		&[
			"--suri",
			"//Eve",
			"--spend-cap",
			"0.005VRT",
			"--state-dir",
			simple_state,
		],
		&[("VERITY_GATEWAY_KEY", TINY_KEY)],
		dir.join("gateway3.log"),
	);
	let (status, _, body) = curl(&simple.base(), "GET", "/models", Some(TINY_KEY), None);
	assert_eq!(
		(status, body["data"].as_array().map(Vec::len)),
		(200, Some(2)),
		"{body}"
	);
	let body = refused(
		&simple.base(),
		"/chat/completions",
		TINY_KEY,
		CHAT_BODY,
		429,
		"insufficient_quota",
	);
	assert!(
		body["error"]["message"]
			.as_str()
			.unwrap()
			.contains("spending cap"),
		"{body}"
	);
	drop(simple);

	gateway
}

/// With the node gone: a 503, not a hang, and no secret in the log.
pub fn node_gone(gateway: &Gateway) {
	refused(
		&gateway.base(),
		"/chat/completions",
		KEY,
		CHAT_BODY,
		503,
		"node_unavailable",
	);
	let log = gateway.log();
	assert!(
		!log.contains(KEY) && !log.contains("//Dave"),
		"a secret in the log: {log}"
	);
}
