//! Crashes on purpose: `fuzz/selftest.sh` runs it through `fuzz/run.sh` to prove that a
//! crashing target fails the script. Not in run.sh's default TARGETS.
//!
//! The empty input (libFuzzer's first) passes, so the target starts up like a real one; every
//! non-empty input (libFuzzer's first mutation) panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if !data.is_empty() {
        panic!(
            "selftest_crash: crashing on purpose ({} input bytes)",
            data.len()
        );
    }
});
