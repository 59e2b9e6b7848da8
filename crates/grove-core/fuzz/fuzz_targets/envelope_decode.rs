//! The sync envelope is the first thing a peer's bytes meet after the frame layer: it must
//! refuse any input without panicking, and whatever decodes must encode again.
#![no_main]

use grove_core::sync::Envelope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = Envelope::decode(data) {
        let _ = envelope.encode();
    }
    // Signed archives (circle files, join replies) come from outside too.
    let _ = grove_core::archive::decode_signed(data);
});
