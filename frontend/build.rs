//! The wasm is split into lazily loaded chunks after linking (scripts/build.sh runs
//! wasm-split-cli on it). The splitter needs the linker's relocations, so keep them in the
//! wasm: the same as cargo-leptos' `--split` (`-C link-args=--emit-relocs`), but only for this
//! cdylib, so the dependencies' build cache is the same with and without it.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=--emit-relocs");
    }
}
