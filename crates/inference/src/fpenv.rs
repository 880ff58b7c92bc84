//! The floating-point control state the engine's bits assume, checked before it computes.
//!
//! Every output bit assumes IEEE defaults: round to nearest, ties to even, subnormals kept
//! (no flush-to-zero, no denormals-are-zero). Those modes live in a per-thread register (MXCSR on
//! x86-64, FPCR on AArch64) that any code in the process can change: a shared library built with
//! `-ffast-math` sets flush-to-zero when it is loaded, and a thread inherits the state of the one
//! that created it. Softmax and the attention's small probabilities produce subnormals, so a
//! thread with flush-to-zero computes other bits, and under the Exact policy an honest worker
//! would be slashed for them. The engine therefore refuses to compute on a thread whose state is
//! not the default ([`Error::FloatingPointState`]): the caller's, every thread of SmolLM2's pool
//! and every thread of candle's (rayon's) pool.

use crate::{Error, Result};

/// The control bits that change results, and their default value.
#[cfg(target_arch = "x86_64")]
mod register {
	/// MXCSR: flush-to-zero (bit 15), rounding control (bits 13–14), denormals-are-zero (bit 6).
	/// The exception masks (bits 7–12) are checked too: an unmasked exception traps.
	pub const MASK: u32 = 0xffc0;
	/// All exceptions masked, round to nearest, no FTZ/DAZ.
	pub const DEFAULT: u32 = 0x1f80;
	/// The register's name in messages.
	pub const NAME: &str = "MXCSR";

	/// This thread's MXCSR.
	pub fn read() -> u32 {
		let mut csr = 0u32;
		// SAFETY: `stmxcsr` stores the 4-byte MXCSR at the address given, a live local.
		unsafe {
			std::arch::asm!(
				"stmxcsr [{}]",
				in(reg) &mut csr,
				options(nostack, preserves_flags)
			);
		}
		csr
	}

	/// Sets this thread's MXCSR (for tests).
	#[cfg(test)]
	pub fn write(csr: u32) {
		// SAFETY: `ldmxcsr` loads the 4-byte MXCSR from the address given, a live local; the
		// tests only write the default or the default with FTZ/DAZ, which cannot trap.
		unsafe {
			std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, preserves_flags));
		}
	}
}

/// The control bits that change results, and their default value.
#[cfg(target_arch = "aarch64")]
mod register {
	/// FPCR: FZ16 (bit 19), RMode (bits 22–23), FZ (bit 24), DN (bit 25), AH/FIZ (bits 0–1),
	/// and the trap enables (bits 8–12, 15).
	pub const MASK: u64 = 0x03c8_9f03;
	/// Round to nearest, no flushing, no traps.
	pub const DEFAULT: u64 = 0;
	/// The register's name in messages.
	pub const NAME: &str = "FPCR";

	/// This thread's FPCR.
	pub fn read() -> u64 {
		let fpcr: u64;
		// SAFETY: reading FPCR has no side effect.
		unsafe {
			std::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack, preserves_flags));
		}
		fpcr
	}
}

/// Checks the calling thread's floating-point control state.
pub fn check_this_thread() -> Result<()> {
	#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
	{
		// The sticky exception flags (the bits outside the mask) do not change results.
		let value = register::read() & register::MASK;
		if value != register::DEFAULT {
			return Err(Error::FloatingPointState(format!(
				"{} is {value:#x} on thread {:?}, not the default {:#x} (round to nearest, no \
				 flush-to-zero, no denormals-are-zero, exceptions masked): code in this process \
				 changed it (a library built with -ffast-math?), and outputs computed so would \
				 differ from every other worker's",
				register::NAME,
				std::thread::current().name().unwrap_or("unnamed"),
				register::DEFAULT,
			)));
		}
	}
	Ok(())
}

/// Sets or clears flush-to-zero on the calling thread (for tests).
#[cfg(all(test, target_arch = "x86_64"))]
pub(crate) fn set_flush_to_zero(on: bool) {
	register::write(if on {
		register::DEFAULT | 1 << 15
	} else {
		register::DEFAULT
	});
}

/// Checks the calling thread and every thread of candle's compute pool (rayon's global pool,
/// which MiniLM's matrix products run on).
pub fn check_candle_threads() -> Result<()> {
	check_this_thread()?;
	rayon::broadcast(|_| check_this_thread())
		.into_iter()
		.collect::<Result<Vec<()>>>()
		.map(|_| ())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_default_state_passes() {
		check_this_thread().expect("the test thread's state is the default");
		check_candle_threads().expect("rayon's threads' state is the default");
	}

	#[cfg(target_arch = "x86_64")]
	#[test]
	fn flush_to_zero_denormals_are_zero_and_rounding_modes_are_refused() {
		// On threads of their own: the state is per thread, so the other tests are unaffected.
		for (bits, what) in [
			(1 << 15, "flush-to-zero"),
			(1 << 6, "denormals-are-zero"),
			(0b11 << 13, "round toward zero"),
			(0b01 << 13, "round down"),
		] {
			let refused = std::thread::spawn(move || {
				register::write(register::DEFAULT | bits);
				let tiny = std::hint::black_box(1e-39f32) * std::hint::black_box(0.5f32);
				let result = check_this_thread();
				register::write(register::DEFAULT);
				(result, tiny)
			})
			.join()
			.expect("the thread");
			let error = refused.0.expect_err(what).to_string();
			assert!(
				error.contains("MXCSR") && error.contains("not the default 0x1f80"),
				"{error}"
			);
			if bits == 1 << 15 {
				// What the check guards against: the subnormal product flushed to zero.
				assert_eq!(refused.1, 0.0, "FTZ flushes 0.5e-39");
			}
		}
		// The sticky exception flags (bits 0–5) do not change results and are not refused.
		std::thread::spawn(|| {
			register::write(register::DEFAULT | 0x3f);
			let result = check_this_thread();
			register::write(register::DEFAULT);
			result
		})
		.join()
		.expect("the thread")
		.expect("sticky flags pass");
		// Without FTZ the same product is the subnormal 0.5e-39.
		let tiny = std::hint::black_box(1e-39f32) * std::hint::black_box(0.5f32);
		assert!(tiny > 0.0 && tiny.is_subnormal());
	}
}
