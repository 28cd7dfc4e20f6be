//! Command-line arguments (clap types only; the logic lives in `commands/`).

use std::num::NonZeroU32;
use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use pipeline_registry::{Condition, SortKey};
use pipeline_spec::Override;

#[derive(Debug, Parser)]
#[command(
    name = "pipeline",
    version,
    about = "Train, register, compare and use neural networks described by TOML specs.",
    long_about = "Train, register, compare and use neural networks described by TOML specs.\n\n\
        A spec names the data, the model, the loss, the optimizer and the training settings. \
        `pipeline run` trains it and records the run (metrics per epoch, final metrics, weights, \
        preprocessing) in a SQLite registry; `runs`, `show` and `compare` read it back; `infer` \
        predicts with a registered run.",
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The registry: a SQLite database file (artifacts in `artifacts/` beside
    /// it), or a team's PostgreSQL database as `postgres://USER@HOST:PORT/DB`
    /// (artifacts in the database; the password from the URL, PGPASSWORD or
    /// ~/.pgpass, never printed).
    #[arg(
        long,
        global = true,
        env = "PIPELINE_REGISTRY",
        hide_env_values = true,
        default_value = "registry/registry.db",
        value_name = "PATH|URL"
    )]
    pub registry: PathBuf,
    /// Where new artifacts go: an object store every machine reads,
    /// `file:///FOLDER` (a shared mount) or `s3://BUCKET/PREFIX` (credentials
    /// from the environment, as the AWS tools read them); by default the
    /// registry's own (beside a SQLite file, in a PostgreSQL database).
    #[arg(long, global = true, env = "PIPELINE_ARTIFACTS", value_name = "URL")]
    pub artifacts: Option<String>,
    /// More output on stderr: -v debug logs and, when stderr is not a terminal, a
    /// line for every epoch (not one every 5 s); -vv trace logs. RUST_LOG
    /// overrides the log level.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr: no progress, no per-epoch lines.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Colour: auto (when the stream is a terminal and NO_COLOR is unset;
    /// CLICOLOR_FORCE=1 forces it), always or never. JSON is never coloured.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub color: ColorWhen,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a spec and record the run in the registry.
    Run(RunArgs),
    /// Check a spec without training: columns and types, rows per split, layer
    /// shapes and parameters, and warnings about classic pitfalls.
    Check(CheckArgs),
    /// Print the JSON Schema of a spec (draft-07), for editor completion and checks.
    Schema,
    /// List the runs in the registry, newest first.
    Runs(RunsArgs),
    /// Show one run: its status, provenance, metrics and artifacts.
    Show(ShowArgs),
    /// Compare runs: spec differences, metrics, generalization gaps, learning curves.
    Compare(CompareArgs),
    /// Predict with a registered run, applying the preprocessing it was trained with.
    Infer(InferArgs),
    /// Compute a run's metrics on a labelled file, with its stored preprocessing.
    Evaluate(EvaluateArgs),
    /// Serve a run's predictions over HTTP: POST /predict, GET /model, GET /health.
    Serve(ServeArgs),
    /// Train again from a run's stored resolved spec, after checking its data is unchanged.
    Rerun(RerunArgs),
    /// Continue a killed or crashed run (or one a full disk failed) from its last checkpoint.
    ///
    /// The run keeps its id and ends as it would have without the stop (on the
    /// CPU: the same weights, bit for bit). Its data file must be unchanged. A
    /// run that failed on its environment (a full disk, an I/O error) resumes
    /// too, and a run that never finished an epoch (queued behind one that
    /// stopped) starts from its first.
    Resume(ResumeArgs),
    /// Write a run as a self-contained folder: weights, spec, preprocessing, schema, metrics.
    Export(ExportArgs),
    /// Add tags to a run, or remove them with --remove.
    Tag(TagArgs),
    /// Set or clear a run's note.
    Note(NoteArgs),
    /// Name a run, rename it, or clear its name with "".
    Name(NameArgs),
    /// Name runs: `alias set production RUN`; every assignment is kept as history.
    #[command(subcommand)]
    Alias(AliasCommand),
    /// List the files under the registry's artifacts/ that no run owns; --force removes them.
    ///
    /// Left behind by processes that died while writing or replacing a file:
    /// unfinished writes (`.tmp-*`), checkpoints of runs that ended, files
    /// never recorded, folders of runs not in the registry. The folders of
    /// queued and running runs are never touched.
    Gc(GcArgs),
    /// Print a shell's completion script on stdout.
    ///
    /// For example `pipeline completions bash >
    /// ~/.local/share/bash-completion/completions/pipeline`, or `pipeline
    /// completions zsh > ~/.zfunc/_pipeline` with `~/.zfunc` in `fpath`.
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command with --dir.
    Man(ManArgs),
    /// Delete runs: their rows, then their artifacts. Lists them and asks first.
    ///
    /// Runs are named (ids, prefixes, aliases, `latest`, `best`) or selected
    /// with --where, --tag, --status, --experiment, as `pipeline runs` selects
    /// them (--archived: among archived runs). Queued and running runs are
    /// never deleted, nor, without --force, a run an alias names. At a
    /// terminal it asks `[y/N]`; elsewhere it needs --yes.
    Rm(RmArgs),
    /// Hide runs from `runs`, `best` and `latest` without deleting them; --undo brings them back.
    ///
    /// An archived run keeps its rows and files, and its id, a prefix of it or
    /// an alias still name it; `pipeline runs --archived` lists archived runs.
    Archive(ArchiveArgs),
    /// List the hyperparameter sweeps in the registry, newest first.
    Sweeps(SweepsArgs),
    /// Inspect a hyperparameter sweep (`pipeline run` on a spec with `[sweep]` starts one).
    Sweep(SweepArgs),
    /// Manage the registry itself: `registry migrate` creates or upgrades a team's database.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Train work submitted with `pipeline run --submit`: queued runs and sweep trials.
    ///
    /// Each job claims one item at a time under a lease that expires on the
    /// database's clock unless the worker renews it; a worker that dies or
    /// stalls past its lease is reaped by the next worker that claims, and
    /// its item trained again (continued from its checkpoint). SIGTERM or
    /// Ctrl-C lets each item finish its epoch in progress, saves a
    /// checkpoint and hands it back; a second signal exits at once. Start as many workers as you like, on
    /// any machine that reaches the registry (PostgreSQL for many machines)
    /// and reads the data at the path the submitted spec named.
    Worker(WorkerArgs),
    /// List the workers of the registry: host, device, what each trains, last heartbeat.
    Workers(WorkersArgs),
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Create the registry in an empty PostgreSQL database, or upgrade one to this build's schema.
    ///
    /// The only command that changes a shared database's schema: other
    /// commands (and workers) refuse a database older or newer than this
    /// build, so a team upgrades once, deliberately, then moves every machine
    /// to the new version. Safe to run twice and from two machines at once
    /// (migrations take a lock). On a SQLite file it does what any command
    /// does on first use.
    Migrate(MigrateArgs),
    /// Copy this registry's ended runs into another (a team's PostgreSQL registry), artifacts included.
    ///
    /// Each run keeps its id; its epochs, metrics, tags, spec keys and
    /// artifacts go with it, every artifact read back against its checksum.
    /// Runs the target already holds are skipped, so pushing twice copies
    /// nothing twice. Queued and running runs wait for a later push.
    Push(PushArgs),
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The registry to copy into: a PostgreSQL URL or a SQLite file.
    #[arg(long, value_name = "PATH|URL")]
    pub to: std::ffi::OsString,
    /// Print what was copied as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Print the versions as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SweepsArgs {
    /// Only sweeps of this experiment.
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub command: SweepCommand,
}

#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// Show a sweep: its space, state and trials ranked by the metric.
    Show(SweepShowArgs),
    /// Continue a sweep after Ctrl-C, kill -9 or a reboot: interrupted trials
    /// train again, finished ones never, new ones up to the budget.
    Resume(SweepResumeArgs),
    /// Train a sweep's failed trials again (`--failed`), or given trials.
    Retry(SweepRetryArgs),
    /// Cross-validate the best trials (the winner's curse): the top K trained
    /// again with F folds each, ranked by the mean.
    Confirm(SweepConfirmArgs),
}

#[derive(Debug, Args)]
pub struct SweepResumeArgs {
    /// The sweep: `latest`, its name, its id, or a unique prefix of its id or short id.
    #[arg(value_name = "SWEEP")]
    pub sweep: String,
    /// Trials at a time (default: the sweep's jobs).
    #[arg(long, value_name = "N")]
    pub jobs: Option<NonZeroU32>,
    /// Stop at the first failed trial.
    #[arg(long)]
    pub fail_fast: bool,
    /// Print the ranked trials as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["failed", "trial"])))]
pub struct SweepRetryArgs {
    /// The sweep: `latest`, its name, its id, or a unique prefix of its id or short id.
    #[arg(value_name = "SWEEP")]
    pub sweep: String,
    /// Every failed trial.
    #[arg(long)]
    pub failed: bool,
    /// This trial (its number as `sweep show` prints it; repeatable).
    #[arg(long, value_name = "N")]
    pub trial: Vec<u32>,
    /// Trials at a time (default: the sweep's jobs).
    #[arg(long, value_name = "N")]
    pub jobs: Option<NonZeroU32>,
    /// Print the ranked trials as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SweepConfirmArgs {
    /// The sweep: `latest`, its name, its id, or a unique prefix of its id or short id.
    #[arg(value_name = "SWEEP")]
    pub sweep: String,
    /// How many of the best completed trials to cross-validate.
    #[arg(long, value_name = "K", default_value_t = 3)]
    pub top: u32,
    /// Folds per trial.
    #[arg(long, value_name = "F", default_value_t = 5)]
    pub folds: u32,
    /// Print the confirmations as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SweepShowArgs {
    /// The sweep: `latest`, its name, its id, or a unique prefix of its id or short id.
    #[arg(value_name = "SWEEP")]
    pub sweep: String,
    /// Only the N best trials (the table shows 50 unless told; 0: all).
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `pipeline.1` and one `pipeline-COMMAND.1` per command into this
    /// folder instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Which runs `rm` and `archive` take: named, or selected as `runs` does.
#[derive(Debug, Args)]
pub struct RunSelectionArgs {
    /// The runs: ids, unique id prefixes, aliases, `latest`, `best` or
    /// `best:<metric>`. Without RUN, the filters below select them.
    #[arg(value_name = "RUN", conflicts_with_all = ["condition", "tags", "status"])]
    pub runs: Vec<String>,
    /// Only runs of this experiment (with RUN: the experiment `latest` / `best` refer to).
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
    /// Only runs with this status (completed, failed, killed, crashed, pruned).
    #[arg(long)]
    pub status: Option<String>,
    /// Only runs with this tag (repeatable: all of them).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Only runs for which EXPR holds, in the language of `pipeline runs --where`.
    #[arg(long = "where", value_name = "EXPR")]
    pub condition: Option<Condition>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    #[command(flatten)]
    pub selection: RunSelectionArgs,
    /// Select among archived runs instead (alone: every archived run).
    #[arg(long, conflicts_with = "runs")]
    pub archived: bool,
    /// Delete without asking (needed when stdin is not a terminal).
    #[arg(short, long)]
    pub yes: bool,
    /// Only list what would be deleted, on stdout.
    #[arg(long)]
    pub dry_run: bool,
    /// Also delete runs an alias names (the alias goes with them).
    #[arg(long)]
    pub force: bool,
    /// Print what was deleted (or, with --dry-run, would be) as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ArchiveArgs {
    #[command(flatten)]
    pub selection: RunSelectionArgs,
    /// Bring archived runs back (filters then select among archived runs).
    #[arg(long)]
    pub undo: bool,
    /// Print the runs archived (or brought back) as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The experiment spec (TOML). Several specs are all checked, queued, then
    /// trained one after the other.
    #[arg(required = true, num_args = 1.., value_name = "SPEC")]
    pub specs: Vec<PathBuf>,
    /// Override a spec key, e.g. `--set train.epochs=5` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<Override>,
    /// Print the resolved spec (defaults filled, overrides applied) and stop;
    /// with --folds, the rows of each fold.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the run summary as JSON on stdout: one object per line, a line
    /// per run (JSON Lines); with --folds, one object for the cross-validation.
    #[arg(long)]
    pub json: bool,
    /// K-fold cross-validation: K runs, each validating on one of K folds of
    /// the rows outside the test split (held out as the spec defines it), then
    /// each metric per fold with its mean and standard deviation.
    #[arg(long, value_name = "K")]
    pub folds: Option<u32>,
    /// Tag the run (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Attach a note to the run.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// Name the run (unique; selects it wherever a run id does). With
    /// --folds, fold I of K is named NAME/fold-I-of-K; on a spec with
    /// [sweep], it names the sweep. One spec only.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// A spec with [sweep]: trials at a time (default: the spec's sweep.jobs).
    #[arg(long, value_name = "N")]
    pub jobs: Option<NonZeroU32>,
    /// A spec with [sweep]: stop the sweep at the first failed trial
    /// (`pipeline sweep resume` continues it).
    #[arg(long)]
    pub fail_fast: bool,
    /// Queue the runs (or the sweep's trials) for `pipeline worker` without
    /// training them here; prints their ids.
    #[arg(long, conflicts_with_all = ["dry_run", "folds", "jobs", "fail_fast"])]
    pub submit: bool,
    /// With --submit: the leases an item may lose (its worker died or
    /// stalled) before it fails.
    #[arg(long, value_name = "N", default_value_t = pipeline_worker::DEFAULT_MAX_ATTEMPTS, requires = "submit", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_attempts: u32,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Train on this device instead of each spec's: cpu, cuda, cuda:N or auto.
    #[arg(long, value_name = "DEVICE", value_parser = parse_device)]
    pub device: Option<pipeline_spec::Device>,
    /// Items trained at a time, each claimed under its own lease.
    #[arg(long, value_name = "N", default_value = "1")]
    pub jobs: NonZeroU32,
    /// Only the trials of this sweep (an id, a unique prefix or a name).
    #[arg(long, value_name = "SWEEP")]
    pub sweep: Option<String>,
    /// Claim at most N items, then exit.
    #[arg(long, value_name = "N")]
    pub max_trials: Option<u32>,
    /// Exit once nothing is queued or leased (else wait for new work until
    /// stopped).
    #[arg(long)]
    pub exit_when_done: bool,
    /// How long a lease lasts unless renewed, in seconds; it is renewed a
    /// third of that apart, and a worker silent for longer is reaped.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = seconds)]
    pub lease: std::time::Duration,
    /// How long to wait before looking again when nothing is queued, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "2", value_parser = seconds)]
    pub poll: std::time::Duration,
    /// Print what the worker did as JSON on stdout when it exits.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WorkersArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A duration in seconds of at least a tenth of a second.
fn seconds(text: &str) -> Result<std::time::Duration, String> {
    match text.parse::<f64>() {
        Ok(value) if (0.1..=86_400.0).contains(&value) => {
            Ok(std::time::Duration::from_secs_f64(value))
        }
        _ => Err(format!(
            "`{text}` is not a number of seconds from 0.1 to 86400"
        )),
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The experiment spec(s) to check (TOML).
    #[arg(required = true, num_args = 1.., value_name = "SPEC")]
    pub specs: Vec<PathBuf>,
    /// Override a spec key, e.g. `--set train.epochs=5` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<Override>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RerunArgs {
    /// The run to train again: an id, a unique prefix, an alias, `latest`,
    /// `best` or `best:<metric>`.
    pub run: String,
    /// Experiment for `latest` / `best` when the registry holds several.
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
    /// Print the run summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Name the new run (unique; selects it wherever a run id does).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The killed, crashed or environment-failed run to continue: an id, a
    /// unique prefix, an alias or `latest`.
    pub run: String,
    /// Experiment for `latest` when the registry holds several.
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
    /// Print the run summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Remove what is listed (without it, only list: like `git clean -n`).
    #[arg(short, long)]
    pub force: bool,
    /// Print the list as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The run to export: an id, a unique prefix, an alias, `latest`, `best`
    /// or `best:<metric>`.
    pub run: String,
    /// The folder to write (`model.safetensors`, `spec.toml`, `preprocessing.json`,
    /// `schema.json`, `metrics.json`, `receipt.json`); it must not exist or be empty.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace DIR when it already holds files.
    #[arg(long)]
    pub force: bool,
    /// Experiment for `latest` / `best` when the registry holds several.
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
}

#[derive(Debug, Args)]
pub struct TagArgs {
    /// The run (id, prefix, alias, `latest`, `best`, `best:<metric>`).
    pub run: String,
    /// Tags: letters, digits and `_ - . : /`.
    #[arg(required = true, num_args = 1.., value_name = "TAG")]
    pub tags: Vec<String>,
    /// Remove these tags instead of adding them.
    #[arg(long)]
    pub remove: bool,
    /// Experiment for `latest` / `best` when the registry holds several.
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
}

#[derive(Debug, Args)]
pub struct NoteArgs {
    /// The run (id, prefix, alias, `latest`, `best`, `best:<metric>`).
    pub run: String,
    /// The note; an empty string clears it.
    pub text: String,
    /// Experiment for `latest` / `best` when the registry holds several.
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
}

#[derive(Debug, Args)]
pub struct NameArgs {
    /// The run (id, short id, name, alias, `latest`, `best`, `best:<metric>`).
    pub run: String,
    /// The name: starts with a letter; letters, digits, `_ - . /`; unique in
    /// the registry. An empty string clears it.
    pub name: String,
    /// Experiment for `latest` / `best` when the registry holds several.
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AliasCommand {
    /// Point an alias at a run (moving it if it named another run).
    Set {
        /// Starts with a letter; letters, digits, `_ - .`; not `latest` or `best`.
        name: String,
        /// The run (id, prefix, alias, `latest`, `best`, `best:<metric>`).
        run: String,
        /// Experiment for `latest` / `best` when the registry holds several.
        #[arg(long, value_name = "NAME")]
        experiment: Option<String>,
    },
    /// Remove an alias (its history is kept).
    Rm { name: String },
    /// The current aliases and the runs they name.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Which runs an alias named, from when to when.
    History {
        name: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Only runs of this experiment.
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
    /// Only runs with this status (queued, running, completed, failed, killed, crashed,
    /// pruned).
    #[arg(long)]
    pub status: Option<String>,
    /// Only runs with this tag (repeatable: all of them).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Only runs for which EXPR holds, e.g. "val_loss < 3000 and status = completed"
    /// (fields: status, experiment, epochs, best_epoch, started_at, tag, gap (validation
    /// minus train loss at the best epoch), test_gap, onset (first overfitting epoch, or
    /// none) and metrics such as val_loss or test_r2; and, or, not, parentheses).
    /// A word with a `.` is a key of the resolved spec, as --set takes it:
    /// "optimizer.learning_rate > 0.005 and model.layers[0].units = 64".
    #[arg(long = "where", value_name = "EXPR")]
    pub condition: Option<Condition>,
    /// Order by a field, metric or spec key, ascending; append `:desc` for
    /// descending (test_r2:desc, optimizer.learning_rate).
    #[arg(long, value_name = "KEY")]
    pub sort: Option<SortKey>,
    /// Spec keys to show as columns, comma-separated
    /// (optimizer.learning_rate,model.layers.0.units), or `none`. By default:
    /// the keys whose values differ among the listed runs, at most 4 (seeds,
    /// paths, name and description left out). --json lists them under `params`.
    #[arg(long, value_name = "KEYS")]
    pub columns: Option<String>,
    /// At most this many runs (after sorting); 0 for all. The table shows 50
    /// unless told otherwise; --json lists every match.
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// List only archived runs (`pipeline archive`), hidden otherwise.
    #[arg(long, conflicts_with = "all")]
    pub archived: bool,
    /// List archived runs too.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A run id, a unique id prefix, an alias, `latest`, `best` or
    /// `best:<metric>` (e.g. best:test_r2).
    pub run: String,
    /// Experiment for `latest` / `best` when the registry holds several.
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
    /// Also print the resolved spec.
    #[arg(long)]
    pub spec: bool,
    /// Also print every epoch's losses and generalization gap.
    #[arg(long)]
    pub epochs: bool,
    /// Exit with an error when an artifact is missing or fails its checksum.
    #[arg(long)]
    pub verify: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Two or more runs (ids, unique id prefixes, `latest` or `best`).
    #[arg(num_args = 2.., value_name = "RUN", required_unless_present_any = ["experiment", "sweep"])]
    pub runs: Vec<String>,
    /// Without RUNs: rank every completed run of this experiment by its
    /// selection metric. With RUNs: the experiment `latest` / `best` refer to.
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
    /// Compare a sweep's trials (its 10 best unless --top says otherwise);
    /// with --report, the page adds a parallel-coordinates plot of every
    /// trial and the metric against each parameter.
    #[arg(long, value_name = "SWEEP", conflicts_with_all = ["runs", "experiment"])]
    pub sweep: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also write the comparison as a self-contained HTML page: the tables
    /// and the learning curves (inline SVG).
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Write the learning curves as an image, SVG or PNG by the file's
    /// extension; the comparison is then not printed unless --top,
    /// --metrics or --details asks for it.
    #[arg(long, value_name = "FILE.svg|FILE.png")]
    pub plot: Option<PathBuf>,
    /// Only the N best runs by their selection metric, in every section.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub top: Option<u64>,
    /// Also print every split's metrics at each run's best epoch.
    #[arg(long)]
    pub metrics: bool,
    /// Print every section: spec values, metrics, gaps, reproducibility
    /// against the first run and a chart per run.
    #[arg(long, visible_alias = "all")]
    pub details: bool,
    /// The per-epoch metric the curves show: `loss` (the default),
    /// `accuracy` (train and validation) or one split's (`val_accuracy`).
    #[arg(long, value_name = "METRIC", default_value = "loss")]
    pub metric: String,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("rows").required(true).args(["input", "row", "json"])))]
pub struct InferArgs {
    /// The run to predict with: `best`, `best:<metric>`, `latest`, an alias, an id
    /// or a unique id prefix.
    #[arg(long, default_value = "best", value_name = "RUN")]
    pub run: String,
    /// Experiment for `latest` / `best` when the registry holds several.
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
    /// Pick `--run` among this sweep's trials (`latest`, a name, an id or a
    /// prefix): `best` is its best completed trial (a pruned one only when
    /// none completed).
    #[arg(long, value_name = "SWEEP", conflicts_with = "experiment")]
    pub sweep: Option<String>,
    /// Rows to predict with the run's feature columns: CSV (also .csv.gz),
    /// Parquet or NDJSON (.ndjson, .jsonl); `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// The format of `--input -`.
    #[arg(long, value_enum, default_value = "csv", value_name = "FORMAT")]
    pub input_format: StdinFormat,
    /// One row inline: `--row age=0.04,sex=0.05,...`.
    #[arg(long, value_name = "COLUMN=VALUE,...")]
    pub row: Option<String>,
    /// Rows inline as JSON: one object, or an array of objects.
    #[arg(long, value_name = "JSON")]
    pub json: Option<String>,
    /// Where to write the rows plus the prediction columns, atomically;
    /// stdout when absent.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Output format; by default the --output extension's, else CSV.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<OutputFormat>,
    /// Write only the prediction column, not the input columns.
    #[arg(long)]
    pub only_predictions: bool,
    /// The predictions' column: the value of a regression, the label of a
    /// classification (`NAME_TARGET` per target when there are several);
    /// class probabilities stay `probability_CLASS`.
    #[arg(long, default_value = "prediction", value_name = "NAME", value_parser = column_name)]
    pub prediction_column: String,
    /// Rows read, predicted and written at a time: memory stays flat
    /// however large the input.
    #[arg(long, default_value_t = BATCH_ROWS, value_name = "ROWS", value_parser = at_least_one)]
    pub batch_rows: NonZeroUsize,
    /// Where the network runs: cpu, cuda (the first GPU), cuda:N (the GPU
    /// with ordinal N), or auto (the first GPU when there is one); a GPU needs
    /// a build with the `cuda` feature.
    #[arg(long, default_value = "cpu", value_name = "DEVICE", value_parser = parse_device)]
    pub device: pipeline_spec::Device,
}

/// `pipeline_data::BATCH_ROWS`, as a default clap can show.
const BATCH_ROWS: NonZeroUsize = match NonZeroUsize::new(pipeline_data::BATCH_ROWS) {
    Some(rows) => rows,
    None => NonZeroUsize::MIN,
};

/// `--prediction-column`: a name a file can hold.
fn column_name(text: &str) -> Result<String, String> {
    let name = text.trim();
    if name.is_empty() {
        return Err("the column name is empty".to_owned());
    }
    Ok(name.to_owned())
}

/// `--device`: the spec's forms, refused with the same words.
fn parse_device(text: &str) -> Result<pipeline_spec::Device, String> {
    text.parse()
        .map_err(|reason: String| format!("{reason}\n\n{}", pipeline_spec::Device::FORMS))
}

/// What `--input -` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StdinFormat {
    Csv,
    Ndjson,
}

/// What `infer` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Csv,
    Parquet,
    Ndjson,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The run to serve: `best`, `best:<metric>`, `latest`, an alias, an id or a
    /// unique id prefix (resolved once, at start).
    #[arg(long, default_value = "best", value_name = "RUN")]
    pub run: String,
    /// Experiment for `latest` / `best` when the registry holds several.
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
    /// Address to listen on; port 0 picks a free port (printed on stderr).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "IP:PORT")]
    pub addr: std::net::SocketAddr,
    /// Allow an address other than loopback (the server has no authentication).
    #[arg(long)]
    pub public: bool,
    /// Where the network runs: cpu, cuda (the first GPU), cuda:N (the GPU
    /// with ordinal N), or auto (the first GPU when there is one); a GPU needs
    /// a build with the `cuda` feature.
    #[arg(long, default_value = "cpu", value_name = "DEVICE", value_parser = parse_device)]
    pub device: pipeline_spec::Device,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The run to evaluate: `best`, `best:<metric>`, `latest`, an alias, an id or a
    /// unique id prefix.
    #[arg(long, default_value = "best", value_name = "RUN")]
    pub run: String,
    /// Experiment for `latest` / `best` when the registry holds several.
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
    /// Labelled rows: the run's feature columns and its target column (CSV,
    /// .csv.gz, Parquet or NDJSON).
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Where the network runs: cpu, cuda (the first GPU), cuda:N (the GPU
    /// with ordinal N), or auto (the first GPU when there is one); a GPU needs
    /// a build with the `cuda` feature.
    #[arg(long, default_value = "cpu", value_name = "DEVICE", value_parser = parse_device)]
    pub device: pipeline_spec::Device,
}

/// A count of at least 1, in words a reader understands (clap's own
/// message for `NonZeroUsize` is "number would be zero for non-zero type").
fn at_least_one(text: &str) -> Result<NonZeroUsize, String> {
    text.parse::<usize>()
        .ok()
        .and_then(NonZeroUsize::new)
        .ok_or_else(|| format!("`{text}` is not a whole number of at least 1"))
}
