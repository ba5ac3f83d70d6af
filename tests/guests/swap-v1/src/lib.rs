//! Version 1 of the test-only `swap` provider (see `swap-v1/src/swap.rs`).

const VERSION: u8 = 1;

include!("swap.rs");
