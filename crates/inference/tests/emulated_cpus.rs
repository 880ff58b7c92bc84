//! The engine on CPUs this machine is not: this test binary runs itself under `qemu-x86_64`
//! (user-mode emulation, installed by `scripts/setup.sh`) with CPU models that lack AVX-512
//! (`Haswell`: AVX2, FMA, F16C) and that lack AVX and FMA altogether (`Nehalem`). There the
//! engine's run-time dispatch picks other code (SmolLM2's AVX2 and scalar kernels, the baseline's
//! software `fmaf`; candle's and gemm's AVX2 and SSE kernels for MiniLM), as it would on a
//! worker with such a CPU. SmolLM2 must give the native bits; MiniLM's distance from its float64
//! reference on each path is measured, and the Tolerance policy's bound is set from it.
//!
//! Needs the real models and an x86-64 host with qemu-user (skipped, visibly, without them;
//! `VERITY_REQUIRE_MODELS` makes a missing piece an error, as CI sets it).

use std::{
	io::Write,
	path::{Path, PathBuf},
	process::Command,
};

use verity_inference::{
	catalog::ModelId,
	default_models_dir,
	digest::{blake2_256, to_hex},
	engine::LoadedModel,
	minilm::MiniLm,
	smollm2::SmolLm2,
};

/// Where the child writes what it computed (set only in the child's environment).
const CHILD_OUT: &str = "VERITY_EMULATED_CPU_OUT";

/// The prompt whose SmolLM2 logits are compared: its first [`PREFIX_TOKENS`] templated tokens
/// (emulation is 20 to 200 times slower than the host; every layer runs on them all the same).
const PROMPT: &str = "What is 2+2?";
/// Tokens of [`PROMPT`]'s template fed to SmolLM2.
const PREFIX_TOKENS: usize = 8;
/// MiniLM's reference texts embedded on each CPU (the first three: short sentences, accents and
/// CJK; `tests/real_models.rs` checks all of them on the host).
const MINILM_TEXTS: usize = 3;

/// The MiniLM policy's bound (`Tolerance { max_abs_diff_ppm: 100 }`, 1e-4 per value) over the
/// largest distance measured here from the float64 reference on any path, native or emulated:
/// the margin left for CPUs no test has run on (ARM's NEON paths among them). Measured
/// 2026-12-02 on an AMD EPYC host: 3.1e-7 at worst (the SSE path), 324× below the bound (crate
/// README); the test fails if the margin falls below this.
const MIN_MARGIN: f64 = 100.0;

#[derive(serde::Deserialize)]
struct MiniLmReference {
	texts: Vec<String>,
	embeddings: Vec<Vec<f64>>,
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Computed {
	/// The SmolLM2 kernel the engine picked on this CPU.
	kernel: String,
	/// The CPU features the engine profile names.
	features: String,
	/// BLAKE2-256 of the bits of SmolLM2's last-position logits for [`PROMPT`].
	smollm2_logits: String,
	/// MiniLM's embeddings of the reference texts.
	minilm: Vec<Vec<f32>>,
}

fn models_present() -> bool {
	let dir = default_models_dir();
	let missing: Vec<PathBuf> = ModelId::ALL
		.iter()
		.flat_map(|id| id.files())
		.map(|f| dir.join(f.relative_path))
		.filter(|p| !p.is_file())
		.collect();
	if missing.is_empty() {
		return true;
	}
	assert!(
		std::env::var_os("VERITY_REQUIRE_MODELS").is_none(),
		"{missing:?} missing and VERITY_REQUIRE_MODELS is set"
	);
	let _ = std::io::stderr().write_all(b"SKIPPED: models missing; run scripts/fetch-models.sh\n");
	false
}

/// Both catalog models, loaded (and hash-checked) as a worker loads them.
fn load() -> (SmolLm2, MiniLm) {
	let dir = default_models_dir();
	let smollm2 = match LoadedModel::load(ModelId::SmolLm2, &dir).expect("smollm2") {
		LoadedModel::SmolLm2(model) => model,
		LoadedModel::MiniLm(_) => panic!("SmolLM2 loads as SmolLM2"),
	};
	let minilm = match LoadedModel::load(ModelId::MiniLm, &dir).expect("minilm") {
		LoadedModel::MiniLm(model) => model,
		LoadedModel::SmolLm2(_) => panic!("MiniLM loads as MiniLM"),
	};
	(smollm2, minilm)
}

fn reference() -> MiniLmReference {
	serde_json::from_str(include_str!("data/minilm_reference.json")).expect("reference")
}

/// What the child computes, on whatever CPU it runs on.
#[test]
fn emulated_cpu_child() {
	let Some(out) = std::env::var_os(CHILD_OUT) else {
		return;
	};
	let (smollm2, minilm) = load();
	let ids = smollm2.prompt_token_ids(PROMPT).expect("ids");
	let mut bits = Vec::new();
	for value in smollm2.logits(&ids[..PREFIX_TOKENS]).expect("logits") {
		bits.extend_from_slice(&value.to_le_bytes());
	}
	let computed = Computed {
		kernel: smollm2.kernel().name().to_string(),
		features: verity_inference::profile::cpu_features(),
		smollm2_logits: to_hex(&blake2_256(&bits).0),
		minilm: minilm
			.embed(&reference().texts[..MINILM_TEXTS])
			.expect("embed"),
	};
	std::fs::write(out, serde_json::to_vec(&computed).expect("json")).expect("write");
}

/// Starts [`emulated_cpu_child`] under `qemu-x86_64 -cpu <cpu>` (natively for `None`).
fn start_child(cpu: Option<&str>, dir: &Path) -> (std::process::Child, PathBuf) {
	let out = dir.join(format!("{}.json", cpu.unwrap_or("native")));
	let exe = std::env::current_exe().expect("this test binary");
	let mut command = match cpu {
		Some(cpu) => {
			let mut c = Command::new("qemu-x86_64");
			c.args(["-cpu", cpu]).arg(&exe);
			c
		}
		None => Command::new(&exe),
	};
	let child = command
		.args([
			"--exact",
			"emulated_cpu_child",
			"--nocapture",
			"--test-threads",
			"1",
		])
		// One compute thread each (the children run side by side); the thread count does not
		// change a bit.
		.env("RAYON_NUM_THREADS", "1")
		.env(CHILD_OUT, &out)
		.spawn()
		.expect("start the child");
	(child, out)
}

/// Waits for a child of [`start_child`] and reads what it computed.
fn finish_child(cpu: Option<&str>, (mut child, out): (std::process::Child, PathBuf)) -> Computed {
	let status = child.wait().expect("the child");
	assert!(status.success(), "the child on {cpu:?}: {status}");
	serde_json::from_slice(&std::fs::read(&out).expect("the child's output")).expect("json")
}

fn qemu_present() -> bool {
	let present = cfg!(target_arch = "x86_64")
		&& Command::new("qemu-x86_64")
			.arg("--version")
			.output()
			.is_ok_and(|o| o.status.success());
	if !present {
		assert!(
			std::env::var_os("VERITY_REQUIRE_MODELS").is_none() || !cfg!(target_arch = "x86_64"),
			"qemu-x86_64 is missing (scripts/setup.sh installs qemu-user)"
		);
		let _ = std::io::stderr()
			.write_all(b"SKIPPED: qemu-x86_64 is missing or the host is not x86-64\n");
	}
	present
}

#[test]
fn smollm2_bits_and_minilm_distance_on_cpus_without_avx512_or_fma() {
	if std::env::var_os(CHILD_OUT).is_some() || !models_present() || !qemu_present() {
		return;
	}
	let dir = std::env::temp_dir().join(format!("verity-emulated-{}", std::process::id()));
	std::fs::create_dir_all(&dir).expect("temp dir");
	let reference = reference();
	let haswell = start_child(Some("Haswell"), &dir);
	let nehalem = start_child(Some("Nehalem"), &dir);
	let native = finish_child(None, start_child(None, &dir));
	let mut emulated = vec![
		finish_child(Some("Haswell"), haswell),
		finish_child(Some("Nehalem"), nehalem),
	]
	.into_iter();
	let mut worst = 0f64;
	let mut lines = Vec::new();
	let cpus = [
		(None, None),
		(Some("Haswell"), Some("avx2")),
		(Some("Nehalem"), Some("scalar")),
	];
	for (cpu, kernel) in cpus {
		let computed = match cpu {
			None => native.clone(),
			Some(_) => emulated.next().expect("each emulated CPU's output"),
		};
		if let Some(kernel) = kernel {
			assert_eq!(computed.kernel, kernel, "{cpu:?}: the kernel picked");
			assert!(
				!computed.features.contains("avx512"),
				"{cpu:?}: {}",
				computed.features
			);
		}
		if cpu == Some("Nehalem") {
			assert!(
				!computed.features.contains("fma"),
				"{cpu:?}: {}",
				computed.features
			);
		}
		assert_eq!(
			computed.smollm2_logits, native.smollm2_logits,
			"{cpu:?} ({}): SmolLM2's logits differ from the native ones",
			computed.kernel
		);
		let mut distance = 0f64;
		for (ours, exact) in computed.minilm.iter().zip(&reference.embeddings) {
			assert_eq!(ours.len(), exact.len());
			for (a, b) in ours.iter().zip(exact) {
				distance = distance.max((f64::from(*a) - b).abs());
			}
		}
		let spread = computed
			.minilm
			.iter()
			.flatten()
			.zip(native.minilm.iter().flatten())
			.map(|(a, b)| (a - b).abs())
			.fold(0f32, f32::max);
		worst = worst.max(distance);
		lines.push(format!(
			"{}: SmolLM2 kernel {}, same bits; MiniLM max |Δ| from float64 {distance:.3e}, from native {spread:.3e} (features {})",
			cpu.unwrap_or("native"),
			computed.kernel,
			computed.features
		));
	}
	let _ = std::fs::remove_dir_all(&dir);
	for line in &lines {
		eprintln!("{line}");
	}
	let verity_primitives::policy::VerificationPolicy::Tolerance { max_abs_diff_ppm } =
		ModelId::MiniLm.policy()
	else {
		panic!("MiniLM runs under the Tolerance policy")
	};
	let bound = f64::from(max_abs_diff_ppm) * 1e-6;
	eprintln!(
		"MiniLM's worst distance {worst:.3e}: the policy's bound {bound:e} is {:.0}× it",
		bound / worst
	);
	assert!(
		bound / worst >= MIN_MARGIN,
		"the tolerance leaves less than {MIN_MARGIN}× the measured distance"
	);
}
