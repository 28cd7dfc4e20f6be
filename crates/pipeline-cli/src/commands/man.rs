//! `pipeline man [--dir DIR]`: the man page (roff) generated from the clap
//! types (`clap_mangen`): the main page on stdout, or with `--dir` the
//! main page and one `pipeline-COMMAND.1` per command, each written
//! atomically.

use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory;
use pipeline_registry::write_atomically;

use crate::cli::{Cli, ManArgs};
use crate::output::print_bytes;

pub fn man(args: ManArgs) -> anyhow::Result<()> {
    let command = Cli::command();
    match &args.dir {
        None => print_bytes(&page(command)?),
        Some(dir) => write_pages(command, dir),
    }
}

/// One command's page as roff.
fn page(command: clap::Command) -> anyhow::Result<Vec<u8>> {
    let mut roff = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut roff)
        .context("cannot render the man page")?;
    Ok(roff)
}

/// `pipeline.1` and `pipeline-COMMAND.1` (`pipeline-alias-set.1` for
/// nested commands: clap names a built subcommand after its parents) in
/// `dir`, created when missing.
fn write_pages(command: clap::Command, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the folder {}", dir.display()))?;
    let mut command = command.disable_help_subcommand(true);
    command.build();
    let mut written = 0;
    let mut pending = vec![command];
    while let Some(command) = pending.pop() {
        pending.extend(
            command
                .get_subcommands()
                .filter(|s| !s.is_hide_set())
                .cloned(),
        );
        let man = clap_mangen::Man::new(command);
        let path = dir.join(man.get_filename());
        let mut roff = Vec::new();
        man.render(&mut roff)
            .context("cannot render the man page")?;
        write_atomically(&path, &roff)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written += 1;
    }
    eprintln!("{written} man pages written to {}", dir.display());
    Ok(())
}
