/// mimalloc instead of the system allocator: a page and a submission allocate and free many
/// small buffers on several threads, where glibc's allocator cost the server about a sixth of
/// its throughput under load (`cargo bench --bench load`, side by side).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    sipas::cli::main()
}
