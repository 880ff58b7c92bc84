//! `verity job challenge ID [--resume]`: dispute a result in the two steps the chain asks for.
//!
//! First the result is verified locally (a result that verifies is not challenged without
//! `--force`: the jury would uphold it and the bond would be lost), and the chain's bond is shown
//! and confirmed (`--yes` skips the question). Then a hash that binds the account, the job and a
//! secret salt is committed, and revealed in a later block. The salt is saved before anything is
//! sent, so a crash between the two steps loses no bond: `--resume` sends the commitment if it
//! never reached the chain and reveals it. Last, the dispute is followed to its verdict (unless
//! `--no-wait`), and the challenger's payout or forfeit is printed.

use std::{
	io::Read,
	path::{Path, PathBuf},
	process::ExitCode,
	time::Duration,
};

use clap::Args;
use serde_json::json;
use subxt::{dynamic::Value, ext::scale_decode::DecodeAsType, utils::AccountId32};
use verity_inference::digest::to_hex;
use verity_primitives::{receipt::JobId, AccountId, Balance, BlockNumber, Hash};

use crate::{amount, chain, error::CliError, job};

/// Arguments of `verity job challenge`.
#[derive(Args)]
pub struct ChallengeArgs {
	/// The job whose result to dispute.
	id: JobId,
	/// Finish a challenge whose commitment was sent but not revealed (after a crash or a lost
	/// connection), from its saved salt.
	#[arg(long)]
	resume: bool,
	/// Where challenges in progress are saved (default: ~/.cache/verity/challenges).
	#[arg(long)]
	state_dir: Option<PathBuf>,
	/// The models folder for the local check (default: $VERITY_MODELS, else
	/// ~/.cache/verity/models).
	#[arg(long)]
	models_dir: Option<PathBuf>,
	/// Challenge even if the result verifies locally, or cannot be checked here.
	#[arg(long)]
	force: bool,
	/// Hold the bond without asking.
	#[arg(long, short = 'y')]
	yes: bool,
	/// Return once the challenge is revealed, instead of following the dispute to its verdict.
	#[arg(long)]
	no_wait: bool,
}

/// The part of `Jobs::DisputeResolved` the CLI reads.
#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct DisputeResolved {
	job_id: JobId,
	outcome: Outcome,
	confirming: u32,
	rejecting: u32,
}

/// `pallet_jobs::DisputeOutcome`, by name.
#[derive(DecodeAsType, Debug)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
enum Outcome {
	ResultRejected,
	ResultUpheld,
	NoVerdict,
}

/// A challenge in progress, as saved between its two steps.
struct Saved {
	salt: [u8; 32],
	commitment: Hash,
}

/// Where salts are kept: `--state-dir` (made absolute), else `$HOME/.cache/verity/challenges`.
/// Never relative to the working directory, so `--resume` finds what an earlier run saved
/// wherever it is run from.
fn state_dir(given: Option<&Path>) -> Result<PathBuf, CliError> {
	match given {
		Some(dir) if dir.is_absolute() => Ok(dir.to_path_buf()),
		Some(dir) => Ok(std::env::current_dir()?.join(dir)),
		None => std::env::var_os("HOME")
			.filter(|home| !home.is_empty())
			.map(|home| PathBuf::from(home).join(".cache/verity/challenges"))
			.ok_or_else(|| {
				CliError::Usage("$HOME is not set: give --state-dir for the saved salts".into())
			}),
	}
}

fn state_path(dir: &Path, genesis: &Hash, id: JobId, who: &AccountId) -> PathBuf {
	dir.join(format!(
		"{}-job{id}-{who}.json",
		&to_hex(genesis.as_bytes())[..16]
	))
}

fn load(path: &Path) -> Result<Saved, CliError> {
	let bad = |why: &str| CliError::Usage(format!("{}: {why}", path.display()));
	let text = std::fs::read_to_string(path).map_err(|e| bad(&e.to_string()))?;
	let value: serde_json::Value =
		serde_json::from_str(&text).map_err(|_| bad("not a saved challenge"))?;
	let field = |name: &str| value[name].as_str().and_then(crate::hex::decode32);
	match (field("salt"), field("commitment")) {
		(Some(salt), Some(commitment)) => Ok(Saved {
			salt,
			commitment: Hash::from(commitment),
		}),
		_ => Err(bad("not a saved challenge")),
	}
}

/// Writes the salt before the commitment is sent; readable by its owner only.
fn save(path: &Path, id: JobId, saved: &Saved) -> Result<(), CliError> {
	if let Some(dir) = path.parent() {
		std::fs::create_dir_all(dir)?;
	}
	let text = json!({
		"job": id,
		"salt": format!("0x{}", to_hex(&saved.salt)),
		"commitment": format!("0x{}", to_hex(saved.commitment.as_bytes())),
	})
	.to_string();
	if path.exists() {
		return Err(CliError::Usage(format!("{} exists", path.display())));
	}
	// Written whole to a temporary file, then renamed: a crash leaves either no file or a
	// complete one, never a truncated salt.
	let partial = path.with_extension("partial");
	let mut options = std::fs::OpenOptions::new();
	options.write(true).create(true).truncate(true);
	#[cfg(unix)]
	std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
	let mut file = options.open(&partial)?;
	std::io::Write::write_all(&mut file, text.as_bytes())?;
	file.sync_all()?;
	std::fs::rename(&partial, path)?;
	if let Some(dir) = path.parent() {
		std::fs::File::open(dir)?.sync_all()?;
	}
	Ok(())
}

fn fresh_salt() -> Result<[u8; 32], CliError> {
	let mut salt = [0u8; 32];
	std::fs::File::open("/dev/urandom")
		.and_then(|mut random| random.read_exact(&mut salt))
		.map_err(|e| CliError::Usage(format!("no randomness for the salt (/dev/urandom): {e}")))?;
	Ok(salt)
}

/// `verity job challenge`.
pub async fn run(
	args: ChallengeArgs,
	chain: &chain::ChainArgs,
	json_output: bool,
) -> Result<ExitCode, CliError> {
	let signer = chain.signer()?;
	let who = AccountId::new(signer.public_key().0);
	let api = chain.connect().await?;
	let id = args.id;
	let job = job::job(&api, id).await?;
	let genesis = Hash::from(api.genesis_hash().0);
	let dir = state_dir(args.state_dir.as_deref())?;
	let path = state_path(&dir, &genesis, id, &who);
	let commit = |commitment: Hash| {
		chain::call(
			"Jobs",
			"commit_challenge",
			vec![Value::from_bytes(commitment.as_bytes())],
		)
	};
	let saved = if args.resume {
		if !path.exists() {
			return Err(CliError::Usage(format!(
				"no challenge of job {id} by {who} to resume ({} does not exist)",
				path.display()
			)));
		}
		let saved = load(&path)?;
		// The crashed run's commitment may still be on its way (in the pool, or in a block not
		// yet finalized): wait until nothing of the account is pending before reading it.
		wait_until_settled(&api, &who).await?;
		// A crash may have come before the commitment reached the chain: send it then, while
		// the result is still open to challenge.
		let on_chain: Option<pallet_jobs::ChallengeCommitment<AccountId, Balance, BlockNumber>> =
			chain::read(&api, "Jobs", "Commitments", (saved.commitment.0,)).await?;
		let job = job::job(&api, id).await?;
		if on_chain.is_none() && matches!(job.status, pallet_jobs::JobStatus::Committed { .. }) {
			let params: pallet_jobs::JobParams<Balance, BlockNumber> =
				chain::read(&api, "Jobs", "Params", ())
					.await?
					.ok_or_else(|| CliError::Chain("the chain has no job parameters".into()))?;
			say(
				json_output,
				"the saved commitment never reached the chain: sending it now".to_string(),
			);
			confirm(&args, id, params.challenge_bond)?;
			match chain::submit(&api, &commit(saved.commitment), &signer).await {
				// The first attempt's transaction landed after all.
				Err(CliError::Refused { error, .. }) if error == "Jobs::CommitmentExists" => {}
				other => {
					other?;
				}
			}
			say(
				json_output,
				format!("committed 0x{}", to_hex(saved.commitment.as_bytes())),
			);
		}
		saved
	} else {
		if path.exists() {
			return Err(CliError::Usage(format!(
				"a challenge of job {id} by {who} is already under way (saved in {}): run with \
				 --resume to reveal it",
				path.display()
			)));
		}
		if !matches!(job.status, pallet_jobs::JobStatus::Committed { .. }) {
			return Err(CliError::Usage(format!(
				"job {id} has no result open to challenge: it is {}",
				job::stage(&job.status)
			)));
		}
		check_first(&args, chain, json_output).await?;
		let params: pallet_jobs::JobParams<Balance, BlockNumber> =
			chain::read(&api, "Jobs", "Params", ())
				.await?
				.ok_or_else(|| {
					CliError::Chain("the chain has no job parameters (Jobs::Params)".into())
				})?;
		confirm(&args, id, params.challenge_bond)?;
		// The local run and the question took time: the job may have moved on meanwhile.
		let job = job::job(&api, id).await?;
		if !matches!(job.status, pallet_jobs::JobStatus::Committed { .. }) {
			return Err(CliError::Usage(format!(
				"job {id} has no result open to challenge any more: it is {} (nothing was sent)",
				job::stage(&job.status)
			)));
		}
		let salt = fresh_salt()?;
		let commitment = pallet_jobs::commitments::challenge_commitment(&who, id, &salt);
		let saved = Saved { salt, commitment };
		save(&path, id, &saved)?;
		match chain::submit(&api, &commit(commitment), &signer).await {
			Ok(_) => {}
			// Refused: no bond is held, and the salt is of no use.
			Err(refused @ CliError::Refused { .. }) => {
				let _ = std::fs::remove_file(&path);
				return Err(refused);
			}
			Err(other) => return Err(resume_hint(other, id, params.challenge_commit_ttl)),
		}
		say(
			json_output,
			format!(
				"committed 0x{} (bond held; salt saved in {})",
				to_hex(commitment.as_bytes()),
				path.display()
			),
		);
		saved
	};
	// The commitment's block is finalized (submit waits for it), so this reveal lands later.
	let reveal = chain::call(
		"Jobs",
		"reveal_challenge",
		vec![Value::u128(id.into()), Value::from_bytes(saved.salt)],
	);
	let withdrawn = match chain::submit(&api, &reveal, &signer).await {
		Err(CliError::Refused { error, .. }) if error == "Jobs::UnknownCommitment" => {
			// Revealed already, by a run that died before removing the file?
			let job = job::job(&api, id).await?;
			let ours = matches!(
				&job.status,
				pallet_jobs::JobStatus::Disputed { challenger: Some(c), .. } if *c == who
			);
			let _ = std::fs::remove_file(&path);
			if !ours {
				return Err(CliError::Usage(format!(
					"the commitment 0x{} is not on chain: already revealed and settled, or \
					 expired and its bond forfeited (see `verity job show {id}`)",
					to_hex(saved.commitment.as_bytes())
				)));
			}
			say(
				json_output,
				format!("job {id}: the challenge was revealed already"),
			);
			false
		}
		Err(refused @ CliError::Refused { .. }) => return Err(refused),
		Err(other) => {
			let ttl = chain::read::<_, pallet_jobs::JobParams<Balance, BlockNumber>>(
				&api,
				"Jobs",
				"Params",
				(),
			)
			.await
			.ok()
			.flatten()
			.map_or(0, |p| p.challenge_commit_ttl);
			return Err(resume_hint(other, id, ttl));
		}
		Ok(events) => events.iter().filter_map(Result::ok).any(|event| {
			event.pallet_name() == "Jobs" && event.event_name() == "ChallengeWithdrawn"
		}),
	};
	// Revealed: the salt is no longer needed.
	let _ = std::fs::remove_file(&path);
	let revealed_in = head(&api).await?;
	let job = job::job(&api, id).await?;
	let jury_at = match job.status {
		pallet_jobs::JobStatus::Disputed {
			resolve_at,
			jury_pending: true,
			..
		} => Some(resolve_at),
		_ => None,
	};
	let mut report = json!({
		"id": id,
		"challenge": if withdrawn { "Withdrawn" } else { "Revealed" },
		"commitment": format!("0x{}", to_hex(saved.commitment.as_bytes())),
		"status": job::stage(&job.status),
		"jury_drawn_at": jury_at,
	});
	if withdrawn {
		say(
			json_output,
			format!("job {id} was already disputed or settled: the bond came back"),
		);
	} else {
		say(
			json_output,
			match jury_at {
				Some(at) => format!("job {id} is disputed: its jury is drawn in block {at}"),
				None => format!("job {id} is disputed ({})", job::stage(&job.status)),
			},
		);
		if !args.no_wait {
			let verdict = follow(&api, id, revealed_in, &who).await?;
			say(
				json_output,
				format!(
					"{:?} ({} seats confirm, {} reject) in block {}: {}",
					verdict.outcome,
					verdict.confirming,
					verdict.rejecting,
					verdict.block,
					match verdict.change {
						change if change >= 0 => format!(
							"the bond came back; your balance rose by {} in that block",
							amount::format(change as u128)
						),
						change => format!(
							"the bond was forfeited; your balance fell by {} in that block",
							amount::format(change.unsigned_abs())
						),
					}
				),
			);
			report["outcome"] = json!(format!("{:?}", verdict.outcome));
			report["resolved_in"] = json!(verdict.block);
			report["confirming"] = json!(verdict.confirming);
			report["rejecting"] = json!(verdict.rejecting);
			report["balance_change"] = json!(verdict.change.to_string());
		}
	}
	if json_output {
		println!("{report}");
	}
	Ok(ExitCode::SUCCESS)
}

/// Waits (up to two minutes) until `who` has no transaction pending.
async fn wait_until_settled(api: &chain::Api, who: &AccountId) -> Result<(), CliError> {
	let deadline = std::time::Instant::now() + Duration::from_secs(120);
	while api.has_pending(who).await? {
		if std::time::Instant::now() > deadline {
			return Err(CliError::Chain(format!(
				"a transaction of {who} is still pending after two minutes: run `--resume` \
				 again once it is finalized"
			)));
		}
		tokio::time::sleep(Duration::from_secs(2)).await;
	}
	Ok(())
}

/// An error after the salt was saved: a bond may be held, so say how to finish.
fn resume_hint(error: CliError, id: JobId, ttl: BlockNumber) -> CliError {
	CliError::Chain(format!(
		"{error}. The commitment may have reached the chain and hold the bond: run `verity job \
		 challenge {id} --resume` (same account, same --state-dir) within {ttl} blocks of the \
		 commitment, or the bond is forfeited"
	))
}

/// Prints a line of progress (to stderr under `--json`, where stdout holds one object).
fn say(json_output: bool, line: String) {
	if json_output {
		eprintln!("{line}");
	} else {
		println!("{line}");
	}
}

/// Verifies the result locally first: a result that verifies, or that cannot be checked here, is
/// not challenged without `--force`.
async fn check_first(
	args: &ChallengeArgs,
	chain: &chain::ChainArgs,
	json_output: bool,
) -> Result<(), CliError> {
	let verify = job::VerifyArgs {
		archive: false,
		id: args.id,
		models_dir: args.models_dir.clone(),
	};
	let mut facts = serde_json::Map::new();
	let verdict = job::check(&verify, chain, &mut facts)
		.await
		.unwrap_or_else(|error| job::Verdict::Unverifiable(error.to_string()));
	let refuse = |why: String| {
		if args.force {
			say(json_output, format!("{why}; challenging anyway (--force)"));
			Ok(())
		} else {
			Err(CliError::Usage(why))
		}
	};
	match verdict {
		// The jury judges the output, not the receipt: a bad receipt on a right output would be
		// upheld.
		job::Verdict::BadReceipt(why) => refuse(format!(
			"job {}: {why}, but a jury judges only the output; --force to challenge anyway",
			args.id
		)),
		job::Verdict::Mismatch(why) => {
			say(json_output, format!("MISMATCH: job {}: {why}", args.id));
			Ok(())
		}
		job::Verdict::Verified => refuse(format!(
			"job {} VERIFIED here: a jury would uphold it and the bond would be forfeited; \
			 --force to challenge anyway",
			args.id
		)),
		job::Verdict::Unverifiable(why) => refuse(format!(
			"job {} cannot be verified here ({why}); --force to challenge without checking",
			args.id
		)),
	}
}

/// Shows the bond and asks before holding it, unless `--yes`.
fn confirm(args: &ChallengeArgs, id: JobId, bond: Balance) -> Result<(), CliError> {
	crate::ask::confirm(
		args.yes,
		&format!(
			"Challenging job {id} holds a bond of {}, forfeited if the jury upholds the result. \
			 Go on?",
			amount::format(bond)
		),
		format!(
			"challenging job {id} holds a bond of {}: pass --yes to confirm without a terminal",
			amount::format(bond)
		),
		"not challenged: nothing was sent",
	)
}

/// The finalized head's number.
async fn head(api: &chain::Api) -> Result<u64, CliError> {
	Ok(api
		.at_current_block()
		.await
		.map_err(|e| CliError::Chain(e.to_string()))?
		.block_number())
}

/// How a followed dispute ended.
struct Verdict {
	outcome: Outcome,
	confirming: u32,
	rejecting: u32,
	/// The block that resolved it.
	block: u64,
	/// The challenger's total balance (free and held) after that block minus before it: the
	/// reward when the result was rejected, minus the bond when it was upheld.
	change: i128,
}

/// Follows finalized blocks after `from` until one resolves the dispute of `id`.
async fn follow(
	api: &chain::Api,
	id: JobId,
	from: u64,
	who: &AccountId,
) -> Result<Verdict, CliError> {
	let chain_error = |e: String| CliError::Chain(e);
	let mut next = from.saturating_add(1);
	loop {
		while next > head(api).await? {
			tokio::time::sleep(Duration::from_secs(1)).await;
		}
		let events = api
			.at_block(next)
			.await
			.map_err(|e| chain_error(e.to_string()))?
			.events()
			.fetch()
			.await
			.map_err(|e| chain_error(e.to_string()))?;
		let mut resolved = None;
		for event in events.iter() {
			let event = event.map_err(|e| chain_error(e.to_string()))?;
			if event.pallet_name() == "Jobs" && event.event_name() == "DisputeResolved" {
				let fields = event
					.decode_fields_unchecked_as::<DisputeResolved>()
					.map_err(|e| {
						chain_error(format!(
						"a DisputeResolved event does not decode ({e}): is the CLI as new as the \
						 node?"
					))
					})?;
				if fields.job_id == id {
					resolved = Some(fields);
				}
			}
		}
		if let Some(resolved) = resolved {
			let total = |account: Option<chain::AccountInfo>| {
				account.map_or(0i128, |a| a.free.saturating_add(a.reserved) as i128)
			};
			let key = (AccountId32(who.clone().into()),);
			let before =
				chain::read_at(api, Some(next - 1), "System", "Account", key.clone()).await?;
			let after = chain::read_at(api, Some(next), "System", "Account", key).await?;
			return Ok(Verdict {
				outcome: resolved.outcome,
				confirming: resolved.confirming,
				rejecting: resolved.rejecting,
				block: next,
				change: total(after) - total(before),
			});
		}
		next += 1;
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_saved_challenge_reads_back_and_is_private_to_its_owner() {
		let dir =
			std::env::temp_dir().join(format!("verity-challenge-unit-{}", std::process::id()));
		let who = AccountId::new([7; 32]);
		let path = state_path(&dir, &Hash::repeat_byte(0xab), 42, &who);
		assert!(path
			.file_name()
			.unwrap()
			.to_str()
			.unwrap()
			.starts_with("abababababababab-job42-"));
		let salt = [9u8; 32];
		let saved = Saved {
			salt,
			commitment: pallet_jobs::commitments::challenge_commitment(&who, 42, &salt),
		};
		save(&path, 42, &saved).expect("saved");
		let loaded = load(&path).expect("loaded");
		assert_eq!(
			(loaded.salt, loaded.commitment),
			(saved.salt, saved.commitment)
		);
		#[cfg(unix)]
		{
			use std::os::unix::fs::PermissionsExt;
			let mode = std::fs::metadata(&path).unwrap().permissions().mode();
			assert_eq!(mode & 0o777, 0o600);
		}
		// Never overwritten: a second save of the same challenge fails.
		assert!(save(&path, 42, &saved).is_err());
		std::fs::write(&path, "{\"salt\": \"0x12\"}").unwrap();
		assert!(load(&path).is_err(), "a malformed file is refused");
		let _ = std::fs::remove_dir_all(&dir);
	}
}
