//! The bundle's JSON documents on arbitrary bytes: the OMS signature file
//! (`model.sig`), `manifest.json`, `model.json` and `profile.json` never
//! panic, and whatever they accept survives writing and reading back.
#![no_main]

use kiln_artifact::manifest::{Manifest, ModelDoc};
use kiln_artifact::oms::SignatureFile;
use kiln_artifact::profile::Profile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sig) = SignatureFile::from_json(data) {
        let json = match sig.to_json() {
            Ok(json) => json,
            Err(e) => panic!("an accepted signature does not serialize: {e}"),
        };
        let back = match SignatureFile::from_json(&json) {
            Ok(back) => back,
            Err(e) => panic!("to_json output does not parse: {e}"),
        };
        assert_eq!(back.key_hint(), sig.key_hint());
        assert_eq!(back.signature_count(), sig.signature_count());
        assert_eq!(back.to_json().ok(), Some(json));
    }
    if let Ok(manifest) = Manifest::from_json(data) {
        let back = Manifest::from_json(manifest.to_json().as_bytes());
        assert_eq!(back.ok().as_ref(), Some(&manifest));
    }
    if let Ok(model) = ModelDoc::from_json(data) {
        let back = ModelDoc::from_json(model.to_json().as_bytes());
        assert_eq!(back.ok().as_ref(), Some(&model));
    }
    if let Ok(profile) = Profile::from_json(data) {
        let back = Profile::from_json(profile.to_json().as_bytes());
        assert!(back.is_ok(), "an accepted profile does not read back");
    }
});
