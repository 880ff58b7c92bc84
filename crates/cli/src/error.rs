//! The one error type of the command line.

/// What can make a command fail; printed as one line by `main`.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
	/// Loading or running a model failed, or the job data was invalid.
	#[error(transparent)]
	Inference(#[from] verity_inference::Error),
	/// The output could not be written.
	#[error("cannot write the output: {0}")]
	Output(#[from] std::io::Error),
}
