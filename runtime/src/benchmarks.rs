//! The pallets whose benchmarks `verity-node benchmark pallet` runs (feature `runtime-benchmarks`).

frame_benchmarking::define_benchmarks!(
	[frame_system, SystemBench::<Runtime>]
	[pallet_balances, Balances]
	[pallet_timestamp, Timestamp]
	[pallet_sudo, Sudo]
	[pallet_collective, Council]
	[pallet_membership, CouncilMembership]
	[pallet_treasury, Treasury]
	[pallet_models, Models]
	[pallet_workers, Workers]
	[pallet_jobs, Jobs]
	[pallet_validators, Validators]
);

impl frame_system_benchmarking::Config for crate::Runtime {}
