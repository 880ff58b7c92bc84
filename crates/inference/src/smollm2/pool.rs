//! A small compute pool that never waits for a thread that has not started: the caller claims
//! chunks of work from a shared cursor like the helpers do, and waits only for chunks some
//! thread has claimed. On a busy machine, a helper the OS has not scheduled costs nothing (the
//! caller does its share), where a barrier would stall every parallel step until it runs.
//!
//! Which thread runs a chunk never changes what the chunk computes, so results do not depend on
//! scheduling or on the number of threads.

use std::{
	panic::{catch_unwind, resume_unwind, AssertUnwindSafe},
	sync::{
		atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
		Arc, Mutex, OnceLock,
	},
	thread::Thread,
};

/// Bits of the chunk index and of the chunk count in the cursor; the generation takes the rest.
const INDEX_BITS: u32 = 20;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
/// Spins of an idle helper before it parks.
const SPINS_BEFORE_PARK: u32 = 200_000;

struct Shared {
	/// generation << 40 | chunk count << 20 | next chunk.
	cursor: AtomicU64,
	/// Chunks finished in the current generation.
	done: AtomicUsize,
	/// The current job: a type-erased `&F` and the function that calls it.
	job_data: AtomicUsize,
	job_call: AtomicUsize,
	sleeping: Vec<AtomicBool>,
	panic: Mutex<Option<Box<dyn std::any::Any + Send>>>,
}

/// The pool: `threads - 1` helpers plus the calling thread.
pub struct Pool {
	shared: Arc<Shared>,
	helpers: Vec<Thread>,
	/// One job at a time.
	call: Mutex<u64>,
	/// Why helpers refuse to compute: their floating-point control state when they started
	/// (a thread inherits its creator's), one message per helper that is not at the default.
	refusals: Vec<String>,
}

fn unpack(cursor: u64) -> (u64, u64, u64) {
	(
		cursor >> (2 * INDEX_BITS),
		(cursor >> INDEX_BITS) & INDEX_MASK,
		cursor & INDEX_MASK,
	)
}

/// Calls the job `F` behind `data` on chunk `index`.
///
/// # Safety
/// `data` must point to a live `F` (the caller of [`Pool::run`] keeps it alive until every
/// claimed chunk is done).
unsafe fn call<F: Fn(usize) + Sync>(data: usize, index: usize) {
	// SAFETY: `data` points to a live `F` (this function's contract).
	unsafe {
		let job = &*(data as *const F);
		job(index)
	}
}

impl Shared {
	/// Claims and runs chunks of the current generation until none is left. Returns the
	/// generation seen.
	fn work(&self, mut cursor: u64) {
		loop {
			let (generation, count, next) = unpack(cursor);
			if next >= count {
				return;
			}
			match self.cursor.compare_exchange_weak(
				cursor,
				cursor + 1,
				Ordering::Acquire,
				Ordering::Relaxed,
			) {
				Ok(_) => {
					let data = self.job_data.load(Ordering::Relaxed);
					let run: unsafe fn(usize, usize) =
						// SAFETY: job_call holds a `call::<F>` written by `Pool::run` before it
						// published this generation (Release/Acquire on the cursor).
						unsafe { std::mem::transmute::<usize, unsafe fn(usize, usize)>(self.job_call.load(Ordering::Relaxed)) };
					// SAFETY: the chunk was claimed in the live generation, so `Pool::run` waits
					// for it and keeps the job alive.
					let outcome =
						catch_unwind(AssertUnwindSafe(|| unsafe { run(data, next as usize) }));
					if let Err(payload) = outcome {
						*self.panic.lock().unwrap_or_else(|p| p.into_inner()) = Some(payload);
					}
					self.done.fetch_add(1, Ordering::Release);
					cursor = self.cursor.load(Ordering::Acquire);
					if unpack(cursor).0 != generation {
						return;
					}
				}
				Err(now) => cursor = now,
			}
		}
	}
}

impl Pool {
	/// A pool of `threads` threads in all (the caller included).
	pub fn new(threads: usize) -> Self {
		let helpers_wanted = threads.max(1) - 1;
		let shared = Arc::new(Shared {
			cursor: AtomicU64::new(0),
			done: AtomicUsize::new(0),
			job_data: AtomicUsize::new(0),
			job_call: AtomicUsize::new(0),
			sleeping: (0..helpers_wanted)
				.map(|_| AtomicBool::new(false))
				.collect(),
			panic: Mutex::new(None),
		});
		let mut helpers = Vec::new();
		let (report, reports) = std::sync::mpsc::channel();
		for id in 0..helpers_wanted {
			let shared = Arc::clone(&shared);
			let report = report.clone();
			let spawned = std::thread::Builder::new()
				.name(format!("verity-compute-{id}"))
				.spawn(move || {
					let state = crate::fpenv::check_this_thread()
						.err()
						.map(|error| match error {
							crate::Error::FloatingPointState(why) => why,
							other => other.to_string(),
						});
					// The pool waits for this report; it cannot have gone.
					let _ = report.send(state);
					let mut seen = 0u64;
					let mut idle = 0u32;
					loop {
						let cursor = shared.cursor.load(Ordering::Acquire);
						if unpack(cursor).0 != seen {
							seen = unpack(cursor).0;
							idle = 0;
							shared.work(cursor);
							continue;
						}
						idle += 1;
						if idle < SPINS_BEFORE_PARK {
							std::hint::spin_loop();
							continue;
						}
						shared.sleeping[id].store(true, Ordering::SeqCst);
						if unpack(shared.cursor.load(Ordering::SeqCst)).0 == seen {
							std::thread::park();
						}
						shared.sleeping[id].store(false, Ordering::SeqCst);
						idle = 0;
					}
				});
			match spawned {
				Ok(handle) => helpers.push(handle.thread().clone()),
				Err(_) => break,
			}
		}
		// Each helper reports once, as its first act.
		drop(report);
		let refusals = reports.iter().take(helpers.len()).flatten().collect();
		Self {
			shared,
			helpers,
			call: Mutex::new(0),
			refusals,
		}
	}

	/// Checks the floating-point control state of the calling thread and of every helper
	/// ([`crate::fpenv`]): the engine computes only where it is the default.
	pub fn check_threads(&self) -> crate::Result<()> {
		crate::fpenv::check_this_thread()?;
		match self.refusals.first() {
			Some(why) => Err(crate::Error::FloatingPointState(why.clone())),
			None => Ok(()),
		}
	}

	/// Threads in all (the caller included).
	pub fn threads(&self) -> usize {
		self.helpers.len() + 1
	}

	/// Runs `job(i)` for every `i` in `0..chunks`, on this thread and any helper that shows up.
	pub fn run<F: Fn(usize) + Sync>(&self, chunks: usize, job: F) {
		if self.helpers.is_empty() || chunks <= 1 {
			(0..chunks).for_each(job);
			return;
		}
		assert!(chunks as u64 <= INDEX_MASK, "too many chunks");
		let mut generation = self.call.lock().unwrap_or_else(|p| p.into_inner());
		*generation = (*generation + 1) & ((1 << (64 - 2 * INDEX_BITS)) - 1);
		let shared = &self.shared;
		shared.done.store(0, Ordering::Relaxed);
		shared
			.job_data
			.store(&job as *const F as usize, Ordering::Relaxed);
		shared.job_call.store(
			call::<F> as unsafe fn(usize, usize) as usize,
			Ordering::Relaxed,
		);
		let cursor = (*generation << (2 * INDEX_BITS)) | ((chunks as u64) << INDEX_BITS);
		shared.cursor.store(cursor, Ordering::SeqCst);
		for (id, helper) in self.helpers.iter().enumerate() {
			if shared.sleeping[id].load(Ordering::SeqCst) {
				helper.unpark();
			}
		}
		shared.work(cursor);
		// Every chunk is claimed; wait for the ones helpers are still running.
		let mut spins = 0u32;
		while shared.done.load(Ordering::Acquire) < chunks {
			spins += 1;
			if spins < 10_000 {
				std::hint::spin_loop();
			} else {
				std::thread::yield_now();
			}
		}
		if let Some(payload) = shared
			.panic
			.lock()
			.unwrap_or_else(|p| p.into_inner())
			.take()
		{
			resume_unwind(payload);
		}
	}
}

/// The process's pool, sized like candle's (`RAYON_NUM_THREADS`, else the physical cores).
pub fn pool() -> &'static Pool {
	static POOL: OnceLock<Pool> = OnceLock::new();
	POOL.get_or_init(|| Pool::new(candle_core::utils::get_num_threads()))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn every_chunk_runs_once() {
		let pool = Pool::new(3);
		for chunks in [0, 1, 2, 7, 1000] {
			let hits: Vec<AtomicUsize> = (0..chunks).map(|_| AtomicUsize::new(0)).collect();
			for _ in 0..50 {
				pool.run(chunks, |i| {
					hits[i].fetch_add(1, Ordering::Relaxed);
				});
			}
			assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 50));
		}
	}

	#[cfg(target_arch = "x86_64")]
	#[test]
	fn helpers_started_with_flush_to_zero_refuse_to_compute() {
		// On a thread of its own: its helpers inherit its state, nobody else's changes.
		let (caller, after) = std::thread::spawn(|| {
			crate::fpenv::set_flush_to_zero(true);
			let pool = Pool::new(2);
			let caller = pool.check_threads();
			crate::fpenv::set_flush_to_zero(false);
			(caller, pool.check_threads())
		})
		.join()
		.expect("the thread");
		assert!(matches!(caller, Err(crate::Error::FloatingPointState(_))));
		// The caller is back at the default; the helper still has flush-to-zero.
		let why = after
			.expect_err("the helper inherited flush-to-zero")
			.to_string();
		assert!(why.contains("verity-compute-0"), "{why}");
		assert_eq!(why.matches("refusing to compute").count(), 1, "{why}");
		Pool::new(2)
			.check_threads()
			.expect("a pool started at the default");
	}

	#[test]
	fn a_panicking_chunk_reaches_the_caller() {
		let pool = Pool::new(2);
		let outcome = catch_unwind(AssertUnwindSafe(|| {
			pool.run(64, |i| assert!(i != 40, "chunk 40"));
		}));
		assert!(outcome.is_err());
		let count = AtomicUsize::new(0);
		pool.run(10, |_| {
			count.fetch_add(1, Ordering::Relaxed);
		});
		assert_eq!(count.load(Ordering::Relaxed), 10);
	}
}
