//! `pipeline completions SHELL`: the shell's completion script on stdout,
//! generated from the clap types (`clap_complete`), so it never lags
//! behind the commands and flags.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::output::print_bytes;

pub fn completions(args: CompletionsArgs) -> anyhow::Result<()> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "pipeline", &mut script);
    print_bytes(&script)
}
