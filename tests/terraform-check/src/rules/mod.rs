//! The checks on parsed modules.

pub mod blocks;
pub mod module_calls;
pub mod references;
