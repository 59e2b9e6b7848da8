//! The bundle decoder must refuse any input without panicking or allocating what the input
//! claims; inputs that decode are opened with a fixed key and, if that works, parsed as the
//! circle archive inside.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = grove_core::bundle::decode(data) {
        if let Ok(archive) = bundle.open(&[7; 32]) {
            let _ = grove_core::archive::decode(&archive);
        }
    }
});
