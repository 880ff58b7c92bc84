//! Configuration of every pallet in the runtime, one module per concern.

pub mod consensus;
pub mod governance;
pub mod jobs;
pub mod monetary;
pub mod offchain;
pub mod registry;
pub mod root;
pub mod system;
pub mod workers;
