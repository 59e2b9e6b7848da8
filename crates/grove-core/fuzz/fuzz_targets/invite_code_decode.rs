//! The invite code decoder must refuse any text without panicking; a code that decodes
//! must encode back to a code that decodes to the same fields.
#![no_main]

use grove_core::InviteCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(code) = InviteCode::decode(&text) {
        let again = code.encode().expect("a decoded code re-encodes");
        assert_eq!(InviteCode::decode(&again).expect("re-encoded code decodes"), code);
    }
});
