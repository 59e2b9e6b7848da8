//! A hello is the first frame a stranger's bytes reach after the frame layer, before
//! anything says who the peer is: decoding must refuse any input without panicking, and
//! whatever decodes must encode to a hello that decodes the same.
#![no_main]

use grove_core::session::hello;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = hello::decode(data) {
        let again = hello::decode(&hello::encode(&decoded.tags, decoded.fresh))
            .expect("our own encoding of a decoded hello decodes");
        assert_eq!(again, decoded);
    }
});
