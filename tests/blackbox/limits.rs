//! Items no store takes: refused by the store port with a typed error that
//! dead-letters the record, never retried forever.

use tailor_core::Timestamp;
use tailor_core::disposition::{DeadLetterReason, Disposition};
use tailor_core::ports::{MAX_ITEM_BYTES, Metered, Precondition, Store, StoreError, Table};
use tailor_local::LocalStore;

#[test]
fn an_item_over_the_limit_is_refused_and_its_record_dead_lettered() {
    let store = Metered::new(LocalStore::in_memory().unwrap());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let put = |bytes: usize| {
        rt.block_on(store.put(
            Table::FeatureInputs,
            "user:u-1",
            vec![b'x'; bytes],
            Timestamp::from_millis(i64::MAX / 2),
            Precondition::None,
        ))
    };
    let err = put(MAX_ITEM_BYTES + 1).unwrap_err();
    assert!(
        matches!(err, StoreError::TooLarge { table: Table::FeatureInputs, bytes } if bytes == MAX_ITEM_BYTES + 1),
        "{err:?}"
    );
    assert_eq!(
        err.disposition(),
        Disposition::DeadLettered {
            reason: DeadLetterReason::ItemTooLarge
        },
        "a write that can never fit is not retried"
    );
    assert_eq!(store.take().writes, 0, "nothing reached the store");
    assert!(put(MAX_ITEM_BYTES).is_ok(), "the limit itself is allowed");
}
