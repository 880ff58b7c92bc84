//! A job's records for `verity job verify` and `verity job challenge`: from the finalized state
//! while the job is kept there, and from history once it is pruned (or with `--archive`).
//!
//! A settled job is removed from state `result_retention` blocks after it settles. The blocks
//! stay, and an archive node (`verity-node --state-pruning archive`) keeps every block's state
//! too; a default node keeps the state of the last 256 blocks only. The CLI finds a pruned job
//! in three steps, each a handful of storage reads:
//!
//! 1. **The block it was submitted in**: `Jobs::NextJobId` only grows, and job `id` was
//!    submitted in the first block whose `NextJobId` exceeds `id`: a binary search over block
//!    numbers (about 2·log₂(head) reads).
//! 2. **Its input**: the `Jobs::submit_job` extrinsic of that block whose `JobSubmitted` event
//!    names the job; its `input` field, checked against the job's recorded input hash.
//! 3. **Its record and result**: the job is in state from that block until it is pruned, so a
//!    second binary search finds the last block that holds it; the job, its result, the model's
//!    entry and the worker's record are read at that block (the worker may have left since).
//!
//! On a node without the old state the search stops with an error that says to ask an archive
//! node. A job submitted through a wrapping call (`sudo.sudoAs`, a batch) is not found in step 2:
//! only a `Jobs::submit_job` extrinsic itself is read.

use std::future::Future;

use codec::{Compact, Decode};
use subxt::ext::scale_decode::DecodeAsType;
use verity_primitives::{job::JobInput, receipt::JobId, Balance, ModelId};

use crate::{
	chain,
	error::CliError,
	job::{Job, JobResult},
};

/// Where a job's records came from.
pub(crate) struct Records {
	/// The job (from history: its input as its `submit_job` extrinsic carried it).
	pub job: Job,
	/// Its result, if it has one.
	pub result: Option<JobResult>,
	/// The block whose state the records were read at (`None`: the finalized head).
	pub at: Option<u64>,
	/// The block the job was submitted in, when it was looked up in history.
	pub submitted_in: Option<u64>,
}

/// The part of `Jobs::JobSubmitted` the search reads.
#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct JobSubmitted {
	job_id: JobId,
}

/// The records of job `id`: from the finalized state while it is there (unless `from_history`),
/// else from the history of an archive node.
pub(crate) async fn records(
	api: &chain::Api,
	id: JobId,
	from_history: bool,
) -> Result<Records, CliError> {
	if !from_history {
		if let Some(job) = chain::read::<_, Job>(api, "Jobs", "Jobs", (id,)).await? {
			let result = chain::read(api, "Jobs", "Results", (id,)).await?;
			return Ok(Records {
				job,
				result,
				at: None,
				submitted_in: None,
			});
		}
	}
	let head = api
		.at_current_block()
		.await
		.map_err(|e| CliError::Chain(e.to_string()))?
		.block_number();
	// Read at that very head: the search below relies on `NextJobId(head) > id`.
	let next: JobId = chain::read_at(api, Some(head), "Jobs", "NextJobId", ())
		.await?
		.unwrap_or_default();
	if id >= next {
		return Err(CliError::Usage(format!(
			"no job {id} on chain: the next job submitted will be job {next}"
		)));
	}
	let history = |block: u64, error: CliError| {
		CliError::Chain(format!(
			"job {id} is no longer in the node's state, and the state of block {block} cannot be \
			 read ({error}): verifying a pruned job needs an archive node (verity-node \
			 --state-pruning archive)"
		))
	};
	let submitted_in = first_block(1, head, |block| async move {
		let next: Option<JobId> = chain::read_at(api, Some(block), "Jobs", "NextJobId", ())
			.await
			.map_err(|e| history(block, e))?;
		Ok(next.unwrap_or_default() > id)
	})
	.await?;
	// The first block that no longer holds it (the head + 1 if the head still does).
	let gone = first_block(submitted_in, head.saturating_add(1), |block| async move {
		if block > head {
			return Ok(true);
		}
		let job: Option<Job> = chain::read_at(api, Some(block), "Jobs", "Jobs", (id,))
			.await
			.map_err(|e| history(block, e))?;
		Ok(job.is_none())
	})
	.await?;
	let last_held = gone.saturating_sub(1).max(submitted_in);
	let mut job: Job = chain::read_at(api, Some(last_held), "Jobs", "Jobs", (id,))
		.await
		.map_err(|e| history(last_held, e))?
		.ok_or_else(|| {
			CliError::Chain(format!(
				"job {id} was submitted in block {submitted_in} but block {last_held}'s state \
				 does not hold it"
			))
		})?;
	let result = chain::read_at(api, Some(last_held), "Jobs", "Results", (id,))
		.await
		.map_err(|e| history(last_held, e))?;
	let input = submitted_input(api, submitted_in, id)
		.await
		.map_err(|e| history(submitted_in, e))?;
	if input.hash() != job.input_hash {
		return Err(CliError::Chain(format!(
			"the submit_job extrinsic of job {id} in block {submitted_in} does not hash to the \
			 job's recorded input hash"
		)));
	}
	job.input = input;
	Ok(Records {
		job,
		result,
		at: Some(last_held),
		submitted_in: Some(submitted_in),
	})
}

/// The input of job `id` from the `Jobs::submit_job` extrinsic of block `block` whose
/// `JobSubmitted` event names it.
async fn submitted_input(api: &chain::Api, block: u64, id: JobId) -> Result<JobInput, CliError> {
	let chain_error = |e: String| CliError::Chain(format!("block {block}: {e}"));
	let at = api
		.at_block(block)
		.await
		.map_err(|e| chain_error(e.to_string()))?;
	let extrinsics = at
		.extrinsics()
		.fetch()
		.await
		.map_err(|e| chain_error(e.to_string()))?;
	for extrinsic in extrinsics.iter() {
		let extrinsic = extrinsic.map_err(|e| chain_error(e.to_string()))?;
		if extrinsic.pallet_name() != "Jobs" || extrinsic.call_name() != "submit_job" {
			continue;
		}
		let events = extrinsic
			.events()
			.await
			.map_err(|e| chain_error(e.to_string()))?;
		let submitted_this = events.iter().filter_map(Result::ok).any(|event| {
			event.pallet_name() == "Jobs"
				&& event.event_name() == "JobSubmitted"
				&& event
					.decode_fields_unchecked_as::<JobSubmitted>()
					.is_ok_and(|submitted| submitted.job_id == id)
		});
		if submitted_this {
			let (_, input) = decode_submit_job(extrinsic.call_data_field_bytes()).map_err(|e| {
				chain_error(format!(
					"the submit_job extrinsic does not decode as this CLI expects ({e}): is the \
					 CLI as new as the node?"
				))
			})?;
			return Ok(input);
		}
	}
	Err(chain_error(format!(
		"no submit_job extrinsic submitted job {id}"
	)))
}

/// The model and input of a `Jobs::submit_job` call from its fields' bytes.
pub(crate) fn decode_submit_job(mut fields: &[u8]) -> Result<(ModelId, JobInput), codec::Error> {
	let (model, input, _max_fee) = <(ModelId, JobInput, Compact<Balance>)>::decode(&mut fields)?;
	if !fields.is_empty() {
		return Err("bytes left over after the call's fields".into());
	}
	Ok((model, input))
}

/// The first block in `lo..=hi` for which `holds` is true, given that it is false up to some
/// block and true from there on, and true at `hi`. Asks `holds` about log₂(hi - lo) blocks.
pub(crate) async fn first_block<F, Fut>(
	mut lo: u64,
	mut hi: u64,
	mut holds: F,
) -> Result<u64, CliError>
where
	F: FnMut(u64) -> Fut,
	Fut: Future<Output = Result<bool, CliError>>,
{
	while lo < hi {
		let mid = lo + (hi - lo) / 2;
		if holds(mid).await? {
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	Ok(lo)
}

#[cfg(test)]
mod tests {
	use super::first_block;

	fn search(lo: u64, hi: u64, from: u64) -> (u64, u32) {
		let mut asked = 0u32;
		let found = block_on(first_block(lo, hi, |block| {
			asked += 1;
			std::future::ready(Ok(block >= from))
		}))
		.expect("no error");
		(found, asked)
	}

	/// Polls a future that never waits (the predicate here is `ready`).
	fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
		tokio::runtime::Builder::new_current_thread()
			.build()
			.expect("a runtime")
			.block_on(future)
	}

	#[test]
	fn the_search_finds_the_first_block_that_holds_in_log_steps() {
		for from in [1, 2, 17, 999, 1000] {
			let (found, asked) = search(1, 1000, from);
			assert_eq!(found, from, "the first block from which it holds");
			assert!(asked <= 10, "{asked} reads for 1000 blocks");
		}
		assert_eq!(search(5, 5, 5), (5, 0), "one block: nothing to ask");
	}
}
