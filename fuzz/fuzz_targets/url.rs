//! `impulse_db::fuzzing::url` on any UTF-8 input.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: &str| {
    impulse_db::fuzzing::url(input);
});
