//! A test-only provider that traps when the host asks for its models (its
//! self-check), to prove that such a version is refused and the serving
//! one stays. Its manifest claims to be version 3.0.0 of `swap`.

use imini_sdk::{ModelInfo, Provider, export_provider};

struct Broken;

impl Provider for Broken {
    fn models() -> Vec<ModelInfo> {
        panic!("this version is broken on purpose")
    }
}

export_provider!(Broken);
