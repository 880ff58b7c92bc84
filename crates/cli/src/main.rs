//! `verity`: Verity's command line.
//!
//! First command: `verity infer`, which runs a catalog model locally, exactly as a worker or a
//! verifier does, and prints the output and its hash. Later commands talk to the chain.

mod error;
mod infer;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Verity: verifiable AI inference on a Substrate appchain.
#[derive(Parser)]
#[command(name = "verity", version, about)]
struct Cli {
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand)]
enum Command {
	/// Run a model locally on a prompt or texts and print the output and its hash.
	Infer(infer::InferArgs),
}

fn main() -> ExitCode {
	let cli = Cli::parse();
	let result = match cli.command {
		Command::Infer(args) => infer::run(args),
	};
	match result {
		Ok(()) => ExitCode::SUCCESS,
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
