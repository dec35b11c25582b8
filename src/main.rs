use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = vnetlab::cli::Cli::parse();
    match vnetlab::cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        // The reader went away (`vnetlab graph | head`): as for any Unix
        // filter, that ends the command quietly.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
