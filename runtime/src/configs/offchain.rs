//! Transactions from off-chain workers: a worker node signs its answers and jury votes with the
//! worker account's key (`vwrk`, sr25519) from its keystore, like a wallet would, and pays fees.

use alloc::vec::Vec;
use codec::Encode;
use frame_system::offchain::{
	AppCrypto, CreateBare, CreateSignedTransaction, CreateTransactionBase, SendSignedTransaction,
	Signer, SigningTypes,
};
use pallet_jobs::offchain::{LocalWorkers, SubmitError};
use sp_runtime::{
	generic::Era,
	traits::{IdentifyAccount, StaticLookup, Verify},
	MultiSignature, MultiSigner, RuntimeAppPublic, SaturatedConversion,
};

use crate::{
	configs::system::BlockHashCount, AccountId, Nonce, Runtime, RuntimeCall, Signature,
	SignedPayload, System, TxExtension, UncheckedExtrinsic,
};

/// The worker account key as an application key, so the keystore keeps it apart from others.
pub mod worker_key {
	use sp_runtime::app_crypto::{app_crypto, sr25519};
	use verity_primitives::keys::WORKER_KEY_TYPE;
	app_crypto!(sr25519, WORKER_KEY_TYPE);
}

/// Signs off-chain worker transactions with a `vwrk` key.
pub struct WorkerSigning;

impl AppCrypto<MultiSigner, MultiSignature> for WorkerSigning {
	type RuntimeAppPublic = worker_key::Public;
	type GenericSignature = sp_core::sr25519::Signature;
	type GenericPublic = sp_core::sr25519::Public;
}

/// The workers whose `vwrk` keys the node's keystore holds.
pub struct KeystoreWorkers;

impl KeystoreWorkers {
	fn keys() -> Vec<MultiSigner> {
		worker_key::Public::all()
			.into_iter()
			.map(|key| MultiSigner::from(sp_core::sr25519::Public::from(key)))
			.collect()
	}
}

impl LocalWorkers<Runtime> for KeystoreWorkers {
	fn accounts() -> Vec<AccountId> {
		Self::keys()
			.into_iter()
			.map(IdentifyAccount::into_account)
			.collect()
	}

	fn submit(who: &AccountId, call: pallet_jobs::Call<Runtime>) -> Result<(), SubmitError> {
		let keys: Vec<MultiSigner> = Self::keys()
			.into_iter()
			.filter(|key| key.clone().into_account() == *who)
			.collect();
		if keys.is_empty() {
			return Err(SubmitError::NoKey);
		}
		let sent = Signer::<Runtime, WorkerSigning>::all_accounts()
			.with_filter(keys)
			.send_signed_transaction(|_| call.clone());
		match sent.first() {
			Some((_, Ok(()))) => Ok(()),
			Some((_, Err(()))) => Err(SubmitError::Refused),
			None => Err(SubmitError::NoKey),
		}
	}
}

impl SigningTypes for Runtime {
	type Public = <Signature as Verify>::Signer;
	type Signature = Signature;
}

impl<LocalCall> CreateTransactionBase<LocalCall> for Runtime
where
	RuntimeCall: From<LocalCall>,
{
	type RuntimeCall = RuntimeCall;
	type Extrinsic = UncheckedExtrinsic;
}

impl<LocalCall> CreateBare<LocalCall> for Runtime
where
	RuntimeCall: From<LocalCall>,
{
	fn create_bare(call: RuntimeCall) -> UncheckedExtrinsic {
		UncheckedExtrinsic::new_bare(call)
	}
}

impl<LocalCall> CreateSignedTransaction<LocalCall> for Runtime
where
	RuntimeCall: From<LocalCall>,
{
	fn create_signed_transaction<
		C: AppCrypto<<Runtime as SigningTypes>::Public, <Runtime as SigningTypes>::Signature>,
	>(
		call: RuntimeCall,
		public: <Signature as Verify>::Signer,
		account: AccountId,
		nonce: Nonce,
	) -> Option<UncheckedExtrinsic> {
		// Mortal for half the span of block hashes the chain keeps.
		let period = BlockHashCount::get()
			.checked_next_power_of_two()
			.map(|c| c / 2)
			.unwrap_or(2) as u64;
		let current_block = System::block_number()
			.saturated_into::<u64>()
			.saturating_sub(1);
		let extension: TxExtension = (
			frame_system::AuthorizeCall::<Runtime>::new(),
			frame_system::CheckNonZeroSender::<Runtime>::new(),
			frame_system::CheckSpecVersion::<Runtime>::new(),
			frame_system::CheckTxVersion::<Runtime>::new(),
			frame_system::CheckGenesis::<Runtime>::new(),
			frame_system::CheckEra::<Runtime>::from(Era::mortal(period, current_block)),
			frame_system::CheckNonce::<Runtime>::from(nonce),
			frame_system::CheckWeight::<Runtime>::new(),
			pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(0),
			frame_system::WeightReclaim::<Runtime>::new(),
		);
		let payload = SignedPayload::new(call, extension)
			.inspect_err(
				|error| log::warn!(target: "runtime::offchain", "cannot build a signed payload: {error:?}"),
			)
			.ok()?;
		let signature = payload.using_encoded(|bytes| C::sign(bytes, public))?;
		let (call, extension, _) = payload.deconstruct();
		let address = <Runtime as frame_system::Config>::Lookup::unlookup(account);
		Some(UncheckedExtrinsic::new_signed(
			call, address, signature, extension,
		))
	}
}
