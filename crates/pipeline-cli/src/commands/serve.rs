//! `pipeline serve --run RUN [--addr 127.0.0.1:8080] [--public]`: a
//! registered run's predictions over HTTP ([`pipeline_serve`]). The run is
//! loaded (and its artifacts verified) once, at start. It listens on
//! loopback unless `--public` is given, and stops gracefully on Ctrl-C or
//! SIGTERM.

use std::process::ExitCode;

use pipeline_serve::Server;

use crate::cli::ServeArgs;
use crate::commands::shared::Context;
use crate::commands::stored_run;
use crate::exit::UserError;

pub fn serve(context: &Context, args: ServeArgs) -> anyhow::Result<ExitCode> {
    if !args.addr.ip().is_loopback() && !args.public {
        return Err(UserError::error(
            format!(
                "refusing to listen on {}: it is not a loopback address",
                args.addr
            ),
            Some(
                "the server has no authentication; pass --public to listen there anyway, \
                 or use --addr 127.0.0.1:PORT",
            ),
        ));
    }
    let registry = context.registry_to_read()?;
    let predictor = stored_run::predictor(
        context,
        &registry,
        &args.run,
        args.experiment.as_deref(),
        args.device,
    )?;
    context.block_on(registry.close());
    context.block_on(async {
        let server = Server::bind(args.addr, predictor).await?;
        let bound = server.local_addr()?;
        eprintln!(
            "listening on http://{bound} (run {}; POST /predict, GET /model, GET /health)",
            server.run_id()
        );
        server.run(shutdown()).await?;
        eprintln!("stopped");
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    eprintln!("shutting down");
}
