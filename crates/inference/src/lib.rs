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
//! - [`profile`]: what the engine pins (versions of its numerics and tables, threads, CPU
//!   features);
//! - [`fpenv`]: the floating-point control state checked on every thread that computes;
//! - [`unicode`]: the character classes the tokenizers use, from pinned tables.
//!
//! Determinism: SmolLM2 runs on the crate's own kernels, with one summation order on every
//! instruction set ([`smollm2::kernels`]) and no call into the platform's libm
//! ([`smollm2::numerics`]); MiniLM on candle's pure-Rust CPU kernels (no MKL), under a
//! tolerance; the tokenizers' character classes come from pinned tables, not from the standard
//! library ([`unicode`]); decoding is greedy, and the thread count is read from
//! `RAYON_NUM_THREADS` once per process; the engine refuses to compute on a thread whose
//! floating-point modes are not IEEE's defaults ([`fpenv`]). The tests check that outputs are
//! identical across runs, kernels and 1 and 2 threads.
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod catalog;
pub mod digest;
pub mod engine;
mod error;
pub mod fpenv;
pub mod minilm;
pub mod profile;
pub mod receipt;
pub mod smollm2;
pub mod unicode;

#[cfg(test)]
mod test_models;
#[cfg(test)]
mod tiny_tests;

pub use catalog::{default_models_dir, ModelId};
pub use engine::LoadedModel;
pub use error::{Error, Result};
