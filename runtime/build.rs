//! Compiles the runtime to WebAssembly (the on-chain code) next to the native build.
//! `SKIP_WASM_BUILD=1` skips it, for tests that only need the native runtime.

fn main() {
	#[cfg(feature = "std")]
	substrate_wasm_builder::WasmBuilder::build_using_defaults();
}
