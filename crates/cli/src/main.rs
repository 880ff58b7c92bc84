//! `verity`: Verity's command line.
//!
//! `verity infer` runs a catalog model locally, exactly as a worker or a verifier does. The chain
//! commands talk to a node over its WebSocket RPC (subxt): `verity models` reads the registry
//! and proposes models,
//! `verity job` submits, lists, shows, challenges and verifies jobs, `verity worker` onboards and
//! runs a compute provider, `verity workers` and `verity disputes` show the market, and
//! `verity validator` registers a validator's session keys and shows where it stands, and
//! `verity gateway` serves the OpenAI API, each request a job.

mod amount;
mod archive;
mod ask;
mod chain;
mod challenge;
mod council;
mod error;
mod gateway;
mod hex;
mod infer;
mod job;
#[cfg(test)]
mod metadata_check;
mod metagraph;
mod models;
mod propose;
mod validator;
mod worker;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Verity: verifiable AI inference on a Substrate appchain.
#[derive(Parser)]
#[command(name = "verity", version, about)]
struct Cli {
	#[command(subcommand)]
	command: Command,
	#[command(flatten)]
	chain: chain::ChainArgs,
	/// Print JSON (one object or array) instead of text, for scripts.
	#[arg(long, global = true)]
	json: bool,
}

#[derive(Subcommand)]
enum Command {
	/// Run a model locally on a prompt or texts and print the output and its hash.
	Infer(infer::InferArgs),
	/// The model registry.
	#[command(subcommand)]
	Models(models::ModelsCommand),
	/// Jobs: submit, show, verify.
	#[command(subcommand)]
	Job(job::JobCommand),
	/// The council's motions on the model registry: list, propose, vote, close.
	#[command(subcommand)]
	Council(council::CouncilCommand),
	/// Being a worker: keys, bond, registration, pause, status.
	#[command(subcommand)]
	Worker(worker::WorkerCommand),
	/// Every registered worker (of one model): bond, reserved, models, jobs, faults, slashes.
	Workers(metagraph::WorkersArgs),
	/// Every job in dispute: the accused, who disputed it, the jury and its votes.
	Disputes,
	/// Joining the validator set: register session keys, see where an account stands.
	#[command(subcommand)]
	Validator(validator::ValidatorCommand),
	/// An OpenAI-compatible HTTP API (chat completions, embeddings, models): each request a
	/// job, answered with what it takes to verify it.
	Gateway(gateway::GatewayArgs),
}

fn main() -> ExitCode {
	let cli = Cli::parse();
	let result = match cli.command {
		Command::Infer(args) => infer::run(args, cli.json).map(|()| ExitCode::SUCCESS),
		Command::Models(command) => runtime().and_then(|runtime| {
			runtime
				.block_on(models::run(command, &cli.chain, cli.json))
				.map(|()| ExitCode::SUCCESS)
		}),
		Command::Job(command) => {
			runtime().and_then(|runtime| runtime.block_on(job::run(command, &cli.chain, cli.json)))
		}
		Command::Council(command) => runtime().and_then(|runtime| {
			runtime
				.block_on(council::run(command, &cli.chain, cli.json))
				.map(|()| ExitCode::SUCCESS)
		}),
		Command::Worker(command) => runtime().and_then(|runtime| {
			runtime
				.block_on(worker::run(command, &cli.chain, cli.json))
				.map(|()| ExitCode::SUCCESS)
		}),
		Command::Workers(args) => runtime().and_then(|runtime| {
			runtime
				.block_on(metagraph::workers(args, &cli.chain, cli.json))
				.map(|()| ExitCode::SUCCESS)
		}),
		Command::Disputes => runtime().and_then(|runtime| {
			runtime
				.block_on(metagraph::disputes(&cli.chain, cli.json))
				.map(|()| ExitCode::SUCCESS)
		}),
		Command::Validator(command) => runtime().and_then(|runtime| {
			runtime
				.block_on(validator::run(command, &cli.chain, cli.json))
				.map(|()| ExitCode::SUCCESS)
		}),
		Command::Gateway(args) => runtime().and_then(|runtime| {
			runtime
				.block_on(gateway::run(args, &cli.chain))
				.map(|()| ExitCode::SUCCESS)
		}),
	};
	match result {
		Ok(code) => code,
		// The reader went away (`verity infer … | head`): nothing left to tell anyone.
		Err(error::CliError::Output(error)) if error.kind() == std::io::ErrorKind::BrokenPipe => {
			ExitCode::SUCCESS
		}
		Err(error) => {
			eprintln!("error: {error}");
			ExitCode::FAILURE
		}
	}
}

/// The async runtime of the chain commands.
fn runtime() -> Result<tokio::runtime::Runtime, error::CliError> {
	tokio::runtime::Builder::new_current_thread()
		.enable_all()
		.build()
		.map_err(error::CliError::Output)
}
