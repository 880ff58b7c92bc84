//! `verity models list|show|propose`: the model registry as the chain holds it, and a proposal
//! computed from a model's files (`propose.rs`).

use clap::Subcommand;
use serde_json::json;
use verity_inference::digest::to_hex;
use verity_primitives::{AccountId, Balance, BlockNumber, ModelId};

use crate::{amount, chain, error::CliError};

/// A registry entry of the Verity runtime.
pub type Entry = pallet_models::ModelEntry<AccountId, Balance, BlockNumber>;

/// `verity models …`.
#[derive(Subcommand)]
pub enum ModelsCommand {
	/// Every model in the registry: id, name, version, kind, status, floor fee, policy.
	List,
	/// One model in full.
	Show {
		/// The model's id or name.
		model: String,
	},
	/// Propose a model to the council: the engine hashes the files in --dir and runs the golden
	/// inputs; what will be proposed is shown, and the deposit held once confirmed (--yes).
	Propose(crate::propose::ProposeArgs),
}

/// Every registry entry, by id.
pub async fn entries(api: &chain::Api) -> Result<Vec<(ModelId, Entry)>, CliError> {
	let next: ModelId = chain::read(api, "Models", "NextModelId", ())
		.await?
		.unwrap_or_default();
	let mut entries = Vec::new();
	for id in 0..next {
		if let Some(entry) = chain::read::<_, Entry>(api, "Models", "Models", (id,)).await? {
			entries.push((id, entry));
		}
	}
	Ok(entries)
}

/// The entry `model` names: an id, or a name (case-insensitive, either the registry's name or the
/// engine catalog's short name, `smollm2` or `minilm`). Of several versions with one name, the
/// newest approved one.
pub async fn resolve(api: &chain::Api, model: &str) -> Result<(ModelId, Entry), CliError> {
	let entries = entries(api).await?;
	if let Ok(id) = model.parse::<ModelId>() {
		return entries
			.into_iter()
			.find(|(entry_id, _)| *entry_id == id)
			.ok_or_else(|| CliError::Usage(format!("no model {id} in the registry")));
	}
	let catalog_hash = verity_inference::ModelId::from_name(model)
		.ok()
		.map(|catalog| catalog.model_hash());
	let approved = |entry: &Entry| entry.status == pallet_models::ModelStatus::Approved;
	entries
		.into_iter()
		.rev()
		.filter(|(_, entry)| {
			String::from_utf8_lossy(&entry.info.name).eq_ignore_ascii_case(model)
				|| catalog_hash == Some(entry.info.model_hash)
		})
		.max_by_key(|(_, entry)| approved(entry))
		.ok_or_else(|| {
			CliError::Usage(format!(
				"no model named '{model}' in the registry (see `verity models list`)"
			))
		})
}

/// One entry as JSON.
pub fn entry_json(id: ModelId, entry: &Entry) -> serde_json::Value {
	let info = &entry.info;
	json!({
		"id": id,
		"name": String::from_utf8_lossy(&info.name),
		"version": String::from_utf8_lossy(&info.version),
		"kind": format!("{:?}", info.kind),
		"status": format!("{:?}", entry.status),
		"min_fee": amount::format(info.min_fee),
		"policy": format!("{:?}", info.policy),
		"model_hash": format!("0x{}", to_hex(info.model_hash.as_bytes())),
		"weights_hash": format!("0x{}", to_hex(info.weights_hash.as_bytes())),
		"tokenizer_hash": format!("0x{}", to_hex(info.tokenizer_hash.as_bytes())),
		"source": String::from_utf8_lossy(&info.source),
		"engine": String::from_utf8_lossy(&info.engine.engine),
		"previous": info.previous,
		"proposer": entry.proposer.to_string(),
	})
}

/// Runs `verity models …`.
pub async fn run(
	command: ModelsCommand,
	chain: &chain::ChainArgs,
	json_output: bool,
) -> Result<(), CliError> {
	match command {
		ModelsCommand::Propose(args) => return crate::propose::run(args, chain, json_output).await,
		ModelsCommand::List => {
			let api = chain.connect().await?;
			let entries = entries(&api).await?;
			if json_output {
				let all: Vec<_> = entries.iter().map(|(id, e)| entry_json(*id, e)).collect();
				println!("{}", serde_json::Value::Array(all));
				return Ok(());
			}
			println!(
				"{:<4} {:<24} {:<8} {:<10} {:<9} {:<14} POLICY",
				"ID", "NAME", "VERSION", "KIND", "STATUS", "MIN FEE"
			);
			for (id, entry) in &entries {
				let info = &entry.info;
				println!(
					"{:<4} {:<24} {:<8} {:<10} {:<9} {:<14} {:?}",
					id,
					String::from_utf8_lossy(&info.name),
					String::from_utf8_lossy(&info.version),
					format!("{:?}", info.kind),
					format!("{:?}", entry.status),
					amount::format(info.min_fee),
					info.policy
				);
			}
		}
		ModelsCommand::Show { model } => {
			let api = chain.connect().await?;
			let (id, entry) = resolve(&api, &model).await?;
			let value = entry_json(id, &entry);
			if json_output {
				println!("{value}");
			} else {
				crate::ask::print_fields(&value);
			}
		}
	}
	Ok(())
}
