//! Verity's inference engine.
//!
//! `verity-inference` runs the models a Verity chain registers, on the CPU with candle, so that
//! a worker and every verifier who re-runs a job get the same output:
//! - [`catalog`]: the known models, their files and pinned BLAKE2-256 hashes, their policies;
//! - [`digest`]: a model file is hashed before anything is built from it, and refused if its hash
//!   is not the one asked for;
//! - [`smollm2`]: SmolLM2-135M-Instruct (GGUF Q4_1) with its own tokenizer and chat template,
//!   greedy decoding;
//! - [`minilm`]: all-MiniLM-L6-v2 sentence embeddings (mean pooling, L2-normalised);
//! - [`engine`]: a job input in, the canonical job output of `verity-primitives` out;
//! - [`receipt`]: ed25519 receipts over (genesis, job, model, input, output);
//! - [`profile`]: what the engine pins (candle version, threads, CPU features).
//!
//! Determinism: SmolLM2 runs on the crate's own kernels, with one summation order on every
//! instruction set ([`smollm2::kernels`]); MiniLM on candle's pure-Rust CPU kernels (no MKL);
//! decoding is greedy, and the thread count is read from `RAYON_NUM_THREADS` once per process;
//! the tests check that outputs are identical across runs, kernels and 1 and 2 threads.
#![warn(missing_docs)]

pub mod catalog;
pub mod digest;
pub mod engine;
mod error;
pub mod minilm;
pub mod profile;
pub mod receipt;
pub mod smollm2;

#[cfg(test)]
mod test_models;
#[cfg(test)]
mod tiny_tests;

pub use catalog::{default_models_dir, ModelId};
pub use engine::LoadedModel;
pub use error::{Error, Result};
