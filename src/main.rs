//! `mailwire` binary: parse the command line and dispatch.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use mailwire::check::{self, EXIT_USAGE};
use mailwire::cli::{CheckArgs, Cli, Command, ConnectOpts, parse_target};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mailwire: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    let code = runtime.block_on(dispatch(cli));
    ExitCode::from(u8::try_from(code).unwrap_or(3))
}

async fn dispatch(cli: Cli) -> i32 {
    let result = match cli.command {
        Some(Command::Check(args)) => run_check(args).await,
        Some(Command::Connect { .. }) | Some(Command::Demo(_)) | Some(Command::Serve(_)) | None => {
            let _ = (&cli.url, ConnectOpts::default());
            eprintln!("mailwire: this command is not available yet");
            Ok(EXIT_USAGE)
        }
    };
    result.unwrap_or_else(|e| {
        eprintln!("mailwire: {e:#}");
        EXIT_USAGE
    })
}

async fn run_check(args: CheckArgs) -> anyhow::Result<i32> {
    let Some(url) = args.url.as_deref() else {
        anyhow::bail!("check needs a URL or --demo");
    };
    let target = parse_target(url)?;
    let config = args.conn.session_config(target);
    // Bad trust options are usage errors, found before connecting.
    mailwire::tls::client::root_store(&config.tls)?;
    let report = check::run(config, args.starttls).await;
    if let Some(path) = &args.conn.save_chain {
        std::fs::write(path, report.chain_pem())
            .with_context(|| format!("cannot write {}", path.display()))?;
        if !args.json {
            eprintln!("chain saved to {}", path.display());
        }
    }
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    Ok(report.exit_code)
}
