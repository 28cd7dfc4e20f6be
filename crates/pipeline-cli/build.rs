//! Links the `pipeline` binary at a fixed address on Linux. (The git commit
//! stored in every run's receipt is recorded by pipeline-run's build script.)

fn main() {
    // A position-dependent executable on Linux: a PIE of this size carries
    // ~86,000 relative relocations that the dynamic loader applies at every
    // start, writing ~2 MB of pages (a fifth of a one-row `infer`). Linked
    // at a fixed address they are resolved once, by the linker.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
