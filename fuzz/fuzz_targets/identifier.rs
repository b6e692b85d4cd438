//! `impulse_db::fuzzing::identifier` on any UTF-8 input.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: &str| {
    impulse_db::fuzzing::identifier(input);
});
