//! `verity worker init|bond|unbond|withdraw|register|models|pause|resume|deregister|status`:
//! becoming a compute provider and running as one.
//!
//! A worker is an account with a bond (held, slashable) registered for the approved models it
//! serves, with an ed25519 receipt key that signs its results. Its node (`verity-node --worker`)
//! signs transactions with the account's key (key type `vwrk`, sr25519) and receipts with the
//! receipt key (`vrcp`, ed25519). `init` makes both from one fresh secret phrase, as the
//! development workers are (`//Alice//worker` for both schemes), so one backup restores both.

use std::{io::Write, path::PathBuf};

use clap::{Args, Subcommand};
use serde_json::json;
use sp_core::{crypto::Pair as _, ed25519, sr25519};
use subxt::{dynamic::Value, rpcs::rpc_params, utils::AccountId32};
use verity_inference::digest::to_hex;
use verity_primitives::{AccountId, Balance, BlockNumber, ModelId};

use crate::{amount, chain, error::CliError, models};

/// A worker record of the Verity runtime (its models as a plain list).
pub type WorkerInfo = pallet_workers::WorkerInfo<BlockNumber, Vec<pallet_workers::ServedModel>>;
/// A bond ledger of the Verity runtime.
pub type Ledger =
	pallet_workers::Ledger<Balance, Vec<pallet_workers::UnbondingChunk<Balance, BlockNumber>>>;
/// A track record of the Verity runtime.
pub type Stats = pallet_workers::WorkerStats<Balance, BlockNumber>;

/// `verity worker …`.
#[derive(Subcommand)]
pub enum WorkerCommand {
	/// Make a worker's keys: a fresh secret phrase, its account key (sr25519) and receipt key
	/// (ed25519) put into the keystore of the worker node at --url (`author_insertKey`), the
	/// phrase written to --secret-file. Prints the account to fund.
	Init(InitArgs),
	/// Hold AMOUNT more as the signer's bond (at least the chain's minimum in all).
	Bond {
		/// The amount, with its unit (`1000VRT`).
		amount: String,
	},
	/// Start unbonding AMOUNT: it stops counting in draws now, and can be withdrawn after the
	/// unbonding period (slashable until then).
	Unbond {
		/// The amount, with its unit.
		amount: String,
	},
	/// Release every unbonding chunk that has unlocked.
	Withdraw,
	/// Register the signer as a worker of --models, signing receipts with its receipt key.
	Register(RegisterArgs),
	/// Replace the models the signer serves and their capacities.
	Models {
		/// `MODEL:CAPACITY,…` (a model's id or name; capacity: jobs computed at once).
		#[arg(long, value_delimiter = ',', required = true)]
		models: Vec<String>,
	},
	/// Stop being drawn for jobs and juries (jobs held still finish).
	Pause,
	/// Be drawn again after a pause.
	Resume,
	/// End the registration (the bond stays until unbonded).
	Deregister,
	/// An account's bond, unbonding, reserved, models, jobs done, faults and slashes; default
	/// the signer's.
	Status {
		/// The account (SS58).
		account: Option<String>,
	},
}

/// Arguments of `verity worker init`.
#[derive(Args)]
pub struct InitArgs {
	/// Where to write the new secret phrase (created, mode 0600; refused if it exists). Sign
	/// the worker's transactions with `--suri-file` pointing at it.
	#[arg(long)]
	secret_file: PathBuf,
	/// Send the phrase to a node that is not on this machine. The phrase travels in clear over
	/// `ws://`: use it only through a tunnel you trust.
	#[arg(long)]
	allow_remote: bool,
}

/// Arguments of `verity worker register`.
#[derive(Args)]
pub struct RegisterArgs {
	/// `MODEL:CAPACITY,…`: each model (id or name) with the jobs of it the machine computes at
	/// once (the node logs a capacity to declare at start).
	#[arg(long, value_delimiter = ',', required = true)]
	models: Vec<String>,
	/// The receipt key (ed25519, 0x + 64 hex). Default: the ed25519 key of the signer's own
	/// secret, as `worker init` puts in the node's keystore.
	#[arg(long)]
	receipt_key: Option<String>,
}

/// Runs `verity worker …`.
pub async fn run(
	command: WorkerCommand,
	chain: &chain::ChainArgs,
	json_output: bool,
) -> Result<(), CliError> {
	let unit_call = |name: &str| chain::call("Workers", name, vec![]);
	match command {
		WorkerCommand::Init(args) => init(args, chain, json_output).await,
		WorkerCommand::Bond { amount } => {
			let amount = amount::parse(&amount)?;
			check_bond(chain, amount).await?;
			let call = chain::call("Workers", "bond", vec![Value::u128(amount)]);
			send(
				chain,
				&call,
				json_output,
				&format!("bonded {}", amount::format(amount)),
			)
			.await
		}
		WorkerCommand::Unbond { amount } => {
			let amount = amount::parse(&amount)?;
			check_unbond(chain, amount).await?;
			let call = chain::call("Workers", "unbond", vec![Value::u128(amount)]);
			send(
				chain,
				&call,
				json_output,
				&format!("unbonding {}", amount::format(amount)),
			)
			.await
		}
		WorkerCommand::Withdraw => {
			check_withdraw(chain).await?;
			send(
				chain,
				&unit_call("withdraw_unbonded"),
				json_output,
				"withdrawn",
			)
			.await
		}
		WorkerCommand::Register(args) => {
			let signer = chain.signer()?;
			let receipt_key = match &args.receipt_key {
				Some(text) => parse_key(text)?,
				None => chain.receipt_key()?,
			};
			let api = chain.connect().await?;
			let offers = offers(&api, &args.models).await?;
			let call = chain::call(
				"Workers",
				"register_worker",
				vec![offers, Value::from_bytes(receipt_key)],
			);
			chain::submit(&api, &call, &signer).await?;
			report(
				json_output,
				&format!(
					"registered {} with receipt key 0x{}",
					AccountId::new(signer.public_key().0),
					to_hex(&receipt_key)
				),
			);
			Ok(())
		}
		WorkerCommand::Models { models } => {
			let api = chain.connect().await?;
			let offers = offers(&api, &models).await?;
			let call = chain::call("Workers", "set_models", vec![offers]);
			send(chain, &call, json_output, "models set").await
		}
		WorkerCommand::Pause => send(chain, &unit_call("pause"), json_output, "paused").await,
		WorkerCommand::Resume => send(chain, &unit_call("resume"), json_output, "resumed").await,
		WorkerCommand::Deregister => {
			send(chain, &unit_call("deregister"), json_output, "deregistered").await
		}
		WorkerCommand::Status { account } => {
			let account = match account {
				Some(text) => parse_account(&text)?,
				None => AccountId::new(chain.signer()?.public_key().0),
			};
			let api = chain.connect().await?;
			let status = worker_json(&api, &account).await?;
			if json_output {
				println!("{status}");
			} else {
				crate::ask::print_fields(&status);
			}
			Ok(())
		}
	}
}

/// The signer's account, its ledger and the chain's minimum bond.
async fn ledger_of_signer(
	chain: &chain::ChainArgs,
) -> Result<(chain::Api, AccountId, Option<Ledger>, Balance), CliError> {
	let who = AccountId::new(chain.signer()?.public_key().0);
	let api = chain.connect().await?;
	let ledger: Option<Ledger> = chain::read(
		&api,
		"Workers",
		"Ledgers",
		(AccountId32(who.clone().into()),),
	)
	.await?;
	let min: Balance = chain::constant(&api, "Workers", "MinWorkerBond").await?;
	Ok((api, who, ledger, min))
}

/// Refuses, before anything is sent (and a fee paid), a bond that stays below the minimum.
async fn check_bond(chain: &chain::ChainArgs, amount: Balance) -> Result<(), CliError> {
	nonzero(amount)?;
	let (_, who, ledger, min) = ledger_of_signer(chain).await?;
	let bonded = ledger.map_or(0, |l| l.bonded);
	if bonded.saturating_add(amount) < min {
		return Err(CliError::Usage(format!(
			"a bond must reach {} in all: {who} has {} bonded, so bond at least {} (nothing was \
			 sent)",
			amount::format(min),
			amount::format(bonded),
			amount::format(min - bonded)
		)));
	}
	Ok(())
}

/// Refuses, before anything is sent, an unbonding of more than the bond or one that leaves a
/// registered worker below the minimum.
async fn check_unbond(chain: &chain::ChainArgs, amount: Balance) -> Result<(), CliError> {
	nonzero(amount)?;
	let (api, who, ledger, min) = ledger_of_signer(chain).await?;
	let bonded = ledger.as_ref().map_or(0, |l| l.bonded);
	let reserved = ledger.as_ref().map_or(0, |l| l.reserved);
	let Some(remaining) = bonded.checked_sub(amount) else {
		return Err(CliError::Usage(format!(
			"{who} has only {} bonded (nothing was sent)",
			amount::format(bonded)
		)));
	};
	let registered = chain::read::<_, WorkerInfo>(
		&api,
		"Workers",
		"Workers",
		(AccountId32(who.clone().into()),),
	)
	.await?
	.is_some();
	if remaining < reserved {
		return Err(CliError::Usage(format!(
			"{} of the bond is reserved by jobs in flight: at most {} can be unbonded now \
			 (nothing was sent)",
			amount::format(reserved),
			amount::format(bonded - reserved)
		)));
	}
	if remaining < min && (registered || remaining > 0) {
		return Err(CliError::Usage(format!(
			"this leaves {} bonded, below the minimum of {}{} (nothing was sent)",
			amount::format(remaining),
			amount::format(min),
			if registered {
				"; a registered worker keeps the minimum (`verity worker deregister` first to \
				 unbond it all)"
			} else {
				"; unbond all of it or keep the minimum"
			}
		)));
	}
	Ok(())
}

/// Refuses, before anything is sent, a withdrawal with nothing unlocked.
async fn check_withdraw(chain: &chain::ChainArgs) -> Result<(), CliError> {
	let (api, who, ledger, _) = ledger_of_signer(chain).await?;
	let head = api
		.at_current_block()
		.await
		.map_err(|e| CliError::Chain(e.to_string()))?
		.block_number();
	let in_flight = ledger.as_ref().map_or(0, |l| l.jobs_in_flight);
	if in_flight > 0 {
		return Err(CliError::Usage(format!(
			"{who} holds {in_flight} jobs or jury seats in flight: their settlement may still \
			 slash the bond, so nothing is withdrawn until they end (nothing was sent)"
		)));
	}
	let chunks = ledger.map(|l| l.unbonding).unwrap_or_default();
	// The withdrawal runs in a later block than the finalized head.
	let next = head.saturating_add(1);
	if !chunks
		.iter()
		.any(|chunk| u64::from(chunk.unlock_at) <= next)
	{
		return Err(CliError::Usage(
			match chunks.iter().map(|c| c.unlock_at).min() {
				Some(at) => format!(
				"nothing of {who} has unlocked yet: the first chunk unlocks at block {at} (now \
				 {head}; nothing was sent)"
			),
				None => {
					format!("{who} has nothing unbonding (`verity worker unbond AMOUNT` first)")
				}
			},
		));
	}
	Ok(())
}

/// Refuses a zero amount before anything is sent.
fn nonzero(amount: Balance) -> Result<(), CliError> {
	if amount == 0 {
		return Err(CliError::Usage(
			"the amount is zero (nothing was sent)".into(),
		));
	}
	Ok(())
}

/// Whether `url` points at this machine (`localhost`, `127.x.x.x`, `[::1]`).
fn is_loopback(url: &str) -> bool {
	let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
	let host = rest.split(['/', '?']).next().unwrap_or_default();
	let host = match host.strip_prefix('[') {
		Some(v6) => v6.split(']').next().unwrap_or_default(),
		None => host.rsplit_once(':').map_or(host, |(host, _)| host),
	};
	host == "localhost"
		|| host
			.parse::<std::net::IpAddr>()
			.is_ok_and(|ip| ip.is_loopback())
}

/// An SS58 account, or a readable error.
pub fn parse_account(text: &str) -> Result<AccountId, CliError> {
	text.parse::<AccountId>()
		.map_err(|_| CliError::Usage(format!("'{text}' is not an SS58 account address")))
}

/// A 32-byte key written `0x` + 64 hex digits.
fn parse_key(text: &str) -> Result<[u8; 32], CliError> {
	crate::hex::decode32(text)
		.ok_or_else(|| CliError::Usage(format!("'{text}' is not a key (0x and 64 hex digits)")))
}

/// `MODEL:CAPACITY` entries as the `ModelCapacity` list the calls take, each model resolved in
/// the registry (so a typo is refused before anything is sent).
async fn offers(api: &chain::Api, entries: &[String]) -> Result<Value, CliError> {
	let mut offers = Vec::new();
	for text in entries {
		let (model, capacity) = text.rsplit_once(':').ok_or_else(|| {
			CliError::Usage(format!(
				"'{text}' is not MODEL:CAPACITY (for example smollm2:2)"
			))
		})?;
		let capacity: u32 = capacity
			.parse()
			.ok()
			.filter(|capacity| *capacity > 0)
			.ok_or_else(|| {
				CliError::Usage(format!(
					"'{capacity}' is not a capacity: the number of jobs computed at once, at \
					 least 1"
				))
			})?;
		let (id, _): (ModelId, _) = models::resolve(api, model).await?;
		offers.push(Value::named_composite([
			("model", Value::u128(id.into())),
			("capacity", Value::u128(capacity.into())),
		]));
	}
	Ok(Value::unnamed_composite(offers))
}

/// Signs and sends `call`, then prints `done`.
async fn send(
	chain: &chain::ChainArgs,
	call: &impl subxt::transactions::Payload,
	json_output: bool,
	done: &str,
) -> Result<(), CliError> {
	let signer = chain.signer()?;
	let api = chain.connect().await?;
	chain::submit(&api, call, &signer).await?;
	report(json_output, done);
	Ok(())
}

fn report(json_output: bool, done: &str) {
	if json_output {
		println!("{}", json!({ "done": done }));
	} else {
		println!("{done}");
	}
}

async fn init(args: InitArgs, chain: &chain::ChainArgs, json_output: bool) -> Result<(), CliError> {
	if args.secret_file.exists() {
		return Err(CliError::Usage(format!(
			"{} exists: a worker's secret is never overwritten; choose another --secret-file",
			args.secret_file.display()
		)));
	}
	if !is_loopback(&chain.url) && !args.allow_remote {
		return Err(CliError::Usage(format!(
			"{} is not this machine: `worker init` sends the new secret phrase to the node \
			 (author_insertKey). Run it on the worker's machine against ws://127.0.0.1:9944, or \
			 pass --allow-remote through a tunnel you trust (nothing was sent)",
			chain.url
		)));
	}
	let rpc = chain.connect().await?.rpc;
	let (account, phrase, _) = sr25519::Pair::generate_with_phrase(None);
	let receipt = ed25519::Pair::from_phrase(&phrase, None)
		.map_err(|_| CliError::Signer("the new phrase gives no ed25519 key".into()))?
		.0;
	// The phrase is on disk before the node holds the keys: after a crash the keys can still be
	// inserted from it by hand (`verity-node key insert`), and no key exists that nobody can
	// restore.
	let mut options = std::fs::OpenOptions::new();
	options.write(true).create_new(true);
	#[cfg(unix)]
	std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
	let mut file = options.open(&args.secret_file)?;
	file.write_all(phrase.as_bytes())?;
	file.sync_all()?;
	for (key_type, public) in [("vwrk", account.public().0), ("vrcp", receipt.public().0)] {
		let public = format!("0x{}", to_hex(&public));
		let inserted: Result<serde_json::Value, _> = rpc
			.request(
				"author_insertKey",
				rpc_params![key_type, phrase.as_str(), public],
			)
			.await;
		inserted.map_err(|e| {
			CliError::Chain(format!(
				"the node did not take the {key_type} key ({e}); author_insertKey is an unsafe \
				 RPC: run this against your worker node's own endpoint (ws://127.0.0.1:9944 on \
				 that machine, no --rpc-external). The phrase is kept in {}",
				args.secret_file.display()
			))
		})?;
	}
	let account_id = AccountId::new(account.public().0);
	let receipt_key = format!("0x{}", to_hex(&receipt.public().0));
	if json_output {
		println!(
			"{}",
			json!({
				"account": account_id.to_string(),
				"receipt_key": receipt_key,
				"secret_file": args.secret_file.display().to_string(),
			})
		);
	} else {
		println!("worker account  {account_id}");
		println!("receipt key     {receipt_key}");
		println!(
			"secret phrase   in {} (back it up; it restores both keys)",
			args.secret_file.display()
		);
		println!(
			"next: fund the account, then `verity worker bond 1000VRT --suri-file {0}` and \
			 `verity worker register --models smollm2:1 --suri-file {0}`",
			args.secret_file.display()
		);
	}
	Ok(())
}

/// Everything the chain holds about `account` as a worker.
pub async fn worker_json(
	api: &chain::Api,
	account: &AccountId,
) -> Result<serde_json::Value, CliError> {
	let key = || (AccountId32(account.clone().into()),);
	let info: Option<WorkerInfo> = chain::read(api, "Workers", "Workers", key()).await?;
	let ledger: Option<Ledger> = chain::read(api, "Workers", "Ledgers", key()).await?;
	let stats: Stats = chain::read(api, "Workers", "Stats", key())
		.await?
		.unwrap_or_default();
	Ok(record_json(account, info.as_ref(), ledger.as_ref(), &stats))
}

/// One worker's record as JSON (amounts with their unit).
pub fn record_json(
	account: &AccountId,
	info: Option<&WorkerInfo>,
	ledger: Option<&Ledger>,
	stats: &Stats,
) -> serde_json::Value {
	let registered = info.map_or_else(
		|| {
			if ledger.is_some_and(|l| l.bonded > 0) {
				"not registered (`verity worker register --models …`)".to_string()
			} else {
				"not bonded (`verity worker bond AMOUNT`, then `verity worker register`)"
					.to_string()
			}
		},
		|info| format!("{:?}", info.status),
	);
	json!({
		"account": account.to_string(),
		"status": registered,
		"bonded": amount::format(ledger.map_or(0, |l| l.bonded)),
		"reserved": amount::format(ledger.map_or(0, |l| l.reserved)),
		"unbonding": ledger.map_or_else(Vec::new, |l| l
			.unbonding
			.iter()
			.map(|chunk| json!({ "amount": amount::format(chunk.amount), "unlock_at": chunk.unlock_at }))
			.collect()),
		"jobs_in_flight": ledger.map_or(0, |l| l.jobs_in_flight),
		"models": info.map_or_else(Vec::new, |info| info
			.models
			.iter()
			.map(|m| json!({ "model": m.model, "capacity": m.capacity, "busy": m.busy }))
			.collect()),
		"receipt_key": info.map(|info| format!("0x{}", to_hex(&info.receipt_key.0))),
		"registered_at": info.map(|info| info.registered_at),
		"jobs_done": stats.jobs_done,
		"faults": {
			"missed_deadline": stats.faults.missed_deadline,
			"wrong_result": stats.faults.wrong_result,
			"juror_no_reveal": stats.faults.juror_no_reveal,
			"juror_minority": stats.faults.juror_minority,
		},
		"slashed": amount::format(stats.slashed_total),
		"last_active": stats.last_active,
	})
}

#[cfg(test)]
mod tests {
	use super::parse_key;

	#[test]
	fn a_key_is_0x_and_64_hex_digits() {
		let key = format!("0x{}", "ab".repeat(32));
		assert_eq!(parse_key(&key).unwrap(), [0xab; 32]);
		assert!(parse_key(&"ab".repeat(32)).is_err(), "no 0x");
		assert!(parse_key("0xabcd").is_err(), "too short");
		assert!(
			parse_key(&format!("0x{}", "zz".repeat(32))).is_err(),
			"not hex"
		);
	}
}

#[cfg(test)]
mod loopback_tests {
	use super::is_loopback;

	#[test]
	fn only_this_machine_counts_as_loopback() {
		for url in [
			"ws://127.0.0.1:9944",
			"ws://localhost:9944",
			"ws://[::1]:9944",
			"ws://127.0.0.2",
		] {
			assert!(is_loopback(url), "{url}");
		}
		for url in [
			"ws://10.0.0.1:9944",
			"wss://rpc.example.org",
			"ws://[2001:db8::1]:9944",
		] {
			assert!(!is_loopback(url), "{url}");
		}
	}
}
