//! Version 2 of the test-only `swap` provider (see `swap-v1/src/swap.rs`).

const VERSION: u8 = 2;

include!("../../swap-v1/src/swap.rs");
