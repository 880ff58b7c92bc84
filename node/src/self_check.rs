//! The worker node checks itself: for every worker account whose key (`vwrk`) is in the
//! keystore, is it bonded, registered, registered for the models this node loads, and is its
//! registered receipt key (`vrcp`) in the keystore too? Each finalized block the state is read
//! again; what is missing is logged (with the `verity worker` command that fixes it) when the
//! answer changes, so an operator sees it at start and sees it resolve.

use std::{collections::BTreeMap, sync::Arc};

use codec::Decode;
use futures::StreamExt;
use sc_client_api::{BlockchainEvents, StorageProvider};
use sp_core::{crypto::Ss58Codec, storage::StorageKey};
use sp_keystore::KeystorePtr;
use verity_inference::{digest::to_hex, ModelId};
use verity_primitives::{
	keys::{RECEIPT_KEY_TYPE, WORKER_KEY_TYPE},
	token::UNIT,
	AccountId, Balance,
};
use verity_runtime::{opaque::Block, Runtime};

use crate::service::{FullBackend, FullClient};

const LOG_TARGET: &str = "worker";

/// One worker account's standing, as lines to log: problems (`Err`) and the all-clear (`Ok`).
type Report = Result<String, Vec<String>>;

/// Starts the check as a task of the node.
pub fn spawn(
	task_manager: &sc_service::TaskManager,
	client: Arc<FullClient>,
	keystore: KeystorePtr,
	models: Vec<ModelId>,
) {
	task_manager
		.spawn_handle()
		.spawn("worker-self-check", None, async move {
			let mut finalized = client.finality_notification_stream();
			let mut last: BTreeMap<AccountId, Report> = BTreeMap::new();
			let mut check = |hash| {
				let accounts: Vec<AccountId> = keystore
					.sr25519_public_keys(WORKER_KEY_TYPE)
					.into_iter()
					.map(|key| AccountId::new(key.0))
					.collect();
				for account in accounts {
					let report = standing(&client, &keystore, hash, &account, &models);
					if last.get(&account) != Some(&report) {
						log_report(&account, &report);
						last.insert(account, report);
					}
				}
			};
			check(client.chain_info().finalized_hash);
			while let Some(notification) = finalized.next().await {
				check(notification.hash);
			}
		});
}

fn log_report(account: &AccountId, report: &Report) {
	let who = account.to_ss58check();
	match report {
		Ok(fine) => log::info!(target: LOG_TARGET, "👷 worker {who}: {fine}"),
		Err(problems) => {
			for problem in problems {
				log::warn!(target: LOG_TARGET, "👷 worker {who}: {problem}");
			}
		}
	}
}

/// An amount in VRT, as the CLI writes it (`2000VRT`, `0.5VRT`).
fn vrt(planck: Balance) -> String {
	let (whole, fraction) = (planck / UNIT, planck % UNIT);
	if fraction == 0 {
		format!("{whole}VRT")
	} else {
		let digits = format!("{fraction:012}");
		format!("{whole}.{}VRT", digits.trim_end_matches('0'))
	}
}

/// Reads `T` at `key` in block `hash`; `None` if absent or unreadable.
fn read<T: Decode>(
	client: &FullClient,
	hash: <Block as sp_runtime::traits::Block>::Hash,
	key: Vec<u8>,
) -> Option<T> {
	let data = StorageProvider::<Block, FullBackend>::storage(client, hash, &StorageKey(key))
		.ok()
		.flatten()?;
	T::decode(&mut &data.0[..]).ok()
}

/// What account `account` lacks to serve `models` from this node, at block `hash`.
fn standing(
	client: &FullClient,
	keystore: &KeystorePtr,
	hash: <Block as sp_runtime::traits::Block>::Hash,
	account: &AccountId,
	models: &[ModelId],
) -> Report {
	let ledger: Option<pallet_workers::LedgerOf<Runtime>> = read(
		client,
		hash,
		pallet_workers::Ledgers::<Runtime>::hashed_key_for(account),
	);
	let info: Option<pallet_workers::WorkerInfoOf<Runtime>> = read(
		client,
		hash,
		pallet_workers::Workers::<Runtime>::hashed_key_for(account),
	);
	let min: Balance = <Runtime as pallet_workers::Config>::MinWorkerBond::get();
	let bonded = ledger.as_ref().map_or(0, |l| l.bonded);
	let mut problems = Vec::new();
	if bonded < min {
		problems.push(format!(
			"bonded {}, under the minimum of {}: fund the account and run `verity worker bond \
			 AMOUNT` with its secret",
			vrt(bonded),
			vrt(min)
		));
	}
	// The registry's ids of the models this node loads.
	let next: u32 = read(
		client,
		hash,
		pallet_models::NextModelId::<Runtime>::hashed_key().to_vec(),
	)
	.unwrap_or_default();
	// Approved models this node loads (a worker should be registered for each), and every
	// model it loads whatever its status (a retired one still finishes its jobs in flight).
	let mut loaded = Vec::new();
	let mut loaded_any = Vec::new();
	for id in 0..next {
		let entry: Option<pallet_models::EntryOf<Runtime>> = read(
			client,
			hash,
			pallet_models::Models::<Runtime>::hashed_key_for(id),
		);
		if let Some(entry) = entry {
			if let Some(model) = models
				.iter()
				.find(|model| model.model_hash().0 == entry.info.model_hash.0)
			{
				loaded_any.push(id);
				if entry.status == pallet_models::ModelStatus::Approved {
					loaded.push((id, model.name()));
				}
			}
		}
	}
	let Some(info) = info else {
		let offers: Vec<String> = loaded.iter().map(|(id, _)| format!("{id}:1")).collect();
		problems.push(format!(
			"not registered: run `verity worker register --models {}` with its secret (the \
			 capacity to declare is logged above)",
			if offers.is_empty() {
				"MODEL:CAPACITY".to_string()
			} else {
				offers.join(",")
			}
		));
		return Err(problems);
	};
	let missing: Vec<String> = loaded
		.iter()
		.filter(|(id, _)| !info.models.iter().any(|served| served.model == *id))
		.map(|(id, name)| format!("{name} ({id})"))
		.collect();
	if !missing.is_empty() {
		problems.push(format!(
			"this node loads {} but the worker is not registered for it: `verity worker models \
			 --models …` adds it",
			missing.join(", ")
		));
	}
	let unloaded: Vec<String> = info
		.models
		.iter()
		.filter(|served| !loaded_any.contains(&served.model))
		.map(|served| served.model.to_string())
		.collect();
	if !unloaded.is_empty() {
		problems.push(format!(
			"registered for model {} that this node does not load: its jobs would miss their \
			 deadlines (load it with --worker-models, or drop it with `verity worker models`)",
			unloaded.join(", ")
		));
	}
	let receipt = info.receipt_key;
	if !keystore.has_keys(&[(receipt.0.to_vec(), RECEIPT_KEY_TYPE)]) {
		problems.push(format!(
			"its registered receipt key 0x{} is not in the keystore: insert it with \
			 `verity-node key insert --key-type vrcp --scheme ed25519`, or register again with \
			 the key this node holds",
			to_hex(&receipt.0)
		));
	}
	if info.status != pallet_workers::WorkerStatus::Active {
		problems.push("paused: it is drawn for no job until `verity worker resume`".into());
	}
	if problems.is_empty() {
		let served: Vec<String> = loaded
			.iter()
			.map(|(id, name)| format!("{name} ({id})"))
			.collect();
		Ok(format!(
			"ready: bonded {}, registered for {}, receipt key in the keystore",
			vrt(bonded),
			served.join(", ")
		))
	} else {
		Err(problems)
	}
}

#[cfg(test)]
mod tests {
	use super::{vrt, UNIT};

	#[test]
	fn amounts_are_written_in_vrt_as_the_cli_writes_them() {
		assert_eq!(vrt(2_000 * UNIT), "2000VRT");
		assert_eq!(vrt(0), "0VRT");
		assert_eq!(vrt(UNIT / 2), "0.5VRT");
		assert_eq!(vrt(UNIT + 1), "1.000000000001VRT");
	}
}
