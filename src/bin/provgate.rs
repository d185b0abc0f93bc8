//! The operator's command line: `provgate key mint …`.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    provgate::cli::main()
}

// The package's binaries are also compiled when the Worker is built for
// wasm32; there the CLI does not exist.
#[cfg(target_arch = "wasm32")]
fn main() {}
