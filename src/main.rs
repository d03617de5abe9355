use clap::Parser;

// glibc's malloc was a quarter of a request's CPU time under load (many small allocations
// freed on other threads); mimalloc's thread-local heaps cost a fraction of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
