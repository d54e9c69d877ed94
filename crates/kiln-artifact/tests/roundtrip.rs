//! write -> sign -> pack -> unpack -> open -> load gives the very same
//! predictions, bit for bit, as the model that was written.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod bundle_support;

use bundle_support::{Rng, key, parts, records, trust};
use kiln_artifact::pack::{UnpackLimits, unpack};
use kiln_artifact::{Bundle, BundleWriter};
use kiln_core::{Batch, Role};
use kiln_train::Backend;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn a_bundle_predicts_exactly_as_the_model_it_was_written_from(
        seed in any::<u64>(),
        rows in 8usize..40,
        hidden in proptest::collection::vec(1usize..6, 0..3),
        binary in any::<bool>(),
        with_baseline in any::<bool>(),
    ) {
        let p = parts(seed, rows, &hidden, binary);
        let work = tempfile::tempdir().unwrap();
        let key = key();
        let mut writer = BundleWriter::new(p.schema.clone(), p.pipeline.clone(), p.model.clone()).unwrap();
        if with_baseline {
            writer = writer.with_baseline(&p.batch).unwrap();
        }
        let signed = writer.write(work.path().join("bundle")).unwrap().sign(&key).unwrap();
        let tar = work.path().join("bundle.tar");
        signed.pack(&tar).unwrap();
        let unpacked = work.path().join("unpacked");
        unpack(&tar, &unpacked, &UnpackLimits::default()).unwrap();

        let from_dir = Bundle::open(&unpacked, &trust(&key)).unwrap();
        let from_tar = Bundle::open(&tar, &trust(&key)).unwrap();
        prop_assert_eq!(from_dir.digest(), signed.digest());
        prop_assert_eq!(from_tar.digest(), signed.digest());
        prop_assert_eq!(from_dir.weights(), from_tar.weights());
        prop_assert_eq!(from_dir.profile().is_some(), with_baseline);

        // Fresh requests the model has not seen, without their label.
        let mut rng = Rng::new(seed ^ 0x5eed);
        let requests: Vec<_> = records(&mut rng, 12)
            .into_iter()
            .map(|mut r| {
                r.remove("label");
                r
            })
            .collect();
        let request_schema = p.schema.without_roles(&[Role::Label]);
        let batch = Batch::from_records(request_schema, &requests).unwrap();
        let x = p.pipeline.transform_batch(&batch).unwrap();
        let expected = p.model.predict_slice(&x.data, x.rows).unwrap();

        let loaded = from_dir.load(&Backend::Flex).unwrap();
        prop_assert_eq!(&loaded.predict_batch(&batch).unwrap(), &expected);
        // Bit for bit: compare the raw bits, not just float equality.
        let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        let got = loaded.predict_batch(&batch).unwrap();
        prop_assert_eq!(bits(got.probabilities().unwrap()), bits(expected.probabilities().unwrap()));
        for (i, r) in requests.iter().enumerate() {
            let one = loaded.predict(r).unwrap();
            let alone = p.model.predict_slice(x.row(i).unwrap(), 1).unwrap();
            prop_assert_eq!(bits(one.probabilities().unwrap()), bits(alone.probabilities().unwrap()));
        }
        prop_assert_eq!(
            from_tar.load(&Backend::Flex).unwrap().model().tensors().unwrap(),
            p.model.tensors().unwrap()
        );
    }
}
