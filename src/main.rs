//! The `sagetrail` binary: everything lives in the library; see `sagetrail::cli`.

fn main() {
    std::process::exit(sagetrail::cli::main());
}
