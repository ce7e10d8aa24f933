fn main() -> std::process::ExitCode {
    openclaw_host::cli::main()
}
