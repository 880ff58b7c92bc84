//! Chain specifications: the built-in `dev` and `local` chains, the `live-template`, or a JSON
//! file.

use sc_service::{ChainType, Properties};
use verity_primitives::token;
use verity_runtime::WASM_BINARY;

/// A chain specification of the Verity runtime. Building its genesis runs the runtime, which
/// imports Verity's inference host functions, so the executor that does it must provide them.
pub type ChainSpec = sc_service::GenericChainSpec<
	sc_service::NoExtension,
	verity_inference_interface::HostFunctions,
>;

/// What wallets show for the native token: symbol, decimals, address prefix.
fn token_properties() -> Properties {
	let mut properties = Properties::new();
	properties.insert("tokenSymbol".into(), token::SYMBOL.into());
	properties.insert("tokenDecimals".into(), token::DECIMALS.into());
	properties.insert("ss58Format".into(), 42.into());
	properties
}

fn wasm_binary() -> Result<&'static [u8], String> {
	WASM_BINARY.ok_or_else(|| {
		"the WebAssembly runtime is not in this binary: it was built with SKIP_WASM_BUILD; \
		 rebuild without it"
			.to_string()
	})
}

/// `--dev`: a single-authority chain (Alice) from the runtime's `development` preset.
pub fn development_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm_binary()?, None)
		.with_name("Verity Development")
		.with_id("verity_dev")
		.with_chain_type(ChainType::Development)
		.with_genesis_config_preset_name(sp_genesis_builder::DEV_RUNTIME_PRESET)
		.with_properties(token_properties())
		.build())
}

/// `--chain local`: four authorities (Alice, Bob, Charlie, Dave) from the `local_testnet` preset.
pub fn local_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm_binary()?, None)
		.with_name("Verity Local Testnet")
		.with_id("verity_local")
		.with_chain_type(ChainType::Local)
		.with_genesis_config_preset_name(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET)
		.with_properties(token_properties())
		.build())
}

/// `--chain live-template`: the runtime's `live` preset, a network without sudo. It is a
/// template, not a chain: its authorities, council and balances are empty, and its operators
/// fill them in the JSON (`build-spec --chain live-template > live.json`, edit, then
/// `build-spec --chain live.json --raw`). Root is reached only through the council.
pub fn live_template_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm_binary()?, None)
		.with_name("Verity")
		.with_id("verity")
		.with_chain_type(ChainType::Live)
		.with_genesis_config_preset_name(verity_runtime::genesis_config_presets::LIVE_PRESET)
		.with_properties(token_properties())
		.build())
}

/// Resolves `--chain ID`: a built-in name, or the path of a JSON chain spec. Anything else is a
/// clear error rather than a silent fallback.
pub fn load(id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
	Ok(match id {
		"dev" | "development" => Box::new(development_chain_spec()?),
		"" | "local" | "local_testnet" => Box::new(local_chain_spec()?),
		"live-template" => Box::new(live_template_chain_spec()?),
		path => {
			let path = std::path::PathBuf::from(path);
			if !path.is_file() {
				return Err(format!(
					"unknown chain '{}': expected 'dev', 'local', 'live-template', or the path of a \
					 chain spec JSON file",
					path.display()
				));
			}
			Box::new(ChainSpec::from_json_file(path)?)
		}
	})
}
