//! `cargo run -p p2core-home-server -- --help`
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use p2core_home_server::admin::{self, AdminCommand};
use p2core_home_server::{Config, start_any};
use tracing_subscriber::EnvFilter;

/// The example polyproto-core home server.
///
/// With no subcommand it serves (`localhost` on 127.0.0.1:3000, data in
/// ./p2core-data by default). `admin …` runs an operator command on the same
/// data directory and exits.
#[derive(Debug, Parser)]
#[command(name = "p2core-home-server", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Operator commands: administrator accounts and the root certificate.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

/// Prints `res` (the message on stdout, an error on stderr) as the exit status.
fn report<E: std::fmt::Display>(res: Result<String, E>) -> ExitCode {
    match res {
        Ok(msg) => println!("{msg}"),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter)
        .init();
    let Cli { config, command } = Cli::parse();
    if let Some(Command::Admin { command }) = command {
        let password = match command {
            AdminCommand::Create { .. } | AdminCommand::ResetPassword { .. } => {
                match admin::read_password(&mut std::io::stdin().lock()) {
                    Ok(p) => Some(p),
                    Err(e) => return report::<_>(Err(e)),
                }
            }
            AdminCommand::RenewRoot
            | AdminCommand::Invite { .. }
            | AdminCommand::CopyToPostgres { .. } => None,
        };
        return report(admin::run(&config, &command, password).await);
    }
    let (domain, data) = (config.domain.clone(), config.data.clone());
    let server = match start_any(config, true).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("could not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        "serving {domain} at {} (data in {})",
        server.base_url(),
        data.display()
    );
    match server.wait().await {
        Ok(()) => tracing::info!("stopped"),
        Err(e) => {
            tracing::error!("server error: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
