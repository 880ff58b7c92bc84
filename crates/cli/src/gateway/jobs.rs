//! A request's job: the checks before anything is signed, the submission from the key's
//! account, the wait for its result or finality, and the OpenAI-shaped answer with its `verity`
//! field.

use std::{
	sync::Arc,
	time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use codec::Encode;
use hyper::Response;
use serde_json::{json, Value};
use tokio::sync::{mpsc, Mutex};
use verity_primitives::{
	job::{JobInput, JobKind, JobOutput},
	Balance, BlockNumber, ModelId,
};

use super::{
	access::{Access, CapReached, Key},
	http::{error_response, event_stream, json_response, Body},
	openai::{base64_f32, ApiError, JobRequest, Wait},
};
use crate::{
	amount,
	chain::{self, ChainArgs},
	error::CliError,
	hex::hash as hex,
	job::{self, JobResult},
	models,
};

/// The gateway: its node connection (made again after a failure), who may use it, and each
/// account's next nonce.
pub struct Gateway {
	chain: ChainArgs,
	public_url: String,
	api: Mutex<Option<Arc<chain::Api>>>,
	/// The keys and accounts.
	pub access: Access,
	/// Per account: the nonce after its last transaction sent, held while one is sent.
	next_nonces: Vec<Mutex<u64>>,
	timeout: Duration,
}

/// A job checked and ready to be signed.
struct Prepared {
	api: Arc<chain::Api>,
	model_id: ModelId,
	model_name: String,
	fee: Balance,
	/// The transaction fee the runtime quotes for the call.
	tx_fee: Balance,
	call: Vec<u8>,
}

/// `TransactionPayment::TransactionFeePaid`, the part the gateway reads.
#[derive(subxt::ext::scale_decode::DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct TransactionFeePaid {
	actual_fee: Balance,
}

/// How a job ended for the request.
struct Answer {
	job_id: u64,
	job: job::Job,
	result: JobResult,
	/// The worker's registered receipt key (`None` if its record is gone).
	receipt_key: Option<[u8; 32]>,
}

/// The fields of `Jobs::submit_job`, SCALE-encoded with the pallet's own types.
pub(crate) fn submit_job_fields(model: ModelId, input: &JobInput, fee: Balance) -> Vec<u8> {
	let mut bytes = model.encode();
	input.encode_to(&mut bytes);
	codec::Compact(fee).encode_to(&mut bytes);
	bytes
}

/// A chain error as the gateway's answer: the node is unreachable or said something unexpected.
/// The details go to the gateway's log, not to the client: they can name the node's URL.
fn unavailable(error: CliError) -> ApiError {
	eprintln!("node: {error}");
	ApiError::new(
		503,
		"server_error",
		"node_unavailable",
		"the Verity node is not available; try again later",
	)
}

impl Gateway {
	/// A gateway for `access`, on the node of `chain`, waiting at most `timeout` per job.
	/// `public_url` is the node clients are told to verify against.
	pub fn new(chain: ChainArgs, public_url: String, access: Access, timeout: Duration) -> Self {
		let next_nonces = access.accounts.iter().map(|_| Mutex::new(0)).collect();
		Self {
			chain,
			public_url,
			api: Mutex::new(None),
			access,
			next_nonces,
			timeout,
		}
	}

	/// The node connection; connects (again) when there is none.
	pub async fn api(&self) -> Result<Arc<chain::Api>, ApiError> {
		let mut api = self.api.lock().await;
		if let Some(api) = api.as_ref() {
			return Ok(api.clone());
		}
		let connected = tokio::time::timeout(Duration::from_secs(10), self.chain.connect())
			.await
			.map_err(|_| {
				unavailable(CliError::Chain(format!(
					"{} did not answer in 10 s",
					self.chain.url
				)))
			})?
			.map_err(unavailable)?;
		Ok(api.insert(Arc::new(connected)).clone())
	}

	/// Forgets the connection after a chain error, so the next request connects again.
	async fn drop_api(&self) {
		*self.api.lock().await = None;
	}

	/// `GET /v1/models`: the approved models of the registry.
	pub async fn models(&self) -> Result<Value, ApiError> {
		let api = self.api().await?;
		let entries = match models::entries(&api).await {
			Ok(entries) => entries,
			Err(error) => {
				self.drop_api().await;
				return Err(unavailable(error));
			}
		};
		let data: Vec<Value> = entries
			.iter()
			.filter(|(_, entry)| entry.status == pallet_models::ModelStatus::Approved)
			.map(|(id, entry)| {
				json!({
					"id": String::from_utf8_lossy(&entry.info.name),
					"object": "model",
					"created": 0,
					"owned_by": "verity-registry",
					"verity": models::entry_json(*id, entry),
				})
			})
			.collect();
		Ok(json!({ "object": "list", "data": data }))
	}

	/// Serves a chat completion or an embedding request; returns the response and the job id.
	pub async fn serve_job(
		self: &Arc<Self>,
		key: &Key,
		request: JobRequest,
	) -> (Response<Body>, Option<u64>) {
		let prepared = match self.prepare(key.account, &request).await {
			Ok(prepared) => prepared,
			Err(error) => return (error_response(&error), None),
		};
		if request.stream {
			let (events, receiver) = mpsc::channel(16);
			let gateway = self.clone();
			let account = key.account;
			tokio::spawn(async move { gateway.stream(account, request, prepared, events).await });
			return (event_stream(receiver), None);
		}
		// In a task of its own: a client that hangs up does not cancel a job half sent (its
		// ledger entry would stay a quote).
		let gateway = self.clone();
		let account = key.account;
		let job = tokio::spawn(async move {
			let reservation = prepared.fee.saturating_add(prepared.tx_fee);
			let job_id = match gateway.send(account, &prepared, reservation).await {
				Ok(job_id) => job_id,
				Err(error) => return (paid_error_response(&error), None),
			};
			let response = match gateway
				.follow(job_id, request.verity.wait, None, &prepared.model_name)
				.await
			{
				Ok(answer) => json_response(200, &gateway.answer(&request, &prepared, &answer)),
				Err(error) => paid_error_response(&error),
			};
			(response, Some(job_id))
		});
		job.await.unwrap_or_else(|_| {
			let error = ApiError::new(500, "server_error", "internal", "the job's task failed");
			(paid_error_response(&error), None)
		})
	}

	/// Everything checked before signing: the model (approved, of the request's kind), the fee
	/// (at least the floors, at most the market's ceiling), the account's balance for the fee,
	/// the job's deposit and the transaction fee, and its spending cap.
	async fn prepare(&self, account: usize, request: &JobRequest) -> Result<Prepared, ApiError> {
		let api = self.api().await?;
		let prepared =
			tokio::time::timeout(Duration::from_secs(30), self.checks(api, account, request))
				.await
				.unwrap_or_else(|_| {
					Err(unavailable(CliError::Chain(
						"the node did not answer in 30 s".into(),
					)))
				});
		if let Err(error) = &prepared {
			if error.code == "node_unavailable" {
				self.drop_api().await;
			}
		}
		prepared
	}

	async fn checks(
		&self,
		api: Arc<chain::Api>,
		account: usize,
		request: &JobRequest,
	) -> Result<Prepared, ApiError> {
		let (model_id, entry) = models::resolve(&api, &request.model)
			.await
			.map_err(|error| match error {
				CliError::Usage(message) => ApiError::new(
					404,
					"invalid_request_error",
					"model_not_found",
					format!("{message} (GET /v1/models lists them)"),
				),
				other => unavailable(other),
			})?;
		let model_name = String::from_utf8_lossy(&entry.info.name).into_owned();
		if entry.status != pallet_models::ModelStatus::Approved {
			return Err(ApiError::new(
				404,
				"invalid_request_error",
				"model_not_found",
				format!(
					"model {model_name} is {:?}, not approved: it takes no jobs",
					entry.status
				),
			));
		}
		if entry.info.kind != request.input.kind() {
			let endpoint = match entry.info.kind {
				JobKind::Generate => "/v1/chat/completions",
				JobKind::Embed => "/v1/embeddings",
			};
			return Err(ApiError::invalid(
				"model",
				"model_kind_mismatch",
				format!(
					"model {model_name} serves {:?} jobs: use {endpoint}",
					entry.info.kind
				),
			));
		}
		let params: pallet_jobs::JobParams<Balance, BlockNumber> =
			chain::read(&api, "Jobs", "Params", ())
				.await
				.map_err(unavailable)?
				.ok_or_else(|| {
					unavailable(CliError::Chain("the chain has no job parameters".into()))
				})?;
		let floor = entry.info.min_fee.max(params.min_job_fee);
		let fee = match &request.verity.max_fee {
			None => floor,
			Some(text) => amount::parse(text)
				.map_err(|e| ApiError::invalid("verity.max_fee", "invalid_value", e.to_string()))?,
		};
		if fee < floor || fee > params.max_job_fee {
			return Err(ApiError::invalid(
				"verity.max_fee",
				"invalid_value",
				format!("the fee must be from {} (the model's and the market's floor) to {} (the market's ceiling), not {}", amount::format(floor), amount::format(params.max_job_fee), amount::format(fee)),
			));
		}
		let fields = submit_job_fields(model_id, &request.input, fee);
		let call = chain::call_bytes(&api, "Jobs", "submit_job", &fields)
			.await
			.map_err(unavailable)?;
		// A signed transaction is the call and about a hundred bytes of signature and extensions.
		let tx_fee = chain::call_info(&api, &call, call.len() + 200)
			.await
			.map_err(unavailable)?
			.partial_fee;
		let deposit = chain::constant::<Balance>(&api, "Jobs", "JobDepositPerByte")
			.await
			.map_err(unavailable)?
			.saturating_mul(Balance::from(
				(request.input.encoded_size() as u32)
					.saturating_add(request.input.max_output_len()),
			))
			.saturating_add(
				chain::constant::<Balance>(&api, "Jobs", "JobDepositBase")
					.await
					.map_err(unavailable)?,
			);
		let existential = chain::constant::<Balance>(&api, "Balances", "ExistentialDeposit")
			.await
			.map_err(unavailable)?;
		let who = &self.access.accounts[account];
		let info: Option<chain::AccountInfo> = chain::read(
			&api,
			"System",
			"Account",
			(subxt::utils::AccountId32(who.id.clone().into()),),
		)
		.await
		.map_err(unavailable)?;
		let free = info.map(|info| info.free).unwrap_or(0);
		let needed = fee
			.saturating_add(deposit)
			.saturating_add(tx_fee)
			.saturating_add(existential);
		if free < needed {
			return Err(ApiError::new(
				429,
				"insufficient_quota",
				"insufficient_balance",
				format!("the gateway's account {} holds {}, the job needs {} (fee {}, deposit {}, transaction fee about {}, and the existential deposit): ask the operator to fund it", who.name, amount::format(free), amount::format(needed), amount::format(fee), amount::format(deposit), amount::format(tx_fee)),
			));
		}
		let spent = self.access.spent(account);
		if spent.saturating_add(fee).saturating_add(tx_fee) > who.spend_cap {
			return Err(cap_reached(
				&who.name,
				CapReached {
					spent,
					cap: who.spend_cap,
				},
				fee.saturating_add(tx_fee),
			));
		}
		Ok(Prepared {
			api,
			model_id,
			model_name,
			fee,
			tx_fee,
			call: fields,
		})
	}

	/// Reserves the job's cost in the account's cap (on disk), signs and sends the job, and
	/// settles the reservation with what was charged. Returns the job id.
	async fn send(
		&self,
		account: usize,
		prepared: &Prepared,
		reservation: Balance,
	) -> Result<u64, ApiError> {
		let who = &self.access.accounts[account];
		self.access
			.reserve(account, reservation)
			.map_err(|reached| cap_reached(&who.name, reached, reservation))?;
		let call = chain::encoded_call(
			"Jobs",
			"submit_job",
			chain::EncodedFields::new(3, prepared.call.clone()),
		);
		let submitted = tokio::time::timeout(
			self.timeout,
			chain::submit_serialized(
				&prepared.api,
				&call,
				&who.signer,
				&self.next_nonces[account],
			),
		)
		.await
		.unwrap_or_else(|_| {
			Err(CliError::Chain(format!(
				"not finalized within {} s",
				self.timeout.as_secs()
			)))
		});
		let events = match submitted {
			Ok(events) => events,
			Err(error) => {
				// In a block but refused: the transaction fee was charged, the job's fee was
				// not. Any other failure may hide a job that landed (a connection lost after the
				// pool took it): the whole reservation stays counted, the safe side.
				let (charged, answer) = match error {
					CliError::NotSent(message) => {
						self.drop_api().await;
						(reservation, ApiError::new(502, "server_error", "not_sent", format!("{message} (counted against the cap: the gateway cannot tell whether it reached the pool)")))
					}
					CliError::Refused { error, docs } => (
						prepared.tx_fee,
						ApiError::new(
							502,
							"server_error",
							"refused_by_chain",
							format!("the chain refused the job: {error} ({docs})"),
						),
					),
					other => {
						self.drop_api().await;
						(
							reservation,
							ApiError::new(
								502,
								"server_error",
								"transaction_failed",
								format!("the job's transaction did not complete: {other}"),
							),
						)
					}
				};
				self.access
					.release(account, reservation.saturating_sub(charged));
				return Err(answer);
			}
		};
		// The ledger takes the fee charged in place of the quote (without the event, the quote
		// stays: the figure on disk is then an estimate).
		let charged =
			chain::event::<TransactionFeePaid>(&events, "TransactionPayment", "TransactionFeePaid")
				.map(|paid| paid.actual_fee);
		match charged {
			Some(actual) if actual < prepared.tx_fee => {
				self.access.release(account, prepared.tx_fee - actual)
			}
			Some(actual) => self.access.charge(account, actual - prepared.tx_fee),
			None => {}
		}
		let job_id = chain::event::<job::JobSubmitted>(&events, "Jobs", "JobSubmitted")
			.map(|submitted| submitted.job_id)
			.ok_or_else(|| {
				unavailable(CliError::Chain(
					"the job was included but no JobSubmitted event was found".into(),
				))
			})?;
		eprintln!(
			"job {job_id} from account {}: fee {}, transaction fee {} (quoted {})",
			who.name,
			amount::format(prepared.fee),
			charged.map_or("unknown".to_string(), amount::format),
			amount::format(prepared.tx_fee)
		);
		Ok(job_id)
	}

	/// Follows job `job_id` at the finalized head until `wait` is met, reporting each new stage
	/// to `progress`. A read that fails (the node restarting, the connection lost) is tried
	/// again on a new connection until the timeout: the job is paid for, so the answer is worth
	/// waiting for. A refund or the timeout is an error naming the job.
	async fn follow(
		&self,
		job_id: u64,
		wait: Wait,
		progress: Option<&mpsc::Sender<String>>,
		model_name: &str,
	) -> Result<Answer, ApiError> {
		let started = Instant::now();
		let mut last = String::new();
		loop {
			let seen = match self.api().await {
				Ok(api) => look(&api, job_id, wait).await,
				Err(error) => Err(Step::Transient(error.message)),
			};
			let trouble = match seen {
				Ok((stage, answer)) => {
					if stage != last {
						if let Some(progress) = progress {
							let _ = progress.send(status_event(job_id, stage, model_name)).await;
						}
						last = stage.to_string();
					}
					if let Some(answer) = answer {
						return Ok(answer);
					}
					false
				}
				Err(Step::Fatal(error)) => return Err(error),
				Err(Step::Transient(why)) => {
					eprintln!("job {job_id}: reading it failed ({why}); trying again");
					self.drop_api().await;
					true
				}
			};
			if started.elapsed() > self.timeout {
				let now = if last.is_empty() {
					"unseen".to_string()
				} else {
					last
				};
				return Err(ApiError::new(
					504,
					"server_error",
					"job_timeout",
					format!(
						"job {job_id} is still {now} after {} s{}; it stays on chain: follow it with `verity job show {job_id}`",
						self.timeout.as_secs(),
						if trouble { " (the node did not answer)" } else { "" }
					),
				));
			}
			tokio::time::sleep(Duration::from_secs(if trouble { 2 } else { 1 })).await;
		}
	}

	/// The response body: OpenAI's shape for the request's endpoint, and the `verity` field.
	fn answer(&self, request: &JobRequest, prepared: &Prepared, answer: &Answer) -> Value {
		let verity = self.verity_field(prepared, answer);
		match &answer.result.output {
			JobOutput::Generated { token_ids, text } => json!({
				"id": format!("chatcmpl-verity-{}", answer.job_id),
				"object": "chat.completion",
				"created": now(),
				"model": prepared.model_name,
				"choices": [{
					"index": 0,
					"message": { "role": "assistant", "content": String::from_utf8_lossy(text), "refusal": null },
					"logprobs": null,
					"finish_reason": finish_reason(&request.input, token_ids.len()),
				}],
				"verity": verity,
			}),
			JobOutput::Embedded { embeddings } => {
				let data: Vec<Value> = embeddings
					.iter()
					.enumerate()
					.map(|(index, embedding)| {
						let values: Vec<f32> = embedding.values().collect();
						let encoded = if request.base64 {
							json!(base64_f32(&values))
						} else {
							json!(values)
						};
						json!({ "object": "embedding", "index": index, "embedding": encoded })
					})
					.collect();
				json!({ "object": "list", "data": data, "model": prepared.model_name, "verity": verity })
			}
		}
	}

	/// What it takes to verify the answer, and whether it is verified yet.
	fn verity_field(&self, prepared: &Prepared, answer: &Answer) -> Value {
		use pallet_jobs::JobStatus::*;
		let id = answer.job_id;
		let (is_final, note) = match &answer.job.status {
			Finalized { .. } => (true, "final: its challenge window passed and nobody disproved it; `verify_command` re-runs it on your machine".to_string()),
			Committed { settle_at, .. } => (false, format!("NOT VERIFIED YET: the result is inside its challenge window until block {settle_at}, and anyone who re-runs it and finds it wrong can dispute it until then; `verify_command` re-runs it on your machine now")),
			_ => (false, "NOT VERIFIED: the result is disputed; a jury that re-executes the job decides".to_string()),
		};
		let worker = job::answering_worker(&answer.job.status).map(ToString::to_string);
		json!({
			"job_id": id,
			"model_id": prepared.model_id,
			"status": job::stage(&answer.job.status),
			"final": is_final,
			"note": note,
			"submitted_block": answer.job.submitted_at,
			"result_block": answer.result.submitted_at,
			"settles_at": match &answer.job.status { Committed { settle_at, .. } => Some(*settle_at), _ => None },
			"fee": amount::format(prepared.fee),
			"input_hash": hex(&answer.job.input_hash),
			"output_hash": hex(&answer.result.output_hash),
			"receipt": {
				"worker": worker,
				"key": answer.receipt_key.map(|key| format!("0x{}", verity_inference::digest::to_hex(&key))),
				"signature": format!("0x{}", verity_inference::digest::to_hex(&answer.result.receipt_signature.0)),
			},
			"verify_command": format!("verity job verify {id} --url {}", self.public_url),
		})
	}

	/// A streamed chat completion: the job submitted and followed inside the stream, a chunk per
	/// stage, then the text and the finish, then `[DONE]`; an error after the stream began is an
	/// error event.
	async fn stream(
		self: Arc<Self>,
		account: usize,
		request: JobRequest,
		prepared: Prepared,
		events: mpsc::Sender<String>,
	) {
		let _ = events.send(": submitting the job\n\n".into()).await;
		let reservation = prepared.fee.saturating_add(prepared.tx_fee);
		let outcome = match self.send(account, &prepared, reservation).await {
			Ok(job_id) => {
				eprintln!("stream: job {job_id} submitted");
				self.follow(
					job_id,
					request.verity.wait,
					Some(&events),
					&prepared.model_name,
				)
				.await
			}
			Err(error) => Err(error),
		};
		match outcome {
			Ok(answer) => {
				let whole = self.answer(&request, &prepared, &answer);
				let text = whole["choices"][0]["message"]["content"].clone();
				let finish = whole["choices"][0]["finish_reason"].clone();
				let chunk = |delta: Value, finish: Value, verity: Option<&Value>| {
					let mut chunk = json!({
						"id": whole["id"], "object": "chat.completion.chunk", "created": whole["created"], "model": whole["model"],
						"choices": [{ "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish }],
					});
					if let Some(verity) = verity {
						chunk["verity"] = verity.clone();
					}
					format!("data: {chunk}\n\n")
				};
				let _ = events
					.send(chunk(
						json!({"role": "assistant", "content": text}),
						Value::Null,
						None,
					))
					.await;
				let _ = events
					.send(chunk(json!({}), finish, Some(&whole["verity"])))
					.await;
			}
			Err(error) => {
				let _ = events.send(format!("data: {}\n\n", error.body())).await;
			}
		}
		let _ = events.send("data: [DONE]\n\n".into()).await;
	}
}

/// Why a look at a job did not give its stage.
enum Step {
	/// The answer to the request (a refund).
	Fatal(ApiError),
	/// The node did not answer: try again.
	Transient(String),
}

/// The stage of job `job_id` at the finalized head and, once `wait` is met, the answer: the job,
/// its result and its worker's receipt key, all read at that one block.
async fn look(
	api: &chain::Api,
	job_id: u64,
	wait: Wait,
) -> Result<(&'static str, Option<Answer>), Step> {
	use pallet_jobs::JobStatus::*;
	let transient = |error: CliError| Step::Transient(error.to_string());
	let at = api
		.at_current_block()
		.await
		.map_err(|e| Step::Transient(e.to_string()))?
		.block_number();
	let job: job::Job = chain::read_at(api, Some(at), "Jobs", "Jobs", (job_id,))
		.await
		.map_err(transient)?
		.ok_or_else(|| {
			Step::Fatal(ApiError::new(
				502,
				"server_error",
				"job_gone",
				format!("job {job_id} is not on chain"),
			))
		})?;
	let stage = job::stage(&job.status);
	let done = match (&job.status, wait) {
		(Refunded { reason, .. }, _) => {
			return Err(Step::Fatal(ApiError::new(502, "server_error", "job_refunded", format!("job {job_id} was refunded ({reason:?}): its fee went back to the gateway's account"))));
		}
		(Finalized { .. }, _) => true,
		(Committed { .. } | Disputed { .. }, Wait::Result) => true,
		_ => false,
	};
	if !done {
		return Ok((stage, None));
	}
	let result: JobResult = chain::read_at(api, Some(at), "Jobs", "Results", (job_id,))
		.await
		.map_err(transient)?
		.ok_or_else(|| Step::Transient(format!("job {job_id} has no result in block {at}")))?;
	let receipt_key = match job::answering_worker(&job.status) {
		Some(worker) => chain::read_at::<_, job::WorkerInfo>(
			api,
			Some(at),
			"Workers",
			"Workers",
			(subxt::utils::AccountId32(worker.clone().into()),),
		)
		.await
		.map_err(transient)?
		.map(|record| record.receipt_key.0),
		None => None,
	};
	Ok((
		stage,
		Some(Answer {
			job_id,
			job,
			result,
			receipt_key,
		}),
	))
}

/// An error after the job was sent: retrying would pay for another job, so the OpenAI clients
/// are told not to (`x-should-retry: false`); the message names the job where there is one.
fn paid_error_response(error: &ApiError) -> Response<Body> {
	let mut response = error_response(error);
	response.headers_mut().insert(
		"x-should-retry",
		hyper::header::HeaderValue::from_static("false"),
	);
	response
}

/// A stream's status chunk: no text yet, the job's stage in `verity`.
fn status_event(job_id: u64, stage: &str, model: &str) -> String {
	let chunk = json!({
		"id": format!("chatcmpl-verity-{job_id}"),
		"object": "chat.completion.chunk",
		"created": now(),
		"model": model,
		"choices": [{ "index": 0, "delta": {}, "logprobs": null, "finish_reason": null }],
		"verity": { "job_id": job_id, "status": stage },
	});
	format!("data: {chunk}\n\n")
}

fn cap_reached(name: &str, reached: CapReached, needed: Balance) -> ApiError {
	ApiError::new(
		429,
		"insufficient_quota",
		"insufficient_quota",
		format!("the spending cap of the gateway's account {name} is reached: spent {} of {}, this request needs {}", amount::format(reached.spent), amount::format(reached.cap), amount::format(needed)),
	)
}

/// `length` when the generation used its whole token budget, `stop` when it ended its turn.
fn finish_reason(input: &JobInput, generated: usize) -> &'static str {
	match input {
		JobInput::Generate { max_tokens, .. } if generated >= *max_tokens as usize => "length",
		_ => "stop",
	}
}

fn now() -> u64 {
	SystemTime::now()
		.duration_since(UNIX_EPOCH)
		.map(|d| d.as_secs())
		.unwrap_or(0)
}
