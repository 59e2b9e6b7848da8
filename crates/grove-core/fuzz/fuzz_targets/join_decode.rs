//! A JOIN frame comes from a stranger (anyone holding the inviter's address), and a
//! JOIN_REPLY from the inviter the joiner dialled: decoding either must refuse any input
//! without panicking, and whatever decodes must encode to a frame that decodes the same.
#![no_main]

use grove_core::session::join;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = join::decode_join(data) {
        let again = join::decode_join(&join::encode_join(&request))
            .expect("our own encoding of a decoded join request decodes");
        assert_eq!(again, request);
    }
    if let Ok(reply) = join::decode_reply(data) {
        let again = join::decode_reply(&join::encode_reply(&reply))
            .expect("our own encoding of a decoded join reply decodes");
        assert_eq!(again, reply);
    }
});
