//! `pipeline registry migrate`: creates or upgrades the registry's schema,
//! the one deliberate step a team's shared PostgreSQL database needs (no
//! other command migrates it).

use anyhow::Context as _;
use pipeline_registry::{Location, Registry};

use crate::cli::{MigrateArgs, PushArgs, RegistryCommand};
use crate::commands::shared::Context;

pub fn registry(ctx: &Context, command: RegistryCommand) -> anyhow::Result<()> {
    match command {
        RegistryCommand::Migrate(args) => migrate(ctx, args),
        RegistryCommand::Push(args) => push(ctx, args),
    }
}

fn push(ctx: &Context, args: PushArgs) -> anyhow::Result<()> {
    let source = ctx.registry_to_read()?;
    let target_location = Location::parse(&args.to);
    if target_location == ctx.location() {
        anyhow::bail!("--to names the registry being pushed ({target_location})");
    }
    let target = ctx
        .block_on(Registry::open_at(&target_location))
        .with_context(|| format!("cannot open the registry at {target_location}"))?;
    let pushed = ctx
        .block_on(source.push_to(&target))
        .with_context(|| format!("cannot push to {target_location}"))?;
    if args.json {
        println!("{}", serde_json::to_string(&pushed)?);
    } else {
        for id in &pushed.copied {
            println!("{id}");
        }
    }
    if !ctx.global.quiet {
        eprintln!(
            "copied {} run(s) with {} artifact(s) ({} bytes) to {target_location}; {} already there",
            pushed.copied.len(),
            pushed.artifacts,
            pushed.bytes,
            pushed.already_there
        );
    }
    Ok(())
}

fn migrate(ctx: &Context, args: MigrateArgs) -> anyhow::Result<()> {
    let location = ctx.location();
    let migrated = ctx
        .block_on(Registry::migrate_at(&location))
        .with_context(|| format!("cannot migrate the registry at {location}"))?;
    let backend = match location {
        Location::File(_) => "sqlite",
        Location::Postgres(_) => "postgres",
    };
    if args.json {
        let json = serde_json::json!({
            "registry": location.to_string(),
            "backend": backend,
            "from": migrated.from,
            "to": migrated.to,
        });
        println!("{json}");
    } else if migrated.from == Some(migrated.to) {
        println!("{location} is up to date (schema version {})", migrated.to);
    } else {
        match migrated.from {
            None => println!(
                "created the registry in {location} (schema version {})",
                migrated.to
            ),
            Some(from) => println!(
                "upgraded {location} from schema version {from} to {}",
                migrated.to
            ),
        }
    }
    Ok(())
}
