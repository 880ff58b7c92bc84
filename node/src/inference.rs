//! The node's inference service: the models a worker node serves, loaded once with their hashes
//! checked, and a queue that runs the off-chain workers' requests off the block-import path.
//!
//! * One background thread runs the models, one request at a time, at a lower scheduling
//!   priority (nice 10) than the node's other threads: block authoring, import and GRANDPA win
//!   the cores whenever they need them, so a validator that serves jobs keeps its block time. The
//!   engine's own compute threads start from this thread and inherit its priority.
//! * The queue is bounded ([`QUEUE_CAPACITY`]); a request beyond it is answered
//!   [`InferenceError::Busy`] and the off-chain worker asks again in a later block.
//! * Outputs are kept ([`RESULTS_KEPT`]) until asked for, so a jury seat or a resent answer does
//!   not run the model twice; a failure is reported once, and asking again runs it again.
//! * Prometheus: `verity_inference_jobs_total`, `verity_inference_failures_total` and the
//!   `verity_inference_seconds` histogram, by model; `verity_inference_queue_depth`.

use std::{
	collections::{HashMap, HashSet, VecDeque},
	path::PathBuf,
	sync::{
		mpsc::{sync_channel, Receiver, SyncSender, TrySendError},
		Arc, Mutex, MutexGuard,
	},
	time::Instant,
};

use codec::Encode;
use substrate_prometheus_endpoint::{
	register, CounterVec, Gauge, HistogramOpts, HistogramVec, Opts, PrometheusError, Registry, U64,
};
use verity_inference::{digest::to_hex, LoadedModel, ModelId};
use verity_inference_interface::{InferenceBackend, InferenceError, InferencePoll};
use verity_primitives::job::{Embedding, JobInput, JobOutput};

/// Requests waiting to run, at most.
pub const QUEUE_CAPACITY: usize = 64;
/// Finished outputs kept for later asks, at most (oldest dropped first).
pub const RESULTS_KEPT: usize = 1024;

const LOG_TARGET: &str = "verity::inference";

/// What `--worker` and its companion flags ask for.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
	/// Where the model files are.
	pub models_dir: PathBuf,
	/// The models to serve.
	pub models: Vec<ModelId>,
	/// FOR TESTS ONLY: alter every output, to play a lying worker.
	pub alter_outputs: bool,
}

/// A request in the queue.
struct Request {
	key: [u8; 32],
	model: ModelId,
	input: JobInput,
}

/// What the service knows about requests.
#[derive(Default)]
struct Book {
	/// Queued or running.
	pending: HashSet<[u8; 32]>,
	/// Finished, with the order in which they finished (for eviction).
	done: HashMap<[u8; 32], InferencePoll>,
	order: VecDeque<[u8; 32]>,
}

/// The running service; cheap to share (`Arc`).
pub struct InferenceService {
	/// Registry model hash -> the catalog model that has it.
	served: HashMap<[u8; 32], ModelId>,
	queue: SyncSender<Request>,
	book: Arc<Mutex<Book>>,
	metrics: Option<Metrics>,
}

impl InferenceService {
	/// Loads every model of `config` (refusing a missing or altered file) and starts the runner.
	pub fn start(config: &WorkerConfig, registry: Option<&Registry>) -> Result<Arc<Self>, String> {
		let mut loaded = HashMap::new();
		for id in &config.models {
			let started = Instant::now();
			let mut model = LoadedModel::load(*id, &config.models_dir).map_err(|error| {
				format!(
					"--worker: cannot serve model {}: {error}. Fetch the models with \
					 ./scripts/fetch-models.sh or point --models-dir at them (now {}).",
					id.name(),
					config.models_dir.display()
				)
			})?;
			log::info!(
				target: LOG_TARGET,
				"🧠 serving {} (model hash 0x{}), loaded and checked in {:.1?}",
				id.name(),
				to_hex(id.model_hash().as_bytes()),
				started.elapsed()
			);
			log_capacity_hint(*id, &mut model);
			loaded.insert(*id, model);
		}
		let metrics = registry
			.map(Metrics::register)
			.transpose()
			.map_err(|error| format!("cannot register the inference metrics: {error}"))?;
		// Every served model's counters exist from the start, at zero, so a dashboard or an
		// alert on them sees 0 rather than no series.
		if let Some(metrics) = &metrics {
			for id in &config.models {
				metrics.runs.with_label_values(&[id.name()]).reset();
				metrics.failures.with_label_values(&[id.name()]).reset();
			}
		}
		let (queue, requests) = sync_channel(QUEUE_CAPACITY);
		let book = Arc::new(Mutex::new(Book::default()));
		let served = config
			.models
			.iter()
			.map(|id| (id.model_hash().0, *id))
			.collect();
		let runner = Runner {
			models: loaded,
			book: book.clone(),
			metrics: metrics.clone(),
			alter_outputs: config.alter_outputs,
		};
		std::thread::Builder::new()
			.name("verity-inference".into())
			.spawn(move || runner.run(requests))
			.map_err(|error| format!("cannot start the inference thread: {error}"))?;
		if config.alter_outputs {
			log::warn!(
				target: LOG_TARGET,
				"⚠️  --test-fault-alter-outputs: this worker answers WRONG outputs on purpose and will \
				 be slashed. For tests only."
			);
		}
		Ok(Arc::new(Self {
			served,
			queue,
			book,
			metrics,
		}))
	}

	fn book(&self) -> MutexGuard<'_, Book> {
		// A panic while the lock was held cannot leave the book inconsistent (every update is
		// one insert or remove), so a poisoned lock is used as it is.
		self.book
			.lock()
			.unwrap_or_else(|poisoned| poisoned.into_inner())
	}
}

impl InferenceBackend for InferenceService {
	fn poll(&self, model_hash: [u8; 32], input: JobInput) -> InferencePoll {
		let Some(model) = self.served.get(&model_hash).copied() else {
			return InferencePoll::Failed(InferenceError::UnknownModel);
		};
		let key = verity_primitives::blake2_256(&(model_hash, &input).encode()).0;
		let mut book = self.book();
		match book.done.get(&key) {
			Some(InferencePoll::Failed(_)) => {
				// Reported once; the next ask runs it again.
				book.order.retain(|k| *k != key);
				return book.done.remove(&key).unwrap_or(InferencePoll::Pending);
			}
			Some(answer) => return answer.clone(),
			None => {}
		}
		if book.pending.contains(&key) {
			return InferencePoll::Pending;
		}
		match self.queue.try_send(Request { key, model, input }) {
			Ok(()) => {
				book.pending.insert(key);
				if let Some(metrics) = &self.metrics {
					metrics.queue.set(book.pending.len() as u64);
				}
				InferencePoll::Pending
			}
			Err(TrySendError::Full(_)) => InferencePoll::Failed(InferenceError::Busy),
			Err(TrySendError::Disconnected(_)) => InferencePoll::Failed(InferenceError::Engine(
				b"the inference thread has stopped".to_vec(),
			)),
		}
	}
}

/// The background thread's state.
struct Runner {
	models: HashMap<ModelId, LoadedModel>,
	book: Arc<Mutex<Book>>,
	metrics: Option<Metrics>,
	alter_outputs: bool,
}

impl Runner {
	fn run(mut self, requests: Receiver<Request>) {
		lower_priority();
		while let Ok(Request { key, model, input }) = requests.recv() {
			let started = Instant::now();
			let result = match self.models.get_mut(&model) {
				Some(loaded) => loaded.run(&input).map_err(|error| error.to_string()),
				None => Err(format!("model {} is not loaded", model.name())),
			};
			let seconds = started.elapsed().as_secs_f64();
			let answer = match result {
				Ok(output) => {
					log::debug!(
						target: LOG_TARGET,
						"{} ran a job in {seconds:.2} s (output 0x{})",
						model.name(),
						to_hex(output.hash().as_bytes())
					);
					if let Some(metrics) = &self.metrics {
						metrics.runs.with_label_values(&[model.name()]).inc();
						metrics
							.seconds
							.with_label_values(&[model.name()])
							.observe(seconds);
					}
					InferencePoll::Ready(if self.alter_outputs {
						alter(output)
					} else {
						output
					})
				}
				Err(message) => {
					log::warn!(target: LOG_TARGET, "{} failed: {message}", model.name());
					if let Some(metrics) = &self.metrics {
						metrics.failures.with_label_values(&[model.name()]).inc();
					}
					InferencePoll::Failed(InferenceError::Engine(message.into_bytes()))
				}
			};
			let mut book = self
				.book
				.lock()
				.unwrap_or_else(|poisoned| poisoned.into_inner());
			book.pending.remove(&key);
			if book.done.insert(key, answer).is_none() {
				book.order.push_back(key);
			}
			while book.order.len() > RESULTS_KEPT {
				if let Some(oldest) = book.order.pop_front() {
					book.done.remove(&oldest);
				}
			}
			if let Some(metrics) = &self.metrics {
				metrics.queue.set(book.pending.len() as u64);
			}
		}
	}
}

/// Lowers the calling thread's scheduling priority to nice 10 (Linux: per thread), so that
/// inference yields the cores to block production and import.
fn lower_priority() {
	#[cfg(target_os = "linux")]
	{
		// SAFETY: setpriority only reads its integer arguments; `who = 0` is the calling thread
		// on Linux. A failure leaves the priority as it was, which is only logged.
		let status = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) };
		if status != 0 {
			log::warn!(
				target: LOG_TARGET,
				"cannot lower the inference thread's priority: {}",
				std::io::Error::last_os_error()
			);
		}
	}
}

/// Times one typical job of `id` on this machine and says what capacity to declare for it with
/// `workers.registerWorker` / `workers.setModels`.
fn log_capacity_hint(id: ModelId, model: &mut LoadedModel) {
	let (probe, what) = match id {
		ModelId::SmolLm2 => (
			JobInput::generate("Count from one to twenty, in words.", 64),
			"64-token generation",
		),
		ModelId::MiniLm => (
			JobInput::embed(&["A sentence of ordinary length, to time one embedding."]),
			"one-text embedding",
		),
	};
	let Ok(probe) = probe else { return };
	let started = Instant::now();
	if model.run(&probe).is_err() {
		return;
	}
	let seconds = started.elapsed().as_secs_f64();
	let window = |blocks: u32| {
		f64::from(blocks) * verity_primitives::time::MILLI_SECS_PER_BLOCK as f64 / 1000.0
	};
	let (dev, live) = (
		window(verity_runtime::configs::jobs::dev_params().execution_window),
		window(verity_runtime::configs::jobs::live_params().execution_window),
	);
	log::info!(
		target: LOG_TARGET,
		"⏱  {}: a {what} takes {seconds:.2} s here. Jobs run one at a time, so declare a capacity \
		 (all models together) of at most {} for the development chain's {dev:.0} s execution \
		 window and {} for the live chain's {live:.0} s",
		id.name(),
		suggested_capacity(seconds, dev),
		suggested_capacity(seconds, live),
	);
}

/// The capacity to declare when one job takes `seconds` and must be answered within
/// `window_seconds`, jobs running one after another: half the window's worth of jobs, so that
/// longer inputs and a busy machine still make the deadline; at least 1.
pub fn suggested_capacity(seconds: f64, window_seconds: f64) -> u32 {
	if !(seconds > 0.0) {
		return 1;
	}
	((window_seconds / 2.0 / seconds).floor() as u32).max(1)
}

/// A wrong but well-formed output: what a lying worker would answer.
fn alter(output: JobOutput) -> JobOutput {
	match &output {
		JobOutput::Generated { token_ids, text } => {
			let text = format!("{} (altered)", String::from_utf8_lossy(text));
			JobOutput::generated(token_ids.to_vec(), &text).unwrap_or(output)
		}
		JobOutput::Embedded { embeddings } => {
			let altered: Option<Vec<Embedding>> = embeddings
				.iter()
				.map(|embedding| {
					let values: Vec<f32> = embedding.values().map(|value| -value + 0.25).collect();
					Embedding::from_f32(&values).ok()
				})
				.collect();
			altered
				.and_then(|embeddings| JobOutput::embedded(embeddings).ok())
				.unwrap_or(output)
		}
	}
}

/// The service's Prometheus metrics.
#[derive(Clone)]
struct Metrics {
	runs: CounterVec<U64>,
	failures: CounterVec<U64>,
	seconds: HistogramVec,
	queue: Gauge<U64>,
}

impl Metrics {
	fn register(registry: &Registry) -> Result<Self, PrometheusError> {
		Ok(Self {
			runs: register(
				CounterVec::new(
					Opts::new(
						"verity_inference_jobs_total",
						"Inference requests run, by model",
					),
					&["model"],
				)?,
				registry,
			)?,
			failures: register(
				CounterVec::new(
					Opts::new(
						"verity_inference_failures_total",
						"Inference requests that failed, by model",
					),
					&["model"],
				)?,
				registry,
			)?,
			seconds: register(
				HistogramVec::new(
					HistogramOpts::new(
						"verity_inference_seconds",
						"Time to run one inference request, by model",
					)
					.buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0]),
					&["model"],
				)?,
				registry,
			)?,
			queue: register(
				Gauge::new(
					"verity_inference_queue_depth",
					"Inference requests queued or running",
				)?,
				registry,
			)?,
		})
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_capacity_hint_is_half_a_window_of_jobs_and_at_least_one() {
		assert_eq!(suggested_capacity(1.0, 60.0), 30);
		assert_eq!(suggested_capacity(0.4, 60.0), 75);
		assert_eq!(
			suggested_capacity(50.0, 60.0),
			1,
			"a slow machine still serves one"
		);
		assert_eq!(suggested_capacity(0.0, 60.0), 1);
		assert_eq!(suggested_capacity(f64::NAN, 60.0), 1);
	}

	#[test]
	fn an_altered_output_is_well_formed_and_differs() {
		let honest = JobOutput::generated(vec![1, 2, 3], "four").unwrap();
		let lie = alter(honest.clone());
		assert!(lie.validate().is_ok());
		assert_ne!(lie.hash(), honest.hash());

		let honest = JobOutput::embedded(vec![Embedding::from_f32(&[0.6, 0.8]).unwrap()]).unwrap();
		let lie = alter(honest.clone());
		assert!(lie.validate().is_ok());
		assert!(verity_primitives::policy::check(
			verity_primitives::policy::VerificationPolicy::Tolerance {
				max_abs_diff_ppm: 100
			},
			&honest,
			&lie
		)
		.is_err());
	}

	/// Asks until the service answers something other than `Pending`.
	fn wait_for(service: &InferenceService, model: ModelId, input: &JobInput) -> InferencePoll {
		let deadline = Instant::now() + std::time::Duration::from_secs(120);
		loop {
			match service.poll(model.model_hash().0, input.clone()) {
				InferencePoll::Pending if Instant::now() < deadline => {
					std::thread::sleep(std::time::Duration::from_millis(20))
				}
				answer => return answer,
			}
		}
	}

	/// What the engine computes for `input` on MiniLM, run directly.
	fn engine_output(input: &JobInput) -> JobOutput {
		LoadedModel::load(ModelId::MiniLm, &verity_inference::default_models_dir())
			.unwrap()
			.run(input)
			.unwrap()
	}

	/// A service for MiniLM from the fetched models, or `None` (test skipped, visibly) when the
	/// models are not there and `VERITY_REQUIRE_MODELS` is not set.
	fn minilm_service(alter_outputs: bool) -> Option<Arc<InferenceService>> {
		let config = WorkerConfig {
			models_dir: verity_inference::default_models_dir(),
			models: vec![ModelId::MiniLm],
			alter_outputs,
		};
		match InferenceService::start(&config, None) {
			Ok(service) => Some(service),
			Err(error) if std::env::var_os("VERITY_REQUIRE_MODELS").is_none() => {
				eprintln!("skipped (run scripts/fetch-models.sh): {error}");
				None
			}
			Err(error) => panic!("{error}"),
		}
	}

	#[test]
	fn a_request_is_queued_then_answered_with_what_the_engine_computes() {
		let Some(service) = minilm_service(false) else {
			return;
		};
		let input = JobInput::embed(&["a cat sits on the mat"]).unwrap();
		let hash = ModelId::MiniLm.model_hash().0;
		assert_eq!(service.poll(hash, input.clone()), InferencePoll::Pending);
		let InferencePoll::Ready(output) = wait_for(&service, ModelId::MiniLm, &input) else {
			panic!("no output");
		};
		assert_eq!(
			output,
			engine_output(&input),
			"the service runs the engine unchanged"
		);
		// Kept: asking again answers at once, with the same output.
		assert_eq!(service.poll(hash, input), InferencePoll::Ready(output));

		// A generation input for an embedding model fails, is reported once, and is retried.
		let wrong = JobInput::generate("hello", 4).unwrap();
		let InferencePoll::Failed(InferenceError::Engine(message)) =
			wait_for(&service, ModelId::MiniLm, &wrong)
		else {
			panic!("a wrong job kind fails");
		};
		assert!(String::from_utf8_lossy(&message).contains("not Generate jobs"));
		assert_eq!(
			service.poll(hash, wrong),
			InferencePoll::Pending,
			"asked again: rerun"
		);
	}

	#[test]
	fn a_faulty_worker_answers_an_altered_output() {
		let Some(service) = minilm_service(true) else {
			return;
		};
		let input = JobInput::embed(&["a cat sits on the mat"]).unwrap();
		let InferencePoll::Ready(output) = wait_for(&service, ModelId::MiniLm, &input) else {
			panic!("no output");
		};
		assert_eq!(output, alter(engine_output(&input)));
	}

	#[test]
	fn a_node_without_a_model_answers_unknown_model_and_a_missing_file_is_refused() {
		let empty = tempfile::tempdir().unwrap();
		let config = WorkerConfig {
			models_dir: empty.path().to_path_buf(),
			models: vec![ModelId::MiniLm],
			alter_outputs: false,
		};
		let error = InferenceService::start(&config, None)
			.err()
			.expect("no model files");
		assert!(error.contains("cannot serve model minilm"), "{error}");
		assert!(error.contains("fetch-models.sh"), "{error}");

		let service = InferenceService::start(
			&WorkerConfig {
				models: vec![],
				..config
			},
			None,
		)
		.expect("a service with no models");
		assert_eq!(
			service.poll([1; 32], JobInput::generate("hi", 2).unwrap()),
			InferencePoll::Failed(InferenceError::UnknownModel)
		);
	}
}
