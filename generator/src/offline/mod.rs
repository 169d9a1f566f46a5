//! The offline commands: `bill` and `usage` over access-log files, and `simulate`, which
//! writes such files.

pub mod bill;
pub mod logs;
pub mod simulate;
