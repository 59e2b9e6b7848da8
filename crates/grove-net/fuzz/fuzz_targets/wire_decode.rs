//! Arbitrary bytes as the content of a `/grove/sync/1` stream: decoding must never panic, and
//! whatever does decode must encode back to frames that decode the same.
#![no_main]

use grove_net::wire;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(frames) = wire::decode_all(data) {
        for frame in &frames {
            let bytes: Vec<u8> = wire::encode(frame)
                .expect("a decoded frame is within the limits, so it encodes")
                .flatten()
                .collect();
            let again = wire::decode_all(&bytes).expect("our own encoding decodes");
            assert_eq!(again.as_slice(), std::slice::from_ref(frame));
        }
    }
});
