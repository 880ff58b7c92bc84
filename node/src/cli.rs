//! Command-line arguments: the standard Substrate flags plus Verity's subcommands.

/// Maintenance subcommands; without one, the node runs.
#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)] // Parsed once at start; boxing buys nothing.
pub enum Subcommand {
	/// Key management: generate, inspect, and `key insert` into the node's keystore.
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),

	/// Print a chain specification (`--raw` for the storage form other nodes import).
	BuildSpec(sc_cli::BuildSpecCmd),

	/// Export a chain specification without touching a database.
	ExportChainSpec(sc_cli::ExportChainSpecCmd),

	/// Validate blocks.
	CheckBlock(sc_cli::CheckBlockCmd),

	/// Export blocks to a file.
	ExportBlocks(sc_cli::ExportBlocksCmd),

	/// Export the state of a block as a chain specification.
	ExportState(sc_cli::ExportStateCmd),

	/// Import blocks from a file.
	ImportBlocks(sc_cli::ImportBlocksCmd),

	/// Delete the chain's database.
	PurgeChain(sc_cli::PurgeChainCmd),

	/// Revert the chain to a previous state.
	Revert(sc_cli::RevertCmd),

	/// Print information about the database.
	ChainInfo(sc_cli::ChainInfoCmd),

	/// Benchmark pallets to generate their weights (builds with `runtime-benchmarks` only).
	#[cfg(feature = "runtime-benchmarks")]
	#[command(subcommand)]
	Benchmark(frame_benchmarking_cli::BenchmarkCmd),
}

/// `verity-node [SUBCOMMAND] [FLAGS]`.
#[derive(Debug, clap::Parser)]
pub struct Cli {
	/// A maintenance subcommand; without one the node runs.
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	/// Flags of a running node (`--dev`, `--chain`, `--validator`, `--base-path`, `--rpc-port` …).
	#[clap(flatten)]
	pub run: sc_cli::RunCmd,
}
