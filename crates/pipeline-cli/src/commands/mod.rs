//! One file per subcommand; this module dispatches and holds what they share.

mod alias;
mod archive;
mod check;
mod compare;
mod completions;
mod curves;
mod evaluate;
mod export;
mod gc;
mod infer;
mod man;
mod name;
mod registry;
mod rerun;
mod resume;
mod rm;
mod run;
mod runs;
mod schema;
mod selection;
mod serve;
mod shared;
mod show;
mod stored_run;
mod sweep;
mod sweep_confirm;
mod sweep_drive;
mod sweep_resume;
mod sweep_retry;
mod sweeps;
mod tag;
mod worker;
mod workers;

use std::process::ExitCode;

use crate::cli::{Cli, Command, SweepCommand};

pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let context = shared::Context::new(cli.global)?;
    match cli.command {
        Command::Run(args) => run::run(&context, args),
        Command::Check(args) => check::check(&context, args).map(|()| ExitCode::SUCCESS),
        Command::Schema => schema::schema().map(|()| ExitCode::SUCCESS),
        Command::Runs(args) => runs::runs(&context, args).map(|()| ExitCode::SUCCESS),
        Command::Show(args) => show::show(&context, args).map(|()| ExitCode::SUCCESS),
        Command::Compare(args) => compare::compare(&context, args).map(|()| ExitCode::SUCCESS),
        Command::Infer(args) => infer::infer(&context, args).map(|()| ExitCode::SUCCESS),
        Command::Evaluate(args) => evaluate::evaluate(&context, args).map(|()| ExitCode::SUCCESS),
        Command::Serve(args) => serve::serve(&context, args),
        Command::Rerun(args) => rerun::rerun(&context, args),
        Command::Resume(args) => resume::resume(&context, args),
        Command::Export(args) => export::export(&context, args).map(|()| ExitCode::SUCCESS),
        Command::Tag(args) => tag::tag(&context, args).map(|()| ExitCode::SUCCESS),
        Command::Note(args) => tag::note(&context, args).map(|()| ExitCode::SUCCESS),
        Command::Name(args) => name::name(&context, args).map(|()| ExitCode::SUCCESS),
        Command::Alias(command) => alias::alias(&context, command).map(|()| ExitCode::SUCCESS),
        Command::Gc(args) => gc::gc(&context, args).map(|()| ExitCode::SUCCESS),
        Command::Completions(args) => completions::completions(args).map(|()| ExitCode::SUCCESS),
        Command::Man(args) => man::man(args).map(|()| ExitCode::SUCCESS),
        Command::Registry(command) => {
            registry::registry(&context, command).map(|()| ExitCode::SUCCESS)
        }
        Command::Worker(args) => worker::worker(&context, args),
        Command::Workers(args) => workers::workers(&context, args).map(|()| ExitCode::SUCCESS),
        Command::Rm(args) => rm::rm(&context, args).map(|()| ExitCode::SUCCESS),
        Command::Archive(args) => archive::archive(&context, args).map(|()| ExitCode::SUCCESS),
        Command::Sweeps(args) => sweeps::sweeps(&context, args).map(|()| ExitCode::SUCCESS),
        Command::Sweep(args) => match args.command {
            SweepCommand::Show(args) => sweep::show(&context, args).map(|()| ExitCode::SUCCESS),
            SweepCommand::Resume(args) => sweep_resume::resume(&context, args),
            SweepCommand::Retry(args) => sweep_retry::retry(&context, args),
            SweepCommand::Confirm(args) => sweep_confirm::run(&context, args),
        },
    }
}
