//! The AWS deployment (`terraform/modules/aws`) against the contract the
//! functions rely on, read from the parsed HCL rather than from its text.
//!
//! The module is loaded with `hcl-rs` and evaluated the way Terraform would
//! plan it, as far as that is possible offline: variables take their
//! defaults, locals and `for_each` are evaluated, and every attribute of a
//! resource or data source that only exists after apply (an ARN, a name, a
//! JSON document) stands for itself as a placeholder string such as
//! `aws_kinesis_stream.this["events"].arn`. A placeholder leads back to the
//! resource instance it names, so a policy's resources, a mapping's stream
//! or a function's role can be followed to what they point at.
//!
//! The contract itself (which function reads which stream, which tables it
//! may read or write) is written out by hand in `contract.rs`, not derived
//! from HCL.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

// Reading and evaluating the module, and the contract it is held to.
mod builtins;
mod contract;
mod load;
mod lookup;
mod policies;
mod variables;
mod world;

// The tests, by subject.
mod docs;
mod example;
mod iam;
mod lambda;
mod storage;
