//! `verity job challenge ID [--resume]`: dispute a result in the two steps the chain asks for. The
//! first step commits a hash that binds the account, the job and a secret salt; the second reveals
//! it in a later block. The salt is saved before anything is sent, so a crash between the two
//! steps loses no bond: `--resume` reveals what was committed.

use std::{
	io::Read,
	path::{Path, PathBuf},
	process::ExitCode,
};

use clap::Args;
use serde_json::json;
use subxt::dynamic::Value;
use verity_inference::digest::to_hex;
use verity_primitives::{receipt::JobId, AccountId, Hash};

use crate::{chain, error::CliError, job};

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
}

/// A challenge in progress, as saved between its two steps.
struct Saved {
	salt: [u8; 32],
	commitment: Hash,
}

fn unhex32(text: &str) -> Option<[u8; 32]> {
	let text = text.strip_prefix("0x")?;
	if text.len() != 64 {
		return None;
	}
	let mut out = [0u8; 32];
	for (i, byte) in out.iter_mut().enumerate() {
		*byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
	}
	Some(out)
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
	let field = |name: &str| value[name].as_str().and_then(unhex32);
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
	let mut options = std::fs::OpenOptions::new();
	options.write(true).create_new(true);
	#[cfg(unix)]
	std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
	let mut file = options.open(path)?;
	std::io::Write::write_all(&mut file, text.as_bytes())?;
	file.sync_all()?;
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
	let dir = match args.state_dir {
		Some(dir) => dir,
		None => verity_inference::default_models_dir()
			.parent()
			.map(|cache| cache.join("challenges"))
			.ok_or_else(|| CliError::Usage("no cache folder; give --state-dir".into()))?,
	};
	let path = state_path(&dir, &genesis, id, &who);
	let saved = if args.resume {
		if !path.exists() {
			return Err(CliError::Usage(format!(
				"no challenge of job {id} by {who} to resume ({} does not exist)",
				path.display()
			)));
		}
		load(&path)?
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
		let salt = fresh_salt()?;
		let commitment = pallet_jobs::commitments::challenge_commitment(&who, id, &salt);
		let saved = Saved { salt, commitment };
		save(&path, id, &saved)?;
		let commit = chain::call(
			"Jobs",
			"commit_challenge",
			vec![Value::from_bytes(commitment.as_bytes())],
		);
		chain::submit(&api, &commit, &signer).await?;
		if !json_output {
			println!(
				"committed 0x{} (bond held; salt saved in {})",
				to_hex(commitment.as_bytes()),
				path.display()
			);
		}
		saved
	};
	// The commitment's block is finalized (submit waits for it), so this reveal lands later.
	let reveal = chain::call(
		"Jobs",
		"reveal_challenge",
		vec![Value::u128(id.into()), Value::from_bytes(saved.salt)],
	);
	let events = match chain::submit(&api, &reveal, &signer).await {
		Err(CliError::Refused { error, .. }) if error == "Jobs::UnknownCommitment" => {
			let _ = std::fs::remove_file(&path);
			return Err(CliError::Usage(format!(
				"the commitment 0x{} is not on chain: already revealed, or expired and its bond \
				 forfeited (see `verity job show {id}`)",
				to_hex(saved.commitment.as_bytes())
			)));
		}
		other => other?,
	};
	// Revealed: the salt is no longer needed.
	let _ = std::fs::remove_file(&path);
	let withdrawn = events
		.iter()
		.filter_map(Result::ok)
		.any(|event| event.pallet_name() == "Jobs" && event.event_name() == "ChallengeWithdrawn");
	let job = job::job(&api, id).await?;
	let jury_at = match job.status {
		pallet_jobs::JobStatus::Disputed {
			resolve_at,
			jury_pending: true,
			..
		} => Some(resolve_at),
		_ => None,
	};
	let outcome = if withdrawn { "Withdrawn" } else { "Revealed" };
	if json_output {
		println!(
			"{}",
			json!({
				"id": id,
				"challenge": outcome,
				"commitment": format!("0x{}", to_hex(saved.commitment.as_bytes())),
				"status": job::stage(&job.status),
				"jury_drawn_at": jury_at,
			})
		);
	} else if withdrawn {
		println!("job {id} was already disputed or settled: the bond came back");
	} else {
		match jury_at {
			Some(at) => println!("job {id} is disputed: its jury is drawn in block {at}"),
			None => println!("job {id} is disputed ({})", job::stage(&job.status)),
		}
	}
	Ok(ExitCode::SUCCESS)
}
