//! # Inference host functions
//!
//! The runtime never runs a model: inference is floating-point work that takes seconds, and its
//! result is checked by re-execution, not by consensus. An off-chain worker asks the node instead,
//! through the one host function of this crate, [`inference::poll`]:
//!
//! * the first call for a (model hash, input) pair queues the job on the node and answers
//!   [`InferencePoll::Pending`]; the off-chain worker goes on and asks again in a later block;
//! * once the node has run it, the call answers [`InferencePoll::Ready`] with the canonical
//!   [`JobOutput`], or [`InferencePoll::Failed`] (asking again retries);
//! * a node without an engine (started without `--worker`), or any call outside an off-chain
//!   worker (block import, RPC, tools), answers [`InferenceError::NotAvailable`].
//!
//! So inference never runs on the block-import path and never blocks an off-chain worker.
//!
//! The node side is an externalities extension, [`InferenceExt`], holding an
//! [`InferenceBackend`]; the node registers it for off-chain worker calls only and adds
//! [`HostFunctions`] to its executor. Every executor that loads the Verity runtime must provide
//! these host functions, because the WebAssembly runtime imports them.
//!
//! Host functions are forever (a node must replay old blocks): the signature of `poll` version 1
//! must never change; a change is a new `#[version(2)]`.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

extern crate alloc;

use alloc::vec::Vec;
use codec::{Decode, Encode};
use sp_runtime_interface::{
	pass_by::{AllocateAndReturnByCodec, PassFatPointerAndDecode, PassPointerAndReadCopy},
	runtime_interface,
};
use verity_primitives::job::{JobInput, JobOutput};

#[cfg(not(substrate_runtime))]
use sp_externalities::ExternalitiesExt;

/// The node's answer to one inference request.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub enum InferencePoll {
	/// Queued or running: ask again in a later block.
	Pending,
	/// The model's canonical output.
	Ready(JobOutput),
	/// The request failed; asking again queues it again.
	Failed(InferenceError),
}

/// Why the node could not run a request.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub enum InferenceError {
	/// Inference is not available on this node: it was started without `--worker`, or the call
	/// did not come from an off-chain worker.
	NotAvailable,
	/// The node does not serve a model with this hash.
	UnknownModel,
	/// The node's queue is full; ask again later.
	Busy,
	/// The engine refused or failed; the UTF-8 message says why.
	Engine(Vec<u8>),
}

impl InferenceError {
	/// A one-line description, for logs.
	pub fn describe(&self) -> alloc::string::String {
		use alloc::string::{String, ToString};
		match self {
			Self::NotAvailable => {
				"inference not available on this node (start it with --worker)".to_string()
			}
			Self::UnknownModel => "this node does not serve the model".to_string(),
			Self::Busy => "the node's inference queue is full".to_string(),
			Self::Engine(message) => String::from_utf8_lossy(message).into_owned(),
		}
	}
}

/// What a node plugs in to run models (`verity-node`'s engine service; a fake in unit tests).
#[cfg(not(substrate_runtime))]
pub trait InferenceBackend: Send + Sync {
	/// Answers a request for running `input` on the model whose registry hash is `model_hash`.
	/// Must return at once: queue the work, never run it on the caller's thread.
	fn poll(&self, model_hash: [u8; 32], input: JobInput) -> InferencePoll;
}

#[cfg(not(substrate_runtime))]
sp_externalities::decl_extension! {
	/// The extension that gives off-chain workers an [`InferenceBackend`].
	pub struct InferenceExt(alloc::sync::Arc<dyn InferenceBackend>);
}

#[cfg(not(substrate_runtime))]
impl InferenceExt {
	/// Wraps a backend.
	pub fn new(backend: alloc::sync::Arc<dyn InferenceBackend>) -> Self {
		Self(backend)
	}
}

/// The host functions the node adds to its executor.
#[cfg(not(substrate_runtime))]
pub type HostFunctions = (inference::HostFunctions,);

/// Inference, for off-chain workers.
#[runtime_interface]
pub trait Inference {
	/// Asks the node for the output of `input` on the model whose registry hash is `model_hash`.
	/// Never blocks: see [`InferencePoll`].
	fn poll(
		&mut self,
		model_hash: PassPointerAndReadCopy<[u8; 32], 32>,
		input: PassFatPointerAndDecode<JobInput>,
	) -> AllocateAndReturnByCodec<InferencePoll> {
		match self.extension::<InferenceExt>() {
			Some(InferenceExt(backend)) => backend.poll(model_hash, input),
			None => InferencePoll::Failed(InferenceError::NotAvailable),
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::sync::{Arc, Mutex};

	/// Answers `Ready` with a fixed output and records what it was asked.
	struct Echo {
		asked: Mutex<Vec<([u8; 32], JobInput)>>,
	}

	impl InferenceBackend for Echo {
		fn poll(&self, model_hash: [u8; 32], input: JobInput) -> InferencePoll {
			self.asked.lock().unwrap().push((model_hash, input));
			InferencePoll::Ready(JobOutput::generated(vec![1, 2], "hi").unwrap())
		}
	}

	#[test]
	fn without_the_extension_inference_is_not_available() {
		let mut ext = sp_io_free_externalities();
		ext.execute_with(|| {
			let input = JobInput::generate("hello", 4).unwrap();
			assert_eq!(
				inference::poll([7; 32], input),
				InferencePoll::Failed(InferenceError::NotAvailable)
			);
		});
	}

	#[test]
	fn with_the_extension_the_backend_answers_and_sees_the_request() {
		let backend = Arc::new(Echo {
			asked: Mutex::new(Vec::new()),
		});
		let mut ext = sp_io_free_externalities();
		ext.register_extension(InferenceExt::new(backend.clone()));
		let input = JobInput::generate("hello", 4).unwrap();
		let answer = ext.execute_with(|| inference::poll([7; 32], input.clone()));
		assert_eq!(
			answer,
			InferencePoll::Ready(JobOutput::generated(vec![1, 2], "hi").unwrap())
		);
		assert_eq!(*backend.asked.lock().unwrap(), vec![([7; 32], input)]);
	}

	#[test]
	fn errors_describe_themselves() {
		assert!(InferenceError::NotAvailable.describe().contains("--worker"));
		assert_eq!(
			InferenceError::Engine(b"out of memory".to_vec()).describe(),
			"out of memory"
		);
	}

	/// Plain externalities: this crate only talks to extensions.
	fn sp_io_free_externalities() -> sp_state_machine::BasicExternalities {
		sp_state_machine::BasicExternalities::default()
	}
}
