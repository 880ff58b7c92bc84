//! `verity council motions|propose|vote|close`: the council's motions on the model registry (and
//! a view of every open motion).
//!
//! A registry decision (`models.approveModel`, `rejectModel`, `retireModel`) needs two thirds of
//! the council: a member proposes it with a threshold (default: two thirds of the members, rounded
//! up), members vote, and anyone closes it once the threshold is reached (or the motion's time is
//! up), which dispatches the call. `close` asks the runtime for the call's weight
//! (`TransactionPaymentCallApi_query_call_info`) so that its bound is exact.

use clap::{Subcommand, ValueEnum};
use codec::Decode;
use serde_json::json;
use subxt::dynamic::{self, Value};
use verity_inference::digest::to_hex;
use verity_primitives::{AccountId, BlockNumber, ModelId};

use crate::{chain, error::CliError, models};

/// `verity council …`.
#[derive(Subcommand)]
pub enum CouncilCommand {
	/// Every open motion: index, hash, call, votes, threshold, end.
	Motions,
	/// Propose a registry decision (a council member only).
	Propose {
		/// What to decide.
		action: Action,
		/// The model (id or name).
		model: String,
		/// Votes needed (default: two thirds of the members, rounded up).
		#[arg(long)]
		threshold: Option<u32>,
	},
	/// Vote on a motion (a council member only).
	Vote {
		/// The motion: its index or its hash (0x…).
		motion: String,
		/// aye or nay.
		vote: Ballot,
	},
	/// Close a motion: it is dispatched if approved, dropped if not (anyone may close).
	Close {
		/// The motion: its index or its hash (0x…).
		motion: String,
	},
}

/// A registry decision.
#[derive(Clone, Copy, ValueEnum)]
pub enum Action {
	/// `models.approveModel`: the model may take jobs.
	ApproveModel,
	/// `models.rejectModel`: a proposal turned down (its deposit is slashed).
	RejectModel,
	/// `models.retireModel`: no new jobs; jobs in flight finish.
	RetireModel,
}

impl Action {
	fn call_name(self) -> &'static str {
		match self {
			Action::ApproveModel => "approve_model",
			Action::RejectModel => "reject_model",
			Action::RetireModel => "retire_model",
		}
	}
}

/// A vote.
#[derive(Clone, Copy, ValueEnum)]
pub enum Ballot {
	/// For.
	Aye,
	/// Against.
	Nay,
}

/// `pallet_collective::Votes` of the Verity runtime.
#[derive(Decode)]
struct Votes {
	index: u32,
	threshold: u32,
	ayes: Vec<AccountId>,
	nays: Vec<AccountId>,
	end: BlockNumber,
}

/// An open motion.
struct Motion {
	hash: [u8; 32],
	votes: Votes,
	/// The SCALE-encoded call.
	call: Vec<u8>,
	/// The call, decoded with the metadata, for people.
	described: String,
}

async fn motions(api: &chain::Api) -> Result<Vec<Motion>, CliError> {
	let hashes: Vec<[u8; 32]> = chain::read(api, "Council", "Proposals", ())
		.await?
		.unwrap_or_default();
	let at = api
		.at_current_block()
		.await
		.map_err(|e| CliError::Chain(e.to_string()))?;
	let mut all = Vec::new();
	for hash in hashes {
		let Some(votes) = chain::read::<_, Votes>(api, "Council", "Voting", (hash,)).await? else {
			continue;
		};
		let proposal = at
			.storage()
			.try_fetch(
				dynamic::storage::<([u8; 32],), Value>("Council", "ProposalOf"),
				(hash,),
			)
			.await
			.map_err(|e| CliError::Chain(e.to_string()))?;
		let (call, described) = match proposal {
			Some(proposal) => {
				let described = proposal
					.decode()
					.map(|value: Value| value.to_string())
					.unwrap_or_else(|_| "(undecodable)".into());
				(proposal.bytes().to_vec(), described)
			}
			None => (Vec::new(), "(no preimage)".into()),
		};
		all.push(Motion {
			hash,
			votes,
			call,
			described,
		});
	}
	Ok(all)
}

/// The motion `text` names: its index, or its hash.
async fn find(api: &chain::Api, text: &str) -> Result<Motion, CliError> {
	let all = motions(api).await?;
	let found = match text.parse::<u32>() {
		Ok(index) => all.into_iter().find(|m| m.votes.index == index),
		Err(_) => {
			let wanted = text.strip_prefix("0x").unwrap_or(text).to_ascii_lowercase();
			all.into_iter().find(|m| to_hex(&m.hash) == wanted)
		}
	};
	found.ok_or_else(|| {
		CliError::Usage(format!(
			"no open motion '{text}' (see `verity council motions`)"
		))
	})
}

fn motion_json(motion: &Motion) -> serde_json::Value {
	json!({
		"index": motion.votes.index,
		"hash": format!("0x{}", to_hex(&motion.hash)),
		"call": motion.described,
		"threshold": motion.votes.threshold,
		"ayes": motion.votes.ayes.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
		"nays": motion.votes.nays.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
		"end": motion.votes.end,
	})
}

/// Runs `verity council …`.
pub async fn run(
	command: CouncilCommand,
	chain: &chain::ChainArgs,
	json_output: bool,
) -> Result<(), CliError> {
	match command {
		CouncilCommand::Motions => {
			let api = chain.connect().await?;
			let all = motions(&api).await?;
			if json_output {
				let list: Vec<_> = all.iter().map(motion_json).collect();
				println!("{}", serde_json::Value::Array(list));
				return Ok(());
			}
			if all.is_empty() {
				println!("no open motion");
			}
			for motion in &all {
				println!(
					"#{} 0x{} ayes {}/{} nays {} until block {}\n  {}",
					motion.votes.index,
					to_hex(&motion.hash),
					motion.votes.ayes.len(),
					motion.votes.threshold,
					motion.votes.nays.len(),
					motion.votes.end,
					motion.described
				);
			}
			Ok(())
		}
		CouncilCommand::Propose {
			action,
			model,
			threshold,
		} => {
			let signer = chain.signer()?;
			let api = chain.connect().await?;
			let (id, _): (ModelId, _) = models::resolve(&api, &model).await?;
			let members: Vec<AccountId> = chain::read(&api, "Council", "Members", ())
				.await?
				.unwrap_or_default();
			let who = AccountId::new(signer.public_key().0);
			if !members.contains(&who) {
				return Err(CliError::Usage(format!(
					"{who} is not a council member: only members propose (nothing was sent)"
				)));
			}
			let seats = members.len() as u32;
			let threshold = threshold.unwrap_or((seats * 2).div_ceil(3));
			// A threshold of one dispatches at once with the proposer alone as the origin, which
			// no registry decision accepts.
			if !(2..=seats).contains(&threshold) {
				return Err(CliError::Usage(format!(
					"a threshold of {threshold}: it must be from 2 to the {seats} members (registry \
					 decisions need two thirds; nothing was sent)"
				)));
			}
			let inner = dynamic::tx("Models", action.call_name(), vec![Value::u128(id.into())]);
			let length = api
				.at_current_block()
				.await
				.map_err(|e| CliError::Chain(e.to_string()))?
				.transactions()
				.call_data(&inner)
				.map_err(|e| CliError::Chain(e.to_string()))?
				.len();
			let call = Value::unnamed_variant(
				"Models",
				[Value::named_variant(
					action.call_name(),
					[("id", Value::u128(id.into()))],
				)],
			);
			let propose = chain::call(
				"Council",
				"propose",
				vec![
					Value::u128(threshold.into()),
					call,
					Value::u128(length as u128),
				],
			);
			let events = chain::submit(&api, &propose, &signer).await?;
			let proposed = chain::event::<Proposed>(&events, "Council", "Proposed");
			match proposed {
				Some(proposed) => {
					let text = format!(
						"motion #{} 0x{}: {} model {id}, {threshold} votes needed",
						proposed.proposal_index,
						to_hex(&proposed.proposal_hash),
						action.call_name()
					);
					if json_output {
						println!(
							"{}",
							json!({
								"index": proposed.proposal_index,
								"hash": format!("0x{}", to_hex(&proposed.proposal_hash)),
								"threshold": threshold,
							})
						);
					} else {
						println!("{text}");
					}
				}
				None => {
					return Err(CliError::Chain(
						"the proposal was included but no Council::Proposed event was found".into(),
					))
				}
			}
			Ok(())
		}
		CouncilCommand::Vote { motion, vote } => {
			let signer = chain.signer()?;
			let api = chain.connect().await?;
			let motion = find(&api, &motion).await?;
			let aye = matches!(vote, Ballot::Aye);
			let call = chain::call(
				"Council",
				"vote",
				vec![
					Value::from_bytes(motion.hash),
					Value::u128(motion.votes.index.into()),
					Value::bool(aye),
				],
			);
			chain::submit(&api, &call, &signer).await?;
			let done = format!(
				"voted {} on motion #{}",
				if aye { "aye" } else { "nay" },
				motion.votes.index
			);
			if json_output {
				println!("{}", json!({ "done": done }));
			} else {
				println!("{done}");
			}
			Ok(())
		}
		CouncilCommand::Close { motion } => {
			let signer = chain.signer()?;
			let api = chain.connect().await?;
			let motion = find(&api, &motion).await?;
			let (ref_time, proof_size) = call_weight(&api, &motion.call).await?;
			let close = chain::call(
				"Council",
				"close",
				vec![
					Value::from_bytes(motion.hash),
					Value::u128(motion.votes.index.into()),
					Value::named_composite([
						("ref_time", Value::u128(ref_time.into())),
						("proof_size", Value::u128(proof_size.into())),
					]),
					Value::u128(motion.call.len() as u128),
				],
			);
			let events = chain::submit(&api, &close, &signer).await?;
			let names: Vec<String> = events
				.iter()
				.filter_map(Result::ok)
				.filter(|e| e.pallet_name() == "Council")
				.map(|e| e.event_name().to_string())
				.collect();
			let approved = names.iter().any(|n| n == "Approved");
			let executed_ok = events
				.iter()
				.filter_map(Result::ok)
				.filter(|e| e.pallet_name() == "Council" && e.event_name() == "Executed")
				.filter_map(|e| e.decode_fields_unchecked_as::<Executed>().ok())
				.map(|executed| matches!(executed.result, ExecutedResult::Ok(_)))
				.next();
			let outcome = match (approved, executed_ok) {
				(true, Some(true)) => "approved and executed",
				(true, Some(false)) => "approved, but the call failed",
				(true, None) => "approved",
				(false, _) => "disapproved",
			};
			if json_output {
				println!(
					"{}",
					json!({ "index": motion.votes.index, "outcome": outcome, "call": motion.described })
				);
			} else {
				println!(
					"motion #{} {outcome}: {}",
					motion.votes.index, motion.described
				);
			}
			if executed_ok == Some(false) {
				return Err(CliError::Chain(format!(
					"motion #{} was approved but its call failed",
					motion.votes.index
				)));
			}
			Ok(())
		}
	}
}

/// `Council::Proposed`: the motion's index and hash.
#[derive(subxt::ext::scale_decode::DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct Proposed {
	proposal_index: u32,
	proposal_hash: [u8; 32],
}

/// `Council::Executed`: whether the motion's call succeeded.
#[derive(subxt::ext::scale_decode::DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct Executed {
	result: ExecutedResult,
}

/// The `Result<(), DispatchError>` of `Council::Executed`, by variant.
#[allow(dead_code)]
#[derive(subxt::ext::scale_decode::DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
enum ExecutedResult {
	Ok(()),
	Err(Value),
}

/// The weight of the SCALE-encoded `call`, as the runtime computes it.
async fn call_weight(api: &chain::Api, call: &[u8]) -> Result<(u64, u64), CliError> {
	let info = chain::call_info(api, call, call.len()).await?;
	Ok((info.ref_time, info.proof_size))
}
