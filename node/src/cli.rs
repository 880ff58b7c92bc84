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

	/// Flags of a worker node.
	#[clap(flatten)]
	pub worker: WorkerParams,
}

/// Serving inference jobs.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerParams {
	/// Serve inference jobs: load the models (their hashes checked; the node refuses to start if
	/// a file is missing or altered), then answer the jobs assigned to the worker accounts whose
	/// keys are in the keystore (`vwrk` sr25519 signs transactions, `vrcp` ed25519 signs
	/// receipts) and vote on their juries, from the off-chain worker (enabled by this flag). With
	/// `--dev` (or `--alice`, `--bob` …) the keys of `//<Name>//worker` are put in the keystore.
	#[arg(long)]
	pub worker: bool,

	/// The folder of the model files, as `scripts/fetch-models.sh` lays them out. Default:
	/// `$VERITY_MODELS`, else `$HOME/.cache/verity/models`.
	#[arg(long, value_name = "PATH")]
	pub models_dir: Option<std::path::PathBuf>,

	/// The models to serve, by name, comma-separated. Default: every model of the engine's
	/// catalog (smollm2, minilm).
	#[arg(long, value_name = "NAMES", value_delimiter = ',')]
	pub worker_models: Vec<String>,

	/// FOR TESTS ONLY: answer every job with a wrong (altered) output, to play a lying worker in
	/// end-to-end tests. A node started with it is slashed when audited or challenged.
	#[arg(long, requires = "worker")]
	pub test_fault_alter_outputs: bool,
}

impl WorkerParams {
	/// The service configuration, or `None` without `--worker`.
	pub fn config(&self) -> Result<Option<crate::inference::WorkerConfig>, String> {
		if !self.worker {
			return Ok(None);
		}
		let models = if self.worker_models.is_empty() {
			verity_inference::ModelId::ALL.to_vec()
		} else {
			self.worker_models
				.iter()
				.map(|name| verity_inference::ModelId::from_name(name).map_err(|e| e.to_string()))
				.collect::<Result<Vec<_>, _>>()?
		};
		Ok(Some(crate::inference::WorkerConfig {
			models_dir: self
				.models_dir
				.clone()
				.unwrap_or_else(verity_inference::default_models_dir),
			models,
			alter_outputs: self.test_fault_alter_outputs,
		}))
	}
}
