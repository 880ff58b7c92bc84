//! The models a fresh chain registers at genesis are the real ones: their hashes are the files'
//! pinned hashes, and their golden vectors are what the engine computes.

use verity_inference::{
	catalog::{default_models_dir, ModelId},
	engine::LoadedModel,
};
use verity_runtime::genesis_config_presets::reference_models;

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
			assert_eq!(
				output.hash(),
				vector.output_hash,
				"{}: golden output",
				id.name()
			);
		}
	}
}
