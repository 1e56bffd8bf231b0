//! Tests of the tables, streams and the deployment key.

use std::collections::BTreeSet;

use hcl::Value;

use crate::contract::{STREAMS, TABLES, set};
use crate::load::{attr, blocks, load};
use crate::world::World;

#[test]
fn every_table_has_ttl_pitr_and_customer_managed_encryption() {
    let module = load();
    let world = World::new(&module);
    let tables = world.by_logical("aws_dynamodb_table", &["name"]);
    assert_eq!(
        tables.keys().cloned().collect::<BTreeSet<_>>(),
        set(&TABLES)
    );
    for (name, t) in &tables {
        assert_eq!(
            world.string(t, &["billing_mode"]),
            "PAY_PER_REQUEST",
            "{name}"
        );
        assert_eq!(world.string(t, &["hash_key"]), "pk", "{name}");
        assert!(attr(t.body, "range_key").is_none(), "{name}: no sort key");
        let attributes: Vec<(Option<Value>, Option<Value>)> = blocks(t.body, "attribute")
            .map(|a| (world.eval_in(t, a, "name"), world.eval_in(t, a, "type")))
            .collect();
        assert_eq!(
            attributes,
            [(Some(Value::from("pk")), Some(Value::from("S")))],
            "{name}: pk is a string"
        );
        assert_eq!(world.string(t, &["ttl", "attribute_name"]), "ttl", "{name}");
        assert_eq!(
            world.eval(t, &["ttl", "enabled"]),
            Some(Value::Bool(true)),
            "{name}"
        );
        assert_eq!(
            world.eval(t, &["point_in_time_recovery", "enabled"]),
            Some(Value::Bool(true)),
            "{name}: point-in-time recovery"
        );
        assert_eq!(
            world.eval(t, &["server_side_encryption", "enabled"]),
            Some(Value::Bool(true)),
            "{name}: encryption"
        );
        assert!(
            world.is_kms_key(&world.string(t, &["server_side_encryption", "kms_key_arn"])),
            "{name}: encrypted with the deployment key"
        );
        assert!(
            world.eval(t, &["deletion_protection_enabled"]).is_some(),
            "{name}: deletion protection is set"
        );
    }
}

#[test]
fn streams_are_on_demand_and_encrypted_with_the_deployment_key() {
    let module = load();
    let world = World::new(&module);
    let streams = world.by_logical("aws_kinesis_stream", &["name"]);
    assert_eq!(
        streams.keys().cloned().collect::<BTreeSet<_>>(),
        set(&STREAMS)
    );
    for (name, s) in &streams {
        assert_eq!(
            world.string(s, &["stream_mode_details", "stream_mode"]),
            "ON_DEMAND",
            "{name}"
        );
        assert_eq!(world.string(s, &["encryption_type"]), "KMS", "{name}");
        assert!(
            world.is_kms_key(&world.string(s, &["kms_key_id"])),
            "{name}"
        );
    }
    let key = world.kms_key();
    assert_eq!(
        world.eval(key, &["enable_key_rotation"]),
        Some(Value::Bool(true))
    );
    assert!(
        attr(key.body, "policy").is_some(),
        "the key has a key policy"
    );
}
