//! The `sagetrail` binary: everything lives in the library; see `sagetrail::cli`.

/// Ingest allocates and frees many small strings per record from several threads; mimalloc does that
/// markedly faster than the system allocator (measured in benches/RESULTS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(sagetrail::cli::main());
}
