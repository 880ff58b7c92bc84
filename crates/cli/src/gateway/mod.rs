//! `verity gateway`: an OpenAI-compatible HTTP API in front of a node, so any OpenAI client gets
//! answers that are Verity jobs, each with what it takes to verify it.
//!
//! * `POST /v1/chat/completions` (a generation model: one user message, greedy; `stream: true`
//!   sends the job's status as server-sent events, then the text);
//! * `POST /v1/embeddings` (an embedding model; `encoding_format` float or base64);
//! * `GET /v1/models`: the registry's approved models.
//!
//! Each request is checked before anything is signed (the key, its rate limit, the body, the
//! model, the fee, the account's balance and spending cap), then submits one job from the key's
//! account, waits for its result (or, with `"verity": {"wait": "final"}`, for its finality) and
//! answers in OpenAI's shape with a `verity` field: job id, blocks, hashes, the receipt, the
//! `verity job verify` command, and whether the result is final or still inside its challenge
//! window (not yet verified). A refusal is OpenAI's error object with the fitting HTTP status.

mod access;
mod http;
mod jobs;
mod openai;

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use clap::Args;

use crate::{chain::ChainArgs, error::CliError};

#[cfg(test)]
pub(crate) use jobs::submit_job_fields;

/// Arguments of `verity gateway`.
#[derive(Args)]
pub struct GatewayArgs {
	/// The address to listen on. Keep it on loopback unless a TLS proxy is in front: API keys
	/// travel in the `Authorization` header.
	#[arg(long, default_value = "127.0.0.1:8000")]
	listen: SocketAddr,
	/// The keys file: accounts (secret, spending cap) and API keys (hash, account, rate limit).
	/// Without it, one key from $VERITY_GATEWAY_KEY signs with --suri/--suri-file/$VERITY_SURI.
	#[arg(long)]
	keys: Option<PathBuf>,
	/// Without --keys: the most the gateway spends from the signer's account over its life
	/// (job fees and transaction fees, e.g. 10VRT); kept in --state-dir across restarts.
	#[arg(long)]
	spend_cap: Option<String>,
	/// Without --keys: the key's rate limit.
	#[arg(long, default_value_t = 60)]
	requests_per_minute: u32,
	/// Where the spending ledger is kept (default: ~/.cache/verity/gateway).
	#[arg(long)]
	state_dir: Option<PathBuf>,
	/// The longest a request waits for its job, in seconds; the job stays on chain after. Keep
	/// it under your clients' own timeout (the OpenAI clients': 600 s), or a client that gives up
	/// and retries pays for a second job.
	#[arg(long, default_value_t = 300)]
	timeout: u64,
	/// The node URL the answers' `verify_command` names (default: --url). Give a public one
	/// when --url is internal, or carries credentials.
	#[arg(long)]
	public_url: Option<String>,
	/// Read an API key from standard input, print the `key_hash` the keys file takes, and exit.
	#[arg(long)]
	hash_key: bool,
}

/// Runs `verity gateway` until it is interrupted (Ctrl-C or SIGTERM).
pub async fn run(args: GatewayArgs, chain: &ChainArgs) -> Result<(), CliError> {
	if args.hash_key {
		let mut key = String::new();
		std::io::stdin().read_line(&mut key)?;
		println!(
			"0x{}",
			verity_inference::digest::to_hex(&access::key_hash(key.trim()))
		);
		return Ok(());
	}
	let state_dir = match args.state_dir.clone() {
		Some(dir) => std::path::absolute(&dir)
			.map_err(|e| CliError::Usage(format!("--state-dir {}: {e}", dir.display())))?,
		None => std::env::var_os("HOME")
			.map(|home| PathBuf::from(home).join(".cache/verity/gateway"))
			.filter(|dir| dir.is_absolute())
			.ok_or_else(|| {
				CliError::Usage(
					"$HOME is not set: give the ledger's folder with --state-dir".into(),
				)
			})?,
	};
	let access = access::Access::load(
		args.keys.as_deref(),
		chain,
		args.spend_cap.as_deref(),
		args.requests_per_minute,
		state_dir,
	)?;
	for (index, account) in access.accounts.iter().enumerate() {
		eprintln!(
			"account {}: {} (spent {} of its cap {})",
			account.name,
			account.id,
			crate::amount::format(access.spent(index)),
			crate::amount::format(account.spend_cap)
		);
	}
	let gateway = Arc::new(jobs::Gateway::new(
		chain.clone(),
		args.public_url.clone().unwrap_or_else(|| chain.url.clone()),
		access,
		Duration::from_secs(args.timeout),
	));
	// The node is reached now, so a wrong --url is an error at start, not at the first request.
	gateway.api().await.map_err(|e| CliError::Unreachable {
		url: chain.url.clone(),
		error: e.message,
	})?;
	let listener = tokio::net::TcpListener::bind(args.listen)
		.await
		.map_err(|e| CliError::Usage(format!("cannot listen on {}: {e}", args.listen)))?;
	eprintln!(
		"verity gateway: http://{} (OpenAI API under /v1) → {}",
		listener.local_addr().map_err(CliError::Output)?,
		chain.url
	);
	tokio::select! {
		result = http::serve(listener, gateway) => result,
		_ = shutdown() => {
			eprintln!("verity gateway: stopped (jobs already submitted go on on chain)");
			Ok(())
		}
	}
}

/// Ctrl-C or SIGTERM.
async fn shutdown() {
	let mut terminate =
		match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
			Ok(signal) => signal,
			Err(_) => {
				let _ = tokio::signal::ctrl_c().await;
				return;
			}
		};
	tokio::select! {
		_ = tokio::signal::ctrl_c() => {}
		_ = terminate.recv() => {}
	}
}
