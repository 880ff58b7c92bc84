//! The engine profile: what this build of the engine pins, as a value the registry can carry.

use verity_primitives::model::EngineProfile;

/// The version of SmolLM2's kernels' numerics (`smollm2::kernels`, `smollm2::llama`): the
/// exact sequence of operations that gives each output bit. Raised whenever a change could
/// change any bit of any output (a test pins the logits of version 1 by their hash); faster
/// code that keeps every bit keeps the version. The kernel an engine picks (scalar, AVX2,
/// AVX-512 VNNI) is not part of it: every kernel gives the same bits.
pub const KERNELS_VERSION: u32 = 1;
/// The version of the tokenizers' character classes: raised whenever the class of any character
/// could change, that is with any of [`crate::unicode::TABLES_UNICODE_VERSION`],
/// [`REGEX_SYNTAX_VERSION`], [`UNICODE_CATEGORIES_VERSION`] or
/// [`UNICODE_NORMALIZATION_VERSION`] (a test pins all four).
pub const TEXT_VERSION: u32 = 1;
/// The regex-syntax version the lock file holds: its Unicode 16.0.0 tables give the classes of
/// SmolLM2's pre-tokenizer (`\p{N}`, `\p{L}`, `\s`), through fancy-regex.
pub const REGEX_SYNTAX_VERSION: &str = "0.8.12";
/// The unicode_categories version (pinned exactly): control, punctuation and non-spacing-mark
/// classes of MiniLM's tokenizer.
pub const UNICODE_CATEGORIES_VERSION: &str = "0.1.1";
/// The unicode-normalization-alignments version (pinned exactly): NFD in MiniLM's tokenizer.
pub const UNICODE_NORMALIZATION_VERSION: &str = "0.1.12";
/// The pure-Rust libm version (pinned exactly): RoPE's `sin`, `cos`, `pow` and the baseline's
/// `fmaf`, instead of the platform's C library.
pub const LIBM_VERSION: &str = "0.2.16";
/// The candle version this crate is built with (pinned exactly in the workspace): it reads
/// SmolLM2's GGUF and runs MiniLM. MiniLM's softmax takes `expf` from the platform's C library
/// through candle (not removable without replacing candle's BERT); MiniLM runs under the
/// Tolerance policy, and the profile says so (`MiniLM libc expf`).
pub const CANDLE_VERSION: &str = "0.11.1";
/// The tokenizers version this crate is built with (pinned exactly in the workspace).
pub const TOKENIZERS_VERSION: &str = "0.23.2";

/// The threads of candle's compute pools in this process (`RAYON_NUM_THREADS`, else the number
/// of physical cores; read once per process).
pub fn compute_threads() -> usize {
	candle_core::utils::get_num_threads()
}

/// The CPU features candle's kernels dispatch on that this CPU has, comma-separated.
pub fn cpu_features() -> String {
	let mut features: Vec<&str> = Vec::new();
	#[cfg(target_arch = "x86_64")]
	{
		if std::arch::is_x86_feature_detected!("avx") {
			features.push("avx");
		}
		if std::arch::is_x86_feature_detected!("avx2") {
			features.push("avx2");
		}
		if std::arch::is_x86_feature_detected!("fma") {
			features.push("fma");
		}
		if std::arch::is_x86_feature_detected!("f16c") {
			features.push("f16c");
		}
		if std::arch::is_x86_feature_detected!("avx512f") {
			features.push("avx512f");
		}
		if std::arch::is_x86_feature_detected!("avx512vnni") {
			features.push("avx512vnni");
		}
	}
	#[cfg(target_arch = "aarch64")]
	if std::arch::is_aarch64_feature_detected!("neon") {
		features.push("neon");
	}
	features.join(",")
}

/// The profile of this engine in this process.
pub fn engine_profile() -> EngineProfile {
	let engine = format!(
		"verity-kernels {KERNELS_VERSION}; verity-text {TEXT_VERSION}; libm {LIBM_VERSION}; \
		 candle {CANDLE_VERSION} (MiniLM libc expf); tokenizers {TOKENIZERS_VERSION}"
	);
	let target = format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS);
	let threads = u32::try_from(compute_threads()).unwrap_or(u32::MAX);
	EngineProfile::new(&engine, &target, &cpu_features(), threads)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn profile_names_the_engine_and_threads() {
		let profile = engine_profile();
		assert_eq!(
			String::from_utf8_lossy(&profile.engine),
			"verity-kernels 1; verity-text 1; libm 0.2.16; candle 0.11.1 (MiniLM libc expf); \
			 tokenizers 0.23.2"
		);
		assert!(profile.threads >= 1);
		assert_eq!(profile.threads as usize, compute_threads());
	}

	#[test]
	fn pinned_versions_are_the_ones_in_the_lock_file() {
		let lock = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock");
		let lock = std::fs::read_to_string(lock).expect("the workspace's Cargo.lock");
		for (name, version) in [
			("candle-core", CANDLE_VERSION),
			("candle-nn", CANDLE_VERSION),
			("candle-transformers", CANDLE_VERSION),
			("tokenizers", TOKENIZERS_VERSION),
			("libm", LIBM_VERSION),
			// The tables of verity-text 1: a change to any needs a new TEXT_VERSION.
			("regex-syntax", REGEX_SYNTAX_VERSION),
			("unicode_categories", UNICODE_CATEGORIES_VERSION),
			(
				"unicode-normalization-alignments",
				UNICODE_NORMALIZATION_VERSION,
			),
		] {
			let entry = format!("name = \"{name}\"\nversion = \"{version}\"\n");
			assert!(
				lock.contains(&entry),
				"Cargo.lock must lock {name} {version}"
			);
		}
		// verity-text 1 is these tables; tokenizers' fancy-regex reads regex-syntax's.
		assert_eq!(TEXT_VERSION, 1);
		assert_eq!(crate::unicode::TABLES_UNICODE_VERSION, (17, 0, 0));
		let fancy = lock
			.split("[[package]]")
			.find(|p| p.contains("name = \"fancy-regex\"\nversion = \"0.17.0\""))
			.expect("fancy-regex 0.17.0, tokenizers' regex engine");
		assert!(
			fancy.contains(&format!("\"regex-syntax {REGEX_SYNTAX_VERSION}\"")),
			"fancy-regex must use regex-syntax {REGEX_SYNTAX_VERSION}: {fancy}"
		);
	}
}
