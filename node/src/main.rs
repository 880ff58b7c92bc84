//! `verity-node`: the Verity validator and worker binary.
//!
//! A Substrate node with BABE block production, GRANDPA finality, ParityDb storage, JSON-RPC on
//! port 9944 and Prometheus metrics on port 9615. Run `verity-node --help` for every flag.

mod chain_spec;
mod cli;
mod command;
mod inference;
mod rpc;
mod self_check;
mod service;

fn main() {
	if let Err(error) = command::run() {
		eprintln!("Error: {error}");
		std::process::exit(1);
	}
}
