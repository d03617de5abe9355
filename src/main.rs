use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    attest::cli::init_tracing();
    let cli = attest::cli::Cli::parse();
    match attest::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
