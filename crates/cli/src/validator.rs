//! `verity validator keys|status`: joining the validator set.
//!
//! The council admits validators (`validators.addValidator`, two thirds of it); an account must
//! first register session keys. `keys` does that in one step: the node at `--url` generates the
//! keys in its own keystore with the proof that the signer's account owns them
//! (`author_rotateKeysWithOwner`, an unsafe RPC: run it against your validator node's own loopback
//! endpoint, never a public one), and the signer submits `session.setKeys(keys, proof)` (which
//! holds a deposit until `session.purgeKeys`). `status` says where an account stands.

use clap::Subcommand;
use codec::Decode;
use serde_json::json;
use subxt::{dynamic::Value, rpcs::rpc_params, utils::AccountId32};
use verity_inference::digest::to_hex;
use verity_primitives::AccountId;

use crate::{chain, error::CliError};

/// `verity validator …`.
#[derive(Subcommand)]
pub enum ValidatorCommand {
	/// Generate session keys on the node at --url and register them for the signer's account
	/// (`session.setKeys` with their ownership proof).
	Keys,
	/// Where an account stands: keys registered, in the set the council chose, queued for the next
	/// session, active, disabled. Default: the signer's account.
	Status {
		/// The account (SS58).
		account: Option<String>,
	},
}

/// The runtime's `SessionKeys` as SCALE lays them out: BABE (sr25519) then GRANDPA (ed25519).
#[derive(Decode, Clone, Copy, PartialEq, Eq)]
struct SessionKeys {
	babe: [u8; 32],
	grandpa: [u8; 32],
}

impl SessionKeys {
	fn json(&self) -> serde_json::Value {
		json!({
			"babe": format!("0x{}", to_hex(&self.babe)),
			"grandpa": format!("0x{}", to_hex(&self.grandpa)),
		})
	}
}

fn unhex(text: &str) -> Result<Vec<u8>, CliError> {
	crate::hex::decode(text)
		.ok_or_else(|| CliError::Chain("the node answered malformed hex".into()))
}

/// Runs a `verity validator` command.
pub async fn run(
	command: ValidatorCommand,
	chain: &chain::ChainArgs,
	json_output: bool,
) -> Result<(), CliError> {
	match command {
		ValidatorCommand::Keys => keys(chain, json_output).await,
		ValidatorCommand::Status { account } => {
			let account = match account {
				Some(text) => text.parse::<AccountId>().map_err(|_| {
					CliError::Usage(format!("'{text}' is not an SS58 account address"))
				})?,
				None => AccountId::new(chain.signer()?.public_key().0),
			};
			status(chain, &account, json_output).await
		}
	}
}

async fn keys(chain: &chain::ChainArgs, json_output: bool) -> Result<(), CliError> {
	let signer = chain.signer()?;
	let account = AccountId::new(signer.public_key().0);
	let api = chain.connect().await?;
	let rpc = &api.rpc;
	let owner = format!("0x{}", to_hex(account.as_ref()));
	let generated: serde_json::Value = rpc
		.request("author_rotateKeysWithOwner", rpc_params![owner])
		.await
		.map_err(|e| {
			CliError::Chain(format!(
				"the node did not generate keys ({e}); author_rotateKeysWithOwner is an unsafe \
				 RPC: run this against your validator node's own endpoint \
				 (ws://127.0.0.1:9944 on that machine, no --rpc-external)"
			))
		})?;
	let bytes = unhex(generated["keys"].as_str().unwrap_or_default())?;
	let keys = SessionKeys::decode(&mut &bytes[..])
		.ok()
		.filter(|_| bytes.len() == 64)
		.ok_or_else(|| {
			CliError::Chain(
				"the node's session keys are not BABE + GRANDPA: is it a Verity node?".into(),
			)
		})?;
	let proof =
		unhex(generated["proof"].as_str().ok_or_else(|| {
			CliError::Chain("the node gave no ownership proof for the keys".into())
		})?)?;
	let call = chain::call(
		"Session",
		"set_keys",
		vec![
			Value::named_composite([
				("babe", Value::from_bytes(keys.babe)),
				("grandpa", Value::from_bytes(keys.grandpa)),
			]),
			Value::from_bytes(&proof),
		],
	);
	chain::submit(&api, &call, &signer).await?;
	if json_output {
		println!(
			"{}",
			json!({ "account": account.to_string(), "keys": keys.json(), "registered": true })
		);
	} else {
		println!("account  {account}");
		println!("babe     0x{}", to_hex(&keys.babe));
		println!("grandpa  0x{}", to_hex(&keys.grandpa));
		println!(
			"registered (session.setKeys). Next: a two-thirds council motion \
			 validators.addValidator({account}); it takes effect two sessions later."
		);
	}
	Ok(())
}

async fn status(
	chain: &chain::ChainArgs,
	account: &AccountId,
	json_output: bool,
) -> Result<(), CliError> {
	let api = chain.connect().await?;
	let who = AccountId32(*account.as_ref());
	let session: u32 = chain::read(&api, "Session", "CurrentIndex", ())
		.await?
		.unwrap_or_default();
	let registered: Option<SessionKeys> =
		chain::read(&api, "Session", "NextKeys", (who.clone(),)).await?;
	let planned: Vec<AccountId> = chain::read(&api, "Validators", "Validators", ())
		.await?
		.unwrap_or_default();
	let active: Vec<AccountId> = chain::read(&api, "Session", "Validators", ())
		.await?
		.unwrap_or_default();
	let queued: Vec<(AccountId, SessionKeys)> = chain::read(&api, "Session", "QueuedKeys", ())
		.await?
		.unwrap_or_default();
	// (index in the active set, severity as a `Perbill`'s parts).
	let disabled: Vec<(u32, u32)> = chain::read(&api, "Session", "DisabledValidators", ())
		.await?
		.unwrap_or_default();
	let index = active.iter().position(|v| v == account);
	let is_disabled = index.is_some_and(|i| disabled.iter().any(|(d, _)| *d as usize == i));
	let in_set = planned.contains(account);
	let queued_keys = queued
		.iter()
		.find(|(v, _)| v == account)
		.map(|(_, keys)| *keys);
	if json_output {
		println!(
			"{}",
			json!({
				"account": account.to_string(),
				"session": session,
				"keys": registered.map(|k| k.json()),
				"in_set": in_set,
				"queued": queued_keys.map(|k| k.json()),
				"active": index.is_some(),
				"disabled": is_disabled,
			})
		);
		return Ok(());
	}
	let yes_no = |b: bool| if b { "yes" } else { "no" };
	println!("account   {account}");
	println!("session   {session}");
	println!(
		"keys      {}",
		registered.map_or(
			"none registered (verity validator keys)".into(),
			|k| format!(
				"babe 0x{} grandpa 0x{}",
				to_hex(&k.babe),
				to_hex(&k.grandpa)
			)
		)
	);
	println!(
		"in set    {} (chosen by the council; in force two sessions after a change)",
		yes_no(in_set)
	);
	println!(
		"queued    {} (a validator of session {})",
		yes_no(queued_keys.is_some()),
		session + 1
	);
	println!(
		"active    {} (a validator of session {session})",
		yes_no(index.is_some())
	);
	println!("disabled  {}", yes_no(is_disabled));
	Ok(())
}
