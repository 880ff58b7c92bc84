//! `verity workers [--model M]` and `verity disputes`: the market at a glance, as tables (or
//! `--json`) read from the finalized head.

use clap::Args;
use serde_json::json;
use verity_inference::digest::to_hex;
use verity_primitives::{AccountId, Balance};

use crate::{
	amount, chain,
	error::CliError,
	job, models,
	worker::{self, Ledger, Stats, WorkerInfo},
};

/// A jury of the Verity runtime (its members as a plain list).
type Jury = pallet_jobs::Jury<Vec<(AccountId, pallet_jobs::JurySeat)>, Balance>;

/// Arguments of `verity workers`.
#[derive(Args)]
pub struct WorkersArgs {
	/// Only the workers of this model (id or name).
	#[arg(long)]
	model: Option<String>,
}

/// `verity workers`: every registered worker (of one model), heaviest bond first.
pub async fn workers(
	args: WorkersArgs,
	chain: &chain::ChainArgs,
	json_output: bool,
) -> Result<(), CliError> {
	let api = chain.connect().await?;
	let model = match &args.model {
		Some(model) => Some(models::resolve(&api, model).await?.0),
		None => None,
	};
	let mut rows = Vec::new();
	for (account, info) in chain::read_account_map::<WorkerInfo>(&api, "Workers", "Workers").await?
	{
		if model.is_some_and(|model| !info.models.iter().any(|m| m.model == model)) {
			continue;
		}
		let key = (subxt::utils::AccountId32(account.clone().into()),);
		let ledger: Option<Ledger> = chain::read(&api, "Workers", "Ledgers", key.clone()).await?;
		let stats: Stats = chain::read(&api, "Workers", "Stats", key)
			.await?
			.unwrap_or_default();
		rows.push((account, info, ledger, stats));
	}
	rows.sort_by_key(|(account, _, ledger, _)| {
		(
			std::cmp::Reverse(ledger.as_ref().map_or(0, |l| l.bonded)),
			account.clone(),
		)
	});
	if json_output {
		let all: Vec<_> = rows
			.iter()
			.map(|(account, info, ledger, stats)| {
				worker::record_json(account, Some(info), ledger.as_ref(), stats)
			})
			.collect();
		println!("{}", serde_json::Value::Array(all));
		return Ok(());
	}
	println!(
		"{:<48} {:<7} {:>16} {:>16} {:<16} {:>6} {:>6} {:>14} {:>8}",
		"ACCOUNT",
		"STATUS",
		"BONDED",
		"RESERVED",
		"MODELS busy/cap",
		"JOBS",
		"FAULTS",
		"SLASHED",
		"ACTIVE"
	);
	for (account, info, ledger, stats) in &rows {
		let served: Vec<String> = info
			.models
			.iter()
			.map(|m| format!("{}:{}/{}", m.model, m.busy, m.capacity))
			.collect();
		println!(
			"{:<48} {:<7} {:>16} {:>16} {:<16} {:>6} {:>6} {:>14} {:>8}",
			account.to_string(),
			format!("{:?}", info.status),
			amount::format(ledger.as_ref().map_or(0, |l| l.bonded)),
			amount::format(ledger.as_ref().map_or(0, |l| l.reserved)),
			served.join(","),
			stats.jobs_done,
			stats.faults.total(),
			amount::format(stats.slashed_total),
			stats.last_active
		);
	}
	Ok(())
}

/// `verity disputes`: every job in dispute, its accused worker, who disputed it, and its jury.
pub async fn disputes(chain: &chain::ChainArgs, json_output: bool) -> Result<(), CliError> {
	let api = chain.connect().await?;
	let mut all = Vec::new();
	for (id, job) in chain::read_map::<job::Job>(&api, "Jobs", "Jobs").await? {
		if !matches!(job.status, pallet_jobs::JobStatus::Disputed { .. }) {
			continue;
		}
		let jury: Option<Jury> = chain::read(&api, "Jobs", "Juries", (id,)).await?;
		all.push(dispute_json(id, &job, jury.as_ref()));
	}
	if json_output {
		println!("{}", serde_json::Value::Array(all));
		return Ok(());
	}
	if all.is_empty() {
		println!("no job is in dispute");
	}
	for dispute in &all {
		println!(
			"job {} (model {}): {} of {}, round {}, {}",
			dispute["id"],
			dispute["model"],
			dispute["by"].as_str().unwrap_or_default(),
			dispute["worker"].as_str().unwrap_or_default(),
			dispute["round"],
			dispute["stage"].as_str().unwrap_or_default(),
		);
		for juror in dispute["jury"].as_array().into_iter().flatten() {
			println!(
				"  juror {} ×{} {}",
				juror["account"].as_str().unwrap_or_default(),
				juror["seats"],
				juror["vote"].as_str().unwrap_or_default()
			);
		}
	}
	Ok(())
}

/// A job in dispute as JSON (`Null` for a job that is not).
fn dispute_json(id: u64, job: &job::Job, jury: Option<&Jury>) -> serde_json::Value {
	let pallet_jobs::JobStatus::Disputed {
		worker,
		challenger,
		commit_until,
		resolve_at,
		by_council,
		jury_pending,
		round,
	} = &job.status
	else {
		return serde_json::Value::Null;
	};
	let stage = if *by_council {
		format!("the council rules by block {resolve_at}")
	} else if *jury_pending {
		format!("its jury is drawn at block {resolve_at} or once the beacon is ready")
	} else {
		format!("votes committed until block {commit_until}, resolved at block {resolve_at}")
	};
	let jurors: Vec<_> = jury
		.map(|jury| {
			jury.members
				.iter()
				.map(|(juror, seat)| {
					let vote = match (&seat.commitment, &seat.vote) {
						(_, Some(vote)) => format!(
							"revealed: {} (0x{})",
							if vote.confirms { "confirms" } else { "rejects" },
							to_hex(vote.output_hash.as_bytes())
						),
						(Some(_), None) => "committed".to_string(),
						(None, None) => "not yet committed".to_string(),
					};
					json!({ "account": juror.to_string(), "seats": seat.seats, "vote": vote })
				})
				.collect()
		})
		.unwrap_or_default();
	json!({
		"id": id,
		"model": job.model,
		"worker": worker.to_string(),
		"by": challenger.as_ref().map_or("an audit".to_string(), |c| format!("challenge by {c}")),
		"challenger": challenger.as_ref().map(|c| c.to_string()),
		"round": round,
		"by_council": by_council,
		"jury_pending": jury_pending,
		"commit_until": commit_until,
		"resolve_at": resolve_at,
		"stage": stage,
		"seat_stake": jury.map(|jury| amount::format(jury.seat_stake)),
		"jury": jurors,
	})
}
