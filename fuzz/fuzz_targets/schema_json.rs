//! `Schema::from_json_bytes` on arbitrary bytes: never panics, and a schema
//! it accepts survives `to_json` -> `from_json` with the same digest.
#![no_main]

use kiln_core::Schema;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(schema) = Schema::from_json_bytes(data) else {
        return;
    };
    let json = schema.to_json();
    let back = match Schema::from_json(&json) {
        Ok(back) => back,
        Err(e) => panic!("to_json output does not parse: {e}\n{json}"),
    };
    assert_eq!(back, schema);
    assert_eq!(back.to_json(), json);
    assert_eq!(back.canonical_json(), schema.canonical_json());
    assert_eq!(back.digest(), schema.digest());
    assert!(schema.compare(&back).is_unchanged());
});
