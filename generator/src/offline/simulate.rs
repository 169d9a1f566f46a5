//! Synthetic access logs in Firehose's folder layout.
