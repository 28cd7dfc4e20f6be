//! Arbitrary bytes as a spec file and as `--set` overrides: the parser must
//! answer every input with a spec or an error value, never a panic, a hang
//! or unbounded memory.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use pipeline_spec::{Override, Spec};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(spec) = Spec::parse(Path::new("fuzz.toml"), text, &[]) {
        // A valid spec round-trips through its resolved form.
        let resolved = spec.to_toml();
        let again = Spec::parse(Path::new("resolved.toml"), &resolved, &[]);
        assert!(
            again.is_ok(),
            "the resolved spec does not parse:\n{resolved}"
        );
    }
    // Each line as an override on the first experiment.
    let overrides: Vec<Override> = text.lines().filter_map(|l| l.parse().ok()).collect();
    let _ = Spec::parse(
        Path::new("mlp.toml"),
        include_str!("../../experiments/mlp.toml"),
        &overrides,
    );
});
