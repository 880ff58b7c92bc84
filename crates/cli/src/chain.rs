//! The chain client of the chain commands: the connection, the signer, storage reads decoded into
//! the pallets' own types, and transactions whose failures are reported by their pallet error's
//! name and documentation from the metadata.

use std::path::PathBuf;

use clap::Args;
use codec::Decode;
use subxt::{
	dynamic::{self, Value},
	error::{DispatchError, TransactionEventsError},
	ext::frame_decode::storage::{IntoDecodableValues, IntoEncodableValues},
	extrinsics::ExtrinsicEvents,
	rpcs::{rpc_params, RpcClient},
	transactions::Payload,
	OnlineClient, PolkadotConfig,
};
use subxt_signer::{sr25519::Keypair, SecretUri};

use verity_primitives::{AccountId, Balance};

use crate::error::CliError;

/// A client of a Verity node: subxt's client, and the raw RPC connection under it (for the
/// pool-aware nonce and the node's own methods).
pub struct Api {
	client: OnlineClient<PolkadotConfig>,
	/// The JSON-RPC connection the client runs on.
	pub rpc: RpcClient,
}

impl std::ops::Deref for Api {
	type Target = OnlineClient<PolkadotConfig>;

	fn deref(&self) -> &Self::Target {
		&self.client
	}
}

impl Api {
	/// The next nonce of `who` as the node's transaction pool sees it
	/// (`system_accountNextIndex`): it counts transactions still in the pool or in blocks not yet
	/// finalized, which the finalized state does not.
	pub async fn pool_nonce(&self, who: &AccountId) -> Result<u64, CliError> {
		let ss58 = subxt::utils::AccountId32(who.clone().into()).to_string();
		self.rpc
			.request("system_accountNextIndex", rpc_params![ss58])
			.await
			.map_err(|e| CliError::Chain(format!("system_accountNextIndex: {e}")))
	}

	/// Whether `who` has a transaction sent but not yet finalized.
	pub async fn has_pending(&self, who: &AccountId) -> Result<bool, CliError> {
		let finalized = self
			.at_current_block()
			.await
			.map_err(|e| CliError::Chain(e.to_string()))?
			.transactions()
			.account_nonce(&subxt::utils::AccountId32(who.clone().into()))
			.await
			.map_err(|e| CliError::Chain(e.to_string()))?;
		Ok(self.pool_nonce(who).await? > finalized)
	}
}

/// `frame_system::AccountInfo` of the Verity runtime, with `pallet_balances::AccountData`
/// (a hold, such as a challenge bond or a proposal deposit, is counted in `reserved`).
#[derive(Decode)]
pub struct AccountInfo {
	_nonce: u32,
	_consumers: u32,
	_providers: u32,
	_sufficients: u32,
	/// What the account can spend or have held.
	pub free: Balance,
	/// What is held from it.
	pub reserved: Balance,
	_frozen: Balance,
	_flags: u128,
}

/// Call fields SCALE-encoded with the pallet's own types (`codec`), for a call whose arguments
/// are nested records (`propose_model`'s `ModelInfo`) that a dynamic value would spell out field
/// by field. Only the number of fields is checked against the metadata here; the unit test of
/// `metadata_check` decodes such bytes as the runtime's own call.
pub struct EncodedFields {
	count: usize,
	bytes: Vec<u8>,
}

impl EncodedFields {
	/// `count` fields, SCALE-encoded one after the other in `bytes`.
	pub fn new(count: usize, bytes: Vec<u8>) -> Self {
		Self { count, bytes }
	}
}

impl subxt::ext::scale_encode::EncodeAsFields for EncodedFields {
	fn encode_as_fields_to<R: subxt::ext::scale_encode::TypeResolver>(
		&self,
		fields: &mut dyn subxt::ext::scale_encode::FieldIter<'_, R::TypeId>,
		_types: &R,
		out: &mut Vec<u8>,
	) -> Result<(), subxt::ext::scale_encode::Error> {
		if fields.len() != self.count {
			return Err(subxt::ext::scale_encode::Error::custom_string(format!(
				"the call takes {} fields, this CLI encodes {}: is the CLI as new as the node?",
				fields.len(),
				self.count
			)));
		}
		out.extend_from_slice(&self.bytes);
		Ok(())
	}
}

/// What the runtime says of a call (`TransactionPaymentCallApi_query_call_info`).
pub struct CallInfo {
	/// Its weight's computation time.
	pub ref_time: u64,
	/// Its weight's proof size.
	pub proof_size: u64,
	/// The fee of a transaction of `len` bytes carrying it, before any tip.
	pub partial_fee: Balance,
}

/// The weight and fee of the SCALE-encoded `call` (pallet and call index first), for a
/// transaction of `len` bytes, as the runtime at the finalized head computes them.
pub async fn call_info(api: &Api, call: &[u8], len: usize) -> Result<CallInfo, CliError> {
	let failed = |e: String| CliError::Chain(format!("the call's weight and fee: {e}"));
	let mut args = call.to_vec();
	args.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
	let info = api
		.at_current_block()
		.await
		.map_err(|e| failed(e.to_string()))?
		.runtime_apis()
		.call_raw("TransactionPaymentCallApi_query_call_info", Some(&args))
		.await
		.map_err(|e| failed(e.to_string()))?;
	// `RuntimeDispatchInfo`: the weight (two compact u64s), the dispatch class, the fee.
	let (ref_time, proof_size, _class, partial_fee) =
		<(codec::Compact<u64>, codec::Compact<u64>, u8, Balance)>::decode(&mut &info[..])
			.map_err(|e| failed(e.to_string()))?;
	Ok(CallInfo {
		ref_time: ref_time.0,
		proof_size: proof_size.0,
		partial_fee,
	})
}

/// The call `pallet::name` with its `fields` already encoded, pallet and call index first: the
/// bytes a `RuntimeCall` encodes to.
pub async fn call_bytes(
	api: &Api,
	pallet: &str,
	name: &str,
	fields: &[u8],
) -> Result<Vec<u8>, CliError> {
	let metadata = api
		.at_current_block()
		.await
		.map_err(|e| CliError::Chain(e.to_string()))?
		.metadata();
	let pallet_metadata = metadata
		.pallet_by_name(pallet)
		.ok_or_else(|| CliError::Chain(format!("the runtime has no pallet {pallet}")))?;
	let call = pallet_metadata
		.call_variant_by_name(name)
		.ok_or_else(|| CliError::Chain(format!("the runtime has no call {pallet}::{name}")))?;
	let mut bytes = vec![pallet_metadata.call_index(), call.index];
	bytes.extend_from_slice(fields);
	Ok(bytes)
}

/// A call whose fields are already encoded, for `submit`.
pub fn encoded_call(pallet: &str, name: &str, fields: EncodedFields) -> impl Payload {
	dynamic::transaction(pallet, name, fields)
}

/// Where the chain is and who signs: the options every chain command takes.
#[derive(Args, Clone)]
pub struct ChainArgs {
	/// The node's WebSocket RPC endpoint.
	#[arg(long, global = true, default_value = "ws://127.0.0.1:9944")]
	pub url: String,
	/// A development account to sign with (`//Alice`, `//Bob//worker`). Real secrets never go on
	/// the command line (shell history, `ps`): put them in $VERITY_SURI or in a file.
	#[arg(long, global = true)]
	pub suri: Option<String>,
	/// A file holding the signer's secret URI (a mnemonic, a hex seed or a dev URI).
	#[arg(long, global = true)]
	pub suri_file: Option<PathBuf>,
}

impl ChainArgs {
	/// Connects to the node.
	pub async fn connect(&self) -> Result<Api, CliError> {
		let unreachable = |error: String| CliError::Unreachable {
			url: self.url.clone(),
			error,
		};
		let rpc = if self.url.starts_with("ws://") || self.url.starts_with("http://") {
			RpcClient::from_insecure_url(&self.url).await
		} else {
			RpcClient::from_url(&self.url).await
		}
		.map_err(|e| unreachable(e.to_string()))?;
		let client = OnlineClient::from_rpc_client(rpc.clone())
			.await
			.map_err(|e| unreachable(e.to_string()))?;
		Ok(Api { client, rpc })
	}

	/// Whether a signer is given (`--suri`, `--suri-file` or `$VERITY_SURI`), readable or not.
	pub fn has_signer(&self) -> bool {
		self.suri.is_some() || self.suri_file.is_some() || std::env::var_os("VERITY_SURI").is_some()
	}

	/// The signer: `--suri` (development URIs only), else `--suri-file`, else `$VERITY_SURI`.
	/// The secret itself never appears in an error.
	pub fn signer(&self) -> Result<Keypair, CliError> {
		let (uri, from) = self.secret_uri()?;
		let parsed: SecretUri = uri
			.parse()
			.map_err(|_| CliError::Signer(format!("the secret URI in {from} is malformed")))?;
		Keypair::from_uri(&parsed)
			.map_err(|_| CliError::Signer(format!("the secret URI in {from} is not a valid key")))
	}

	/// The ed25519 public key of the signer's secret URI: a worker's receipt key, as `worker
	/// init` and the development workers make it (the same secret for both schemes).
	pub fn receipt_key(&self) -> Result<[u8; 32], CliError> {
		use sp_core::crypto::Pair as _;
		let (uri, from) = self.secret_uri()?;
		sp_core::ed25519::Pair::from_string(&uri, None)
			.map(|pair| pair.public().0)
			.map_err(|_| CliError::Signer(format!("the secret URI in {from} gives no ed25519 key")))
	}

	/// The signer's secret URI and where it came from.
	fn secret_uri(&self) -> Result<(String, &'static str), CliError> {
		let (uri, from) = if let Some(uri) = &self.suri {
			if !uri.starts_with("//") {
				return Err(CliError::Signer(
					"--suri takes only development URIs such as //Alice; put a real secret in \
					 $VERITY_SURI or in a file given with --suri-file"
						.into(),
				));
			}
			(uri.clone(), "--suri")
		} else if let Some(path) = &self.suri_file {
			let text = std::fs::read_to_string(path).map_err(|e| {
				CliError::Signer(format!("cannot read --suri-file {}: {e}", path.display()))
			})?;
			(text.trim().to_string(), "--suri-file")
		} else if let Ok(uri) = std::env::var("VERITY_SURI") {
			(uri.trim().to_string(), "$VERITY_SURI")
		} else {
			return Err(CliError::Signer(
				"this command signs a transaction: give --suri //Alice (development), \
				 --suri-file PATH or $VERITY_SURI"
					.into(),
			));
		};
		Ok((uri, from))
	}
}

/// Reads a storage entry at the finalized head and decodes it into `V`, the pallet's own type
/// (so a layout this CLI does not know is an error, never a wrong reading); `None` if absent.
pub async fn read<K, V>(api: &Api, pallet: &str, entry: &str, key: K) -> Result<Option<V>, CliError>
where
	K: IntoEncodableValues + IntoDecodableValues,
	V: Decode,
{
	read_at(api, None, pallet, entry, key).await
}

/// As [`read`], at finalized block `number` (`None`: the finalized head). An old block's state
/// is there only while the node keeps it (the last 256 blocks unless it is an archive node).
pub async fn read_at<K, V>(
	api: &Api,
	number: Option<u64>,
	pallet: &str,
	entry: &str,
	key: K,
) -> Result<Option<V>, CliError>
where
	K: IntoEncodableValues + IntoDecodableValues,
	V: Decode,
{
	let at = match number {
		Some(number) => api.at_block(number).await,
		None => api.at_current_block().await,
	}
	.map_err(|e| CliError::Chain(e.to_string()))?;
	let address = dynamic::storage::<K, Value>(pallet, entry);
	let Some(value) = at
		.storage()
		.try_fetch(address, key)
		.await
		.map_err(|e| CliError::Chain(e.to_string()))?
	else {
		return Ok(None);
	};
	V::decode(&mut value.bytes()).map(Some).map_err(|e| {
		CliError::Chain(format!(
			"{pallet}::{entry} does not decode as this CLI expects ({e}): is the CLI as new as \
			 the node?"
		))
	})
}

/// The runtime constant `pallet::name`, decoded into `V`.
pub async fn constant<V: subxt::ext::scale_decode::DecodeAsType>(
	api: &Api,
	pallet: &str,
	name: &str,
) -> Result<V, CliError> {
	api.at_current_block()
		.await
		.map_err(|e| CliError::Chain(e.to_string()))?
		.constants()
		.entry(dynamic::constant::<V>(pallet, name))
		.map_err(|e| CliError::Chain(format!("the constant {pallet}::{name}: {e}")))
}

/// Every entry of the storage map `pallet::entry` (one `u64` key) at the finalized head, as its
/// key and its value decoded into `V`, the pallet's own type; in storage order.
pub async fn read_map<V: Decode>(
	api: &Api,
	pallet: &str,
	entry: &str,
) -> Result<Vec<(u64, V)>, CliError> {
	read_entries(api, pallet, entry, concat_u64_key).await
}

/// Every entry of the storage map `pallet::entry` keyed by an account (hashed with
/// `Blake2_128Concat`) at the finalized head; in storage order.
pub async fn read_account_map<V: Decode>(
	api: &Api,
	pallet: &str,
	entry: &str,
) -> Result<Vec<(AccountId, V)>, CliError> {
	read_entries(api, pallet, entry, |key| {
		let bytes: [u8; 32] = key.get(key.len().checked_sub(32)?..)?.try_into().ok()?;
		Some(AccountId::new(bytes))
	})
	.await
}

/// Every entry of a storage map with one key at the finalized head, its key read from the end
/// of the storage key by `key_of` and its value decoded into `V`.
async fn read_entries<K, V: Decode>(
	api: &Api,
	pallet: &str,
	entry: &str,
	key_of: impl Fn(&[u8]) -> Option<K>,
) -> Result<Vec<(K, V)>, CliError> {
	let chain = |e: String| CliError::Chain(e);
	let at = api
		.at_current_block()
		.await
		.map_err(|e| chain(e.to_string()))?;
	let address = dynamic::storage::<(Value,), Value>(pallet, entry);
	let mut entries = at
		.storage()
		.iter(address, ())
		.await
		.map_err(|e| chain(e.to_string()))?;
	let mut all = Vec::new();
	while let Some(entry_value) = entries.next().await {
		let entry_value = entry_value.map_err(|e| chain(e.to_string()))?;
		let key = key_of(entry_value.key_bytes()).ok_or_else(|| {
			chain(format!(
				"{pallet}::{entry} has a key this CLI cannot read: is the CLI as new as the node?"
			))
		})?;
		let value = V::decode(&mut entry_value.value().bytes()).map_err(|e| {
			chain(format!(
				"{pallet}::{entry} does not decode as this CLI expects ({e}): is the CLI as new \
				 as the node?"
			))
		})?;
		all.push((key, value));
	}
	Ok(all)
}

/// The `u64` at the end of a storage key hashed with `Twox64Concat` or `Blake2_128Concat` (the
/// key itself follows its hash), if the key is long enough to hold one.
fn concat_u64_key(key: &[u8]) -> Option<u64> {
	let bytes: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
	Some(u64::from_le_bytes(bytes))
}

/// Signs `call` with `signer`, waits until its block is finalized, and returns its events, or
/// the pallet error (name and documentation) that refused it. The nonce is the pool's
/// (`system_accountNextIndex`), so a transaction sent while an earlier one of the same account
/// is pending queues behind it instead of being refused.
pub async fn submit(
	api: &Api,
	call: &impl Payload,
	signer: &Keypair,
) -> Result<ExtrinsicEvents<PolkadotConfig>, CliError> {
	submit_serialized(api, call, signer, &tokio::sync::Mutex::new(0)).await
}

/// As [`submit`], for a process that sends several transactions of one account at once (the
/// gateway's requests). `next_nonce` is the nonce after the last transaction this process sent
/// for the account; it is held from choosing the nonce until the pool took the transaction.
/// The pool's own count (`system_accountNextIndex`) is not enough: a transaction just accepted
/// may not be counted yet, and two requests would then sign one nonce twice (the second is
/// refused as "priority too low").
pub async fn submit_serialized(
	api: &Api,
	call: &impl Payload,
	signer: &Keypair,
	next_nonce: &tokio::sync::Mutex<u64>,
) -> Result<ExtrinsicEvents<PolkadotConfig>, CliError> {
	let rpc = |e: String| CliError::Chain(e);
	let (sent, nonce) = {
		let mut next = next_nonce.lock().await;
		let nonce = api
			.pool_nonce(&AccountId::new(signer.public_key().0))
			.await?
			.max(*next);
		let params = subxt::config::DefaultExtrinsicParamsBuilder::<PolkadotConfig>::new()
			.nonce(nonce)
			.build();
		let sent = api
			.at_current_block()
			.await
			.map_err(|e| rpc(e.to_string()))?
			.transactions()
			.sign_and_submit_then_watch(call, signer, params)
			.await
			.map_err(|e| CliError::NotSent(format!("the node refused the transaction: {e}")))?;
		*next = nonce.saturating_add(1);
		(sent, nonce)
	};
	let in_block = match sent.wait_for_finalized().await {
		Ok(in_block) => in_block,
		Err(error) => {
			// Dropped or invalid: its nonce may be free again, so the next transaction may take
			// it (later ones still in flight keep theirs; the pool fills the gap).
			let mut next = next_nonce.lock().await;
			*next = (*next).min(nonce);
			return Err(rpc(error.to_string()));
		}
	};
	in_block
		.wait_for_success()
		.await
		.map_err(|error| match error {
			TransactionEventsError::ExtrinsicFailed(DispatchError::Module(module)) => {
				match module.details() {
					Ok(details) => CliError::Refused {
						error: format!("{}::{}", details.pallet.name(), details.variant.name),
						docs: details.variant.docs.join(" "),
					},
					Err(_) => CliError::Refused {
						error: module.details_string(),
						docs: String::new(),
					},
				}
			}
			TransactionEventsError::ExtrinsicFailed(other) => CliError::Refused {
				error: format!("{other:?}"),
				docs: other.to_string(),
			},
			other => rpc(other.to_string()),
		})
}

/// The first `pallet::name` event among a transaction's `events`, its fields decoded into `E`;
/// `None` if there is none (or it does not decode as `E`).
pub fn event<E: subxt::ext::scale_decode::DecodeAsFields>(
	events: &ExtrinsicEvents<PolkadotConfig>,
	pallet: &str,
	name: &str,
) -> Option<E> {
	events
		.iter()
		.filter_map(Result::ok)
		.find(|event| event.pallet_name() == pallet && event.event_name() == name)
		.and_then(|event| event.decode_fields_unchecked_as::<E>().ok())
}

/// A dynamic call value, for `submit`.
pub fn call(pallet: &str, name: &str, fields: Vec<Value>) -> impl Payload {
	dynamic::transaction(pallet, name, fields)
}

#[cfg(test)]
mod tests {
	use super::concat_u64_key;

	#[test]
	fn the_key_of_a_concat_hashed_map_is_its_last_eight_bytes() {
		let mut key = vec![0xaa; 32 + 8];
		key.extend(42u64.to_le_bytes());
		assert_eq!(concat_u64_key(&key), Some(42));
		assert_eq!(concat_u64_key(&[1, 2, 3]), None, "too short for a u64");
	}
}
