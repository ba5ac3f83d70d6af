//! Builds the test-only guest plugins (every crate under `tests/guests/`) for
//! wasm32-wasip2 once and tells the tests where they are.

#[path = "../host/build/guests.rs"]
mod guests;

use std::fmt::Write;

fn main() {
    let root = guests::workspace_root();
    let crates = guests::crates_in(&root.join("tests/guests"));
    let names: Vec<String> = crates.iter().map(|(n, _)| n.clone()).collect();
    let wasm = guests::build(&names);
    let mut out = String::new();
    for ((name, dir), wasm) in crates.iter().zip(&wasm) {
        let constant = name.to_uppercase().replace('-', "_");
        writeln!(
            out,
            "/// The `{name}` test guest's component.\npub const {constant}_WASM: &str = {:?};",
            wasm.display()
        )
        .unwrap();
        writeln!(
            out,
            "/// The `{name}` test guest's manifest.\npub const {constant}_MANIFEST: &str = {:?};",
            dir.join("imini-plugin.toml").display()
        )
        .unwrap();
    }
    let dest = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("guests.rs");
    std::fs::write(dest, out).unwrap();
    guests::rerun_if_changed(&[
        root.join("tests/guests"),
        root.join("sdk"),
        root.join("wit"),
        root.join("host/build"),
    ]);
}
