#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| assure_fuzzing::proof(data));
