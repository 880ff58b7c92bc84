//! The models a fresh chain registers at genesis are the real ones: their hashes are the files'
//! pinned hashes, and their golden vectors are what the engine computes.
//!
//! An exact-policy model's golden output is the engine's output, bit for bit. A tolerance-policy
//! model's (MiniLM's) is the output of an independent float64 reference rounded to `f32`
//! (`crates/inference/tests/data/minilm_reference.json`): floating-point sums on two machines may
//! differ in their last bits, so its golden hash names the reference, and the engine's output
//! must fall within the model's tolerance of it.

use verity_inference::{
	catalog::{default_models_dir, ModelId},
	engine::LoadedModel,
	profile::engine_profile,
};
use verity_primitives::{
	job::{Embedding, JobInput, JobOutput},
	policy::{self, VerificationPolicy},
};
use verity_runtime::genesis_config_presets::reference_models;

/// The float64 reference output of MiniLM for `input` (computed outside the engine), rounded to
/// `f32`; `None` unless the reference holds every text of it.
fn reference_output(input: &JobInput) -> Option<JobOutput> {
	let reference: serde_json::Value = serde_json::from_str(include_str!(
		"../../crates/inference/tests/data/minilm_reference.json"
	))
	.expect("the MiniLM reference parses");
	let JobInput::Embed { texts } = input else {
		return None;
	};
	let embeddings = texts
		.iter()
		.map(|text| {
			let index = reference["texts"]
				.as_array()?
				.iter()
				.position(|t| t.as_str().map(str::as_bytes) == Some(text.as_slice()))?;
			let values = reference["embeddings"][index]
				.as_array()?
				.iter()
				.map(|v| v.as_f64().map(|v| v as f32))
				.collect::<Option<Vec<f32>>>()?;
			Embedding::from_f32(&values).ok()
		})
		.collect::<Option<Vec<_>>>()?;
	JobOutput::embedded(embeddings).ok()
}

/// The catalog model a registered model hash names.
fn catalog_model(model_hash: sp_core::H256) -> ModelId {
	ModelId::ALL
		.into_iter()
		.find(|id| id.model_hash() == model_hash)
		.unwrap_or_else(|| panic!("genesis registers an unknown model {model_hash:?}"))
}

#[test]
fn genesis_models_match_the_engine_catalog() {
	let models = reference_models();
	assert_eq!(
		models.len(),
		ModelId::ALL.len(),
		"every catalog model is registered"
	);
	for (info, _) in &models {
		let id = catalog_model(info.model_hash);
		let files = id.files();
		assert_eq!(info.kind, id.kind(), "{}: kind", id.name());
		assert_eq!(info.policy, id.policy(), "{}: policy", id.name());
		assert_eq!(
			info.weights_hash,
			files[0].hash(),
			"{}: weights are the first file",
			id.name()
		);
		let tokenizer = files.get(1).unwrap_or(&files[0]);
		assert_eq!(
			info.tokenizer_hash,
			tokenizer.hash(),
			"{}: tokenizer file",
			id.name()
		);
		// The engine's versions (the kernels' numerics among them) are this engine's; the
		// target, CPU features and threads are the reference machine's.
		assert_eq!(
			String::from_utf8_lossy(&info.engine.engine),
			String::from_utf8_lossy(&engine_profile().engine),
			"{}: engine versions",
			id.name()
		);
	}
}

#[test]
fn genesis_golden_vectors_are_what_the_engine_computes() {
	let dir = default_models_dir();
	for (info, golden) in reference_models() {
		let id = catalog_model(info.model_hash);
		let missing = id
			.files()
			.iter()
			.any(|f| !dir.join(f.relative_path).is_file());
		if missing {
			assert!(
				std::env::var_os("VERITY_REQUIRE_MODELS").is_none(),
				"{} is not fetched and VERITY_REQUIRE_MODELS is set",
				id.name()
			);
			eprintln!(
				"SKIPPED: {} is not fetched; run scripts/fetch-models.sh",
				id.name()
			);
			continue;
		}
		let mut model = LoadedModel::load(id, &dir).expect("the pinned model loads");
		for vector in golden.iter() {
			let output = model.run(&vector.input).expect("the golden input runs");
			match info.policy {
				VerificationPolicy::Exact => assert_eq!(
					output.hash(),
					vector.output_hash,
					"{}: golden output",
					id.name()
				),
				VerificationPolicy::Tolerance { .. } => {
					let reference = reference_output(&vector.input).unwrap_or_else(|| {
						panic!("{}: no float64 reference for the golden input", id.name())
					});
					assert_eq!(
						format!("{:?}", reference.hash()),
						format!("{:?}", vector.output_hash),
						"{}: the golden hash names the float64 reference",
						id.name()
					);
					policy::check(info.policy, &reference, &output).unwrap_or_else(|mismatch| {
						panic!(
							"{}: the engine's output is outside the tolerance of the reference: \
							 {mismatch:?}",
							id.name()
						)
					});
				}
			}
		}
	}
}
