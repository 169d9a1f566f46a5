//! The offline commands: `bill` and `usage` over access-log files.

pub mod bill;
pub mod logs;
mod units;
mod workers;
