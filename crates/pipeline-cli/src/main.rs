//! `pipeline`: TOML spec → trained, evaluated, registered network; then
//! compare runs and predict with the best one.

mod cli;
mod commands;
mod exit;
mod output;
mod threads;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    output::color::init(cli.global.color);
    threads::configure(&cli);
    output::init_logging(&cli.global);
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(error) => exit::report(&error),
    }
}
