//! Fuzzes request decoding and dispatch on the pure core: any bytes, split into frames.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mock_server::socketless::exercise(data));
