pub mod duckdb;
