//! Builds the bundled plugins (every crate under `plugins/`) for
//! wasm32-wasip2 and embeds them, so a fresh clone serves with `cargo run`.

#[path = "build/guests.rs"]
mod guests;

use std::fmt::Write;

fn main() {
    let root = guests::workspace_root();
    let crates = guests::crates_in(&root.join("plugins"));
    let names: Vec<String> = crates.iter().map(|(n, _)| n.clone()).collect();
    let wasm = guests::build(&names);

    let mut out = String::from(
        "/// The plugins built into this binary.\npub const BUNDLED: &[BundledPlugin] = &[\n",
    );
    for ((name, dir), wasm) in crates.iter().zip(&wasm) {
        let manifest = dir.join("imini-plugin.toml");
        assert!(
            manifest.exists(),
            "bundled plugin {name} has no {}",
            manifest.display()
        );
        writeln!(
            out,
            "    BundledPlugin {{ crate_name: {name:?}, manifest: include_str!({:?}), wasm: include_bytes!({:?}) }},",
            manifest.display(),
            wasm.display()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("bundled.rs");
    std::fs::write(dest, out).unwrap();

    guests::rerun_if_changed(&[
        root.join("plugins"),
        root.join("sdk"),
        root.join("wit"),
        root.join("host/build"),
    ]);
}
