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
	/// An amount without a unit, or malformed.
	#[error(transparent)]
	Amount(#[from] crate::amount::AmountError),
	/// The node did not answer.
	#[error("cannot reach the node at {url}: {error}")]
	Unreachable {
		/// The endpoint tried.
		url: String,
		/// What went wrong.
		error: String,
	},
	/// No signer, or one that cannot be read (the secret is never printed).
	#[error("{0}")]
	Signer(String),
	/// The chain answered something unexpected, or a request failed.
	#[error("{0}")]
	Chain(String),
	/// Sending the transaction failed: the node's pool refused it (bad nonce, cannot pay the
	/// fee, invalid), or the connection failed while it was sent. Most likely nothing was
	/// charged, but a transaction whose answer was lost may still be included.
	#[error("{0}")]
	NotSent(String),
	/// The chain refused the transaction: the pallet error's name and documentation.
	#[error("refused by the chain: {error}{}", if docs.is_empty() { String::new() } else { format!(" ({docs})") })]
	Refused {
		/// `Pallet::Error`.
		error: String,
		/// The error's documentation from the metadata.
		docs: String,
	},
	/// Bad input: an unknown model or job, an input the model does not take.
	#[error("{0}")]
	Usage(String),
}
