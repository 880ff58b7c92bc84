//! Assembles the node: client and database, transaction pool, networking, BABE block
//! production, GRANDPA finality, off-chain workers and RPC.
//!
//! Block import runs through BABE (slot claims, VRF, epoch changes) and then GRANDPA (authority
//! set changes, justifications) before the client. Both detect equivocations and report them to
//! the runtime with a key-ownership proof from the session history.

use std::{sync::Arc, time::Duration};

use futures::FutureExt;
use sc_client_api::{Backend, BlockBackend};
use sc_consensus_babe::{ImportQueueParams, SlotProportion};
use sc_consensus_grandpa::SharedVoterState;
use sc_service::{error::Error as ServiceError, Configuration, TaskManager, WarpSyncConfig};
use sc_telemetry::{Telemetry, TelemetryWorker};
use sc_transaction_pool_api::OffchainTransactionPoolFactory;
use sp_core::crypto::Ss58Codec;
use verity_inference_interface::{InferenceBackend, InferenceExt};
use verity_primitives::keys::{RECEIPT_KEY_TYPE, WORKER_KEY_TYPE};
use verity_runtime::{apis::RuntimeApi, opaque::Block};

use crate::inference::{InferenceService, WorkerConfig};

/// The host functions the runtime may call: Substrate's standard set and Verity's inference
/// functions (which answer only inside an off-chain worker of a `--worker` node).
pub type HostFunctions = (
	sp_io::SubstrateHostFunctions,
	verity_inference_interface::HostFunctions,
);

/// The client: runs the WebAssembly runtime on the chain's state.
pub type FullClient =
	sc_service::TFullClient<Block, RuntimeApi, sc_executor::WasmExecutor<HostFunctions>>;
pub type FullBackend = sc_service::TFullBackend<Block>;
type FullSelectChain = sc_consensus::LongestChain<FullBackend, Block>;
type FullGrandpaBlockImport =
	sc_consensus_grandpa::GrandpaBlockImport<FullBackend, Block, FullClient, FullSelectChain>;
/// What creates BABE's inherent data for a block: its slot and the current time.
type InherentDataCreator = fn(
	<Block as sp_runtime::traits::Block>::Hash,
	(),
) -> futures::future::Ready<
	Result<
		(
			sp_consensus_babe::inherents::InherentDataProvider,
			sp_timestamp::InherentDataProvider,
		),
		Box<dyn std::error::Error + Send + Sync>,
	>,
>;
/// The block import of a full node: BABE, then GRANDPA, then the client.
type FullBabeBlockImport = sc_consensus_babe::BabeBlockImport<
	Block,
	FullClient,
	FullGrandpaBlockImport,
	InherentDataCreator,
	FullSelectChain,
>;

/// Finality proofs are stored for every this many blocks (and for authority-set changes).
const GRANDPA_JUSTIFICATION_PERIOD: u32 = 512;

/// The parts of a node that maintenance subcommands need too.
pub type Service = sc_service::PartialComponents<
	FullClient,
	FullBackend,
	FullSelectChain,
	sc_consensus::DefaultImportQueue<Block>,
	sc_transaction_pool::TransactionPoolHandle<Block, FullClient>,
	(
		FullBabeBlockImport,
		sc_consensus_babe::BabeLink<Block>,
		sc_consensus_babe::BabeWorkerHandle<Block>,
		sc_consensus_grandpa::LinkHalf<Block, FullClient, FullSelectChain>,
		Option<Telemetry>,
	),
>;

/// BABE's inherent data for a block: the slot that the current time falls in, and the time. The
/// slot length is the runtime's ([`verity_primitives::time::SLOT_DURATION`]).
fn babe_inherent_data(
	_parent: <Block as sp_runtime::traits::Block>::Hash,
	_: (),
) -> futures::future::Ready<
	Result<
		(
			sp_consensus_babe::inherents::InherentDataProvider,
			sp_timestamp::InherentDataProvider,
		),
		Box<dyn std::error::Error + Send + Sync>,
	>,
> {
	let timestamp = sp_timestamp::InherentDataProvider::from_system_time();
	let slot = sp_consensus_babe::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
		*timestamp,
		sp_consensus_babe::SlotDuration::from_millis(verity_primitives::time::SLOT_DURATION),
	);
	futures::future::ready(Ok((slot, timestamp)))
}

/// Builds the client, database, transaction pool and import queue.
pub fn new_partial(config: &Configuration) -> Result<Service, ServiceError> {
	let telemetry = config
		.telemetry_endpoints
		.clone()
		.filter(|x| !x.is_empty())
		.map(|endpoints| -> Result<_, sc_telemetry::Error> {
			let worker = TelemetryWorker::new(16)?;
			let telemetry = worker.handle().new_telemetry(endpoints);
			Ok((worker, telemetry))
		})
		.transpose()?;

	let executor = sc_service::new_wasm_executor::<HostFunctions>(&config.executor);
	let (client, backend, keystore_container, task_manager) =
		sc_service::new_full_parts::<Block, RuntimeApi, _>(
			config,
			telemetry.as_ref().map(|(_, telemetry)| telemetry.handle()),
			executor,
			vec![],
		)?;
	let client = Arc::new(client);

	let telemetry = telemetry.map(|(worker, telemetry)| {
		task_manager
			.spawn_handle()
			.spawn("telemetry", None, worker.run());
		telemetry
	});

	let select_chain = sc_consensus::LongestChain::new(backend.clone());

	let transaction_pool = Arc::from(
		sc_transaction_pool::Builder::new(
			task_manager.spawn_essential_handle(),
			client.clone(),
			config.role.is_authority().into(),
		)
		.with_options(config.transaction_pool.clone())
		.with_prometheus(config.prometheus_registry())
		.build(),
	);

	let (grandpa_block_import, grandpa_link) = sc_consensus_grandpa::block_import(
		client.clone(),
		GRANDPA_JUSTIFICATION_PERIOD,
		&client,
		select_chain.clone(),
		telemetry.as_ref().map(|x| x.handle()),
	)?;

	let babe_config = sc_consensus_babe::configuration(&*client)?;
	if babe_config.slot_duration != verity_primitives::time::SLOT_DURATION {
		return Err(ServiceError::Other(format!(
			"the runtime's slot is {} ms, the node's {} ms",
			babe_config.slot_duration,
			verity_primitives::time::SLOT_DURATION
		)));
	}
	let slot_duration = babe_config.slot_duration();
	let (block_import, babe_link) = sc_consensus_babe::block_import(
		babe_config,
		grandpa_block_import.clone(),
		client.clone(),
		babe_inherent_data as InherentDataCreator,
		select_chain.clone(),
		OffchainTransactionPoolFactory::new(transaction_pool.clone()),
	)?;

	let (import_queue, babe_worker_handle) = sc_consensus_babe::import_queue(ImportQueueParams {
		link: babe_link.clone(),
		block_import: block_import.clone(),
		justification_import: Some(Box::new(grandpa_block_import)),
		client: client.clone(),
		slot_duration,
		spawner: &task_manager.spawn_essential_handle(),
		registry: config.prometheus_registry(),
		telemetry: telemetry.as_ref().map(|x| x.handle()),
	})?;

	Ok(sc_service::PartialComponents {
		client,
		backend,
		task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (
			block_import,
			babe_link,
			babe_worker_handle,
			grandpa_link,
			telemetry,
		),
	})
}

/// Puts the keys of the development worker `<seed>//worker` (e.g. `//Alice//worker`, registered
/// at genesis of the development chains) into the keystore, in memory only.
fn insert_dev_worker_keys(
	keystore: &sp_keystore::KeystorePtr,
	seed: &str,
) -> Result<(), ServiceError> {
	let suri = format!("{seed}//worker");
	let account = keystore
		.sr25519_generate_new(WORKER_KEY_TYPE, Some(&suri))
		.map_err(|error| ServiceError::Other(format!("cannot insert the {suri} key: {error}")))?;
	keystore
		.ed25519_generate_new(RECEIPT_KEY_TYPE, Some(&suri))
		.map_err(|error| {
			ServiceError::Other(format!("cannot insert the {suri} receipt key: {error}"))
		})?;
	log::info!(
		"👷 development worker {suri}: account {}",
		account.to_ss58check()
	);
	Ok(())
}

/// Builds and starts a full node (a validator if `--validator` or `--dev`; a worker if
/// `worker` is set).
pub fn new_full<
	N: sc_network::NetworkBackend<Block, <Block as sp_runtime::traits::Block>::Hash>,
>(
	config: Configuration,
	worker: Option<WorkerConfig>,
) -> Result<TaskManager, ServiceError> {
	let sc_service::PartialComponents {
		client,
		backend,
		mut task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (block_import, babe_link, babe_worker_handle, grandpa_link, mut telemetry),
	} = new_partial(&config)?;

	let mut net_config = sc_network::config::FullNetworkConfiguration::<
		Block,
		<Block as sp_runtime::traits::Block>::Hash,
		N,
	>::new(&config.network, config.prometheus_registry().cloned());
	let metrics = N::register_notification_metrics(config.prometheus_registry());

	let peer_store_handle = net_config.peer_store_handle();
	let genesis_hash = client
		.block_hash(0)
		.ok()
		.flatten()
		.ok_or_else(|| ServiceError::Other("the database has no genesis block".into()))?;
	let grandpa_protocol_name =
		sc_consensus_grandpa::protocol_standard_name(&genesis_hash, &config.chain_spec);
	let (grandpa_protocol_config, grandpa_notification_service) =
		sc_consensus_grandpa::grandpa_peers_set_config::<_, N>(
			grandpa_protocol_name.clone(),
			metrics.clone(),
			peer_store_handle,
		);
	net_config.add_notification_protocol(grandpa_protocol_config);

	let warp_sync = Arc::new(sc_consensus_grandpa::warp_proof::NetworkProvider::new(
		backend.clone(),
		grandpa_link.shared_authority_set().clone(),
		Vec::default(),
	));

	let (network, system_rpc_tx, tx_handler_controller, sync_service, _bitswap) =
		sc_service::build_network(sc_service::BuildNetworkParams {
			config: &config,
			net_config,
			client: client.clone(),
			transaction_pool: transaction_pool.clone(),
			spawn_handle: task_manager.spawn_handle(),
			spawn_essential_handle: task_manager.spawn_essential_handle(),
			import_queue,
			block_announce_validator_builder: None,
			warp_sync_config: Some(WarpSyncConfig::WithProvider(warp_sync)),
			block_relay: None,
			metrics,
			gap_sync_body_policy: None,
		})?;

	let inference = match &worker {
		Some(worker) => Some(
			InferenceService::start(worker, config.prometheus_registry())
				.map_err(ServiceError::Other)?,
		),
		None => None,
	};
	if let Some(worker) = &worker {
		let keystore = keystore_container.keystore();
		if let Some(seed) = &config.dev_key_seed {
			insert_dev_worker_keys(&keystore, seed)?;
		}
		if keystore.sr25519_public_keys(WORKER_KEY_TYPE).is_empty() {
			log::warn!(
				"--worker: no worker key in the keystore, so no job will be answered. Run \
				 `verity worker init --secret-file FILE` against this node, or insert the worker \
				 account's key with `verity-node key insert --key-type vwrk --scheme sr25519` and \
				 its receipt key with `--key-type vrcp --scheme ed25519`."
			);
		}
		crate::self_check::spawn(
			&task_manager,
			client.clone(),
			keystore,
			worker.models.clone(),
		);
	}

	// A worker node runs off-chain workers even when it does not author blocks.
	if config.offchain_worker.enabled || inference.is_some() {
		let offchain_workers =
			sc_offchain::OffchainWorkers::new(sc_offchain::OffchainWorkerOptions {
				runtime_api_provider: client.clone(),
				is_validator: config.role.is_authority(),
				keystore: Some(keystore_container.keystore()),
				offchain_db: backend.offchain_storage(),
				transaction_pool: Some(OffchainTransactionPoolFactory::new(
					transaction_pool.clone(),
				)),
				network_provider: Arc::new(network.clone()),
				enable_http_requests: false,
				custom_extensions: move |_| match &inference {
					Some(service) => vec![Box::new(InferenceExt::new(
						service.clone() as Arc<dyn InferenceBackend>
					)) as Box<_>],
					None => vec![],
				},
			})?;
		task_manager.spawn_handle().spawn(
			"offchain-workers-runner",
			"offchain-worker",
			offchain_workers
				.run(client.clone(), task_manager.spawn_handle())
				.boxed(),
		);
	}

	// BABE's epoch worker (spawned by the import queue as an essential task) answers requests for
	// epoch data through its handles and stops when the last handle is dropped, which would stop
	// the node. No RPC asks it yet (there is no BABE RPC), so a task of its own keeps the handle.
	task_manager
		.spawn_handle()
		.spawn("babe-worker-handle", None, async move {
			let _handle = babe_worker_handle;
			futures::future::pending::<()>().await
		});

	let role = config.role;
	let force_authoring = config.force_authoring;
	let name = config.network.node_name.clone();
	let enable_grandpa = !config.disable_grandpa;
	let prometheus_registry = config.prometheus_registry().cloned();

	let rpc_extensions_builder = {
		let client = client.clone();
		let pool = transaction_pool.clone();
		Box::new(move |_| {
			let deps = crate::rpc::FullDeps {
				client: client.clone(),
				pool: pool.clone(),
			};
			crate::rpc::create_full(deps).map_err(Into::into)
		})
	};

	sc_service::spawn_tasks(sc_service::SpawnTasksParams {
		network: network.clone(),
		client: client.clone(),
		keystore: keystore_container.keystore(),
		task_manager: &mut task_manager,
		transaction_pool: transaction_pool.clone(),
		rpc_builder: rpc_extensions_builder,
		backend,
		system_rpc_tx,
		tx_handler_controller,
		sync_service: sync_service.clone(),
		config,
		telemetry: telemetry.as_mut(),
		tracing_execute_block: None,
	})?;

	if role.is_authority() {
		let proposer_factory = sc_basic_authorship::ProposerFactory::new(
			task_manager.spawn_handle(),
			client.clone(),
			transaction_pool.clone(),
			prometheus_registry.as_ref(),
			telemetry.as_ref().map(|x| x.handle()),
		);

		let babe = sc_consensus_babe::start_babe(sc_consensus_babe::BabeParams {
			keystore: keystore_container.keystore(),
			client,
			select_chain,
			env: proposer_factory,
			block_import,
			sync_oracle: sync_service.clone(),
			justification_sync_link: sync_service.clone(),
			create_inherent_data_providers: babe_inherent_data as InherentDataCreator,
			force_authoring,
			backoff_authoring_blocks: Option::<()>::None,
			babe_link,
			block_proposal_slot_portion: SlotProportion::new(2f32 / 3f32),
			max_block_proposal_slot_portion: None,
			telemetry: telemetry.as_ref().map(|x| x.handle()),
		})?;

		// Block authoring is essential: if it fails, the node stops.
		task_manager.spawn_essential_handle().spawn_blocking(
			"babe-proposer",
			Some("block-authoring"),
			babe,
		);
	}

	if enable_grandpa {
		// Only an authority votes, so only an authority needs the keystore.
		let keystore = if role.is_authority() {
			Some(keystore_container.keystore())
		} else {
			None
		};

		let grandpa_config = sc_consensus_grandpa::Config {
			gossip_duration: Duration::from_millis(333),
			justification_generation_period: GRANDPA_JUSTIFICATION_PERIOD,
			name: Some(name),
			observer_enabled: false,
			keystore,
			local_role: role,
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			protocol_name: grandpa_protocol_name,
		};

		let grandpa_params = sc_consensus_grandpa::GrandpaParams {
			config: grandpa_config,
			link: grandpa_link,
			network,
			sync: Arc::new(sync_service),
			notification_service: grandpa_notification_service,
			voting_rule: sc_consensus_grandpa::VotingRulesBuilder::default().build(),
			prometheus_registry,
			shared_voter_state: SharedVoterState::empty(),
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			offchain_tx_pool_factory: OffchainTransactionPoolFactory::new(transaction_pool),
		};

		// The GRANDPA voter is essential too.
		task_manager.spawn_essential_handle().spawn_blocking(
			"grandpa-voter",
			None,
			sc_consensus_grandpa::run_grandpa_voter(grandpa_params)?,
		);
	}

	Ok(task_manager)
}
