//! Compiles the runtime to WebAssembly (the on-chain code) next to the native build, twice: the
//! runtime itself (`WASM_BINARY`), and the same runtime with `spec_version` one higher
//! (`upgrade_test::WASM_BINARY`, feature `spec-next`) for the end-to-end test of a runtime upgrade.
//! Both share one WebAssembly target folder, so the second costs one more compile of this crate.
//! `SKIP_WASM_BUILD=1` skips both, for tests that only need the native runtime.

fn main() {
	#[cfg(feature = "std")]
	{
		// First the upgrade test's blob, then the runtime's own: the last build leaves the shared
		// project as the runtime's.
		substrate_wasm_builder::WasmBuilder::init_with_defaults()
			.enable_feature("spec-next")
			.set_file_name("verity_runtime_next")
			.build();
		substrate_wasm_builder::WasmBuilder::build_using_defaults();
	}
}
