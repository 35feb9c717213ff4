//! The `sipas` command line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use chrono::{Datelike, NaiveDate};
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::db::desks::{Desk, DeskListing};
use crate::export::poster::Poster;
use crate::startup::{Application, Services};

#[derive(Debug, Parser)]
#[command(
    name = "sipas",
    version,
    about = "Khảo sát sự hài lòng của người dân, tổ chức (SIPAS)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web service.
    Serve {
        /// Address to listen on (overrides SIPAS_BIND).
        #[arg(long)]
        bind: Option<SocketAddr>,
        /// Create the demo district (Xuân Lộc, Đồng Nai) and print each desk's survey link.
        #[arg(long)]
        demo: bool,
    },
    /// Create the database if needed and run the migrations, then exit.
    Migrate,
    /// Write one printable A5 QR poster per desk (SVG and PNG).
    Qr {
        /// Directory to write the posters to (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Resolution of the PNG posters.
        #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(72..=crate::export::poster::MAX_DPI as i64))]
        dpi: u32,
    },
    /// Staff accounts.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Export data.
    Export {
        #[command(subcommand)]
        what: ExportCommand,
    },
    /// Create the demo district (if needed) and fill it with synthetic responses, then bring
    /// the statistics rollups up to date.
    Demo {
        /// Number of synthetic responses to generate.
        #[arg(long)]
        responses: u64,
        /// Seed: the same seed gives the same responses (running again with the same seed and
        /// range adds nothing; use another seed or --first to add more).
        #[arg(long, default_value_t = 1)]
        seed: i64,
        /// Index of the first response in the seed's stream.
        #[arg(long, default_value_t = 0)]
        first: u64,
        /// Year of the visits (default: this year, up to yesterday).
        #[arg(long, value_parser = clap::value_parser!(i32).range(2000..=2100))]
        year: Option<i32>,
    },
    /// The rollups the statistics are computed from.
    Rollup {
        #[command(subcommand)]
        action: RollupCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum RollupCommand {
    /// Fold the responses stored since the last refresh (the server does this every few
    /// seconds).
    Refresh,
    /// Empty the rollups and fold every response again.
    Rebuild,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The password is read from the terminal (or one line of standard
    /// input), never from an argument.
    Add {
        #[arg(long, required_unless_present = "demo")]
        username: Option<String>,
        #[arg(long, value_parser = ["admin", "unit", "viewer"], required_unless_present = "demo")]
        role: Option<String>,
        /// Name shown in the interface (default: the user name).
        #[arg(long)]
        name: Option<String>,
        /// Code of a unit the account looks after (role unit; repeat for several).
        #[arg(long = "unit")]
        units: Vec<String>,
        /// Create the demo administrator instead, with a generated password shown once.
        #[arg(long, conflicts_with_all = ["username", "role", "name", "units"])]
        demo: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Every stored response, one row each.
    Responses {
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// File to write ("-" for standard output).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Csv,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("sipas: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sipas: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let bind = match &cli.command {
        Command::Serve { bind, .. } => *bind,
        _ => None,
    };
    let config = Config::from_env_binding(bind)?;
    match cli.command {
        Command::Serve { demo, .. } => {
            let services = Services::open(config).await?;
            if demo {
                seed_demo(&services).await?;
            }
            let app = Application::build(services).await?;
            tracing::info!("listening on port {}", app.port());
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let services = Services::open(config).await?;
            println!("database is up to date");
            services.close().await;
        }
        Command::Qr { out, dpi } => {
            let services = Services::open(config).await?;
            let result = write_posters(&services, &out, dpi).await;
            services.close().await;
            let count = result?;
            println!("wrote {count} posters to {}", out.display());
        }
        Command::User {
            action:
                UserCommand::Add {
                    username,
                    role,
                    name,
                    units,
                    demo,
                },
        } => {
            if demo {
                let services = Services::open(config).await?;
                let result = print_demo_admin(&services).await;
                services.close().await;
                return result;
            }
            // clap makes both present when --demo is absent.
            let (Some(username), Some(role)) = (username, role) else {
                anyhow::bail!("--username and --role are required");
            };
            let password = read_new_password()?;
            let services = Services::open(config).await?;
            let result = async {
                let mut conn = services.database.pool.get().await?;
                crate::staff::create_account(
                    &mut conn,
                    &crate::staff::AccountRequest {
                        username: &username,
                        display_name: name.as_deref().unwrap_or(&username),
                        role: &role,
                        password: &password,
                        unit_codes: &units,
                    },
                )
                .await
            }
            .await;
            services.close().await;
            let account = result?;
            println!("created account {} ({})", account.username, account.role);
        }
        Command::Export {
            what: ExportCommand::Responses { format, out },
        } => {
            let services = Services::open(config).await?;
            let result = export_responses(&services, format, &out).await;
            services.close().await;
            let count = result?;
            eprintln!("exported {count} responses");
        }
        Command::Demo {
            responses,
            seed,
            first,
            year,
        } => {
            let (from, to) = demo_range(year)?;
            let services = Services::open(config).await?;
            let result = generate_demo(&services, responses, seed, first, from, to).await;
            services.close().await;
            result?;
        }
        Command::Rollup { action } => {
            let services = Services::open(config).await?;
            let result = run_rollup(&services, action).await;
            services.close().await;
            result?;
        }
    }
    Ok(())
}

/// The days of the synthetic visits: the whole `year`, or this year up to yesterday (so that
/// nothing is dated in the future).
fn demo_range(year: Option<i32>) -> anyhow::Result<(NaiveDate, NaiveDate)> {
    let today = crate::plans::today_in_vietnam();
    let year = year.unwrap_or(today.year());
    let from = NaiveDate::from_ymd_opt(year, 1, 1).context("--year: not a year")?;
    let end = NaiveDate::from_ymd_opt(year, 12, 31).context("--year: not a year")?;
    let to = end.min(today.pred_opt().unwrap_or(today));
    if to < from {
        anyhow::bail!("--year {year}: no day of that year has passed yet");
    }
    Ok((from, to))
}

async fn generate_demo(
    services: &Services,
    responses: u64,
    seed: i64,
    first: u64,
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<()> {
    let mut conn = services.database.pool.get().await?;
    let started = Instant::now();
    crate::demo::seed(&mut conn).await?;
    println!(
        "demo district ready ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let generated = crate::demo::generate_responses(
        &mut conn,
        &services.forms,
        &crate::demo::ResponseSpec {
            seed,
            count: responses,
            first,
            from,
            to,
        },
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "generated {} responses from {from} to {to} (seed {seed}; {} already there, {} comments) in {seconds:.1} s ({:.0} responses/s)",
        generated.inserted,
        generated.already_there,
        generated.comments,
        generated.inserted as f64 / seconds.max(1e-9)
    );
    let report =
        crate::db::rollup::refresh_waiting(&mut conn, crate::db::rollup::REBUILD_WRITER_WAIT)
            .await?;
    print_rollup_report("refreshed the rollups", &report);
    Ok(())
}

async fn run_rollup(services: &Services, action: RollupCommand) -> anyhow::Result<()> {
    let mut conn = services.database.pool.get().await?;
    match action {
        RollupCommand::Refresh => {
            let report = crate::db::rollup::refresh_waiting(
                &mut conn,
                crate::db::rollup::REBUILD_WRITER_WAIT,
            )
            .await?;
            print_rollup_report("refreshed the rollups", &report);
        }
        RollupCommand::Rebuild => {
            let report = crate::db::rollup::rebuild(&mut conn).await?;
            print_rollup_report("rebuilt the rollups", &report);
        }
    }
    Ok(())
}

fn print_rollup_report(what: &str, report: &crate::db::rollup::RefreshReport) {
    use crate::db::rollup::Outcome;
    match &report.outcome {
        Outcome::Done => println!(
            "{what}: {} responses folded in {:.1} s (responses up to id {})",
            report.responses,
            report.elapsed.as_secs_f64(),
            report.to_id
        ),
        Outcome::Busy => println!("{what}: another refresh is running; nothing done"),
        Outcome::WaitingForWriters(writers) => println!(
            "{what}: transactions still inserting responses ({}); nothing done, try again",
            writers.join(", ")
        ),
    }
}

/// The new account's password: asked twice on a terminal, else one line of standard input.
fn read_new_password() -> anyhow::Result<String> {
    use std::io::IsTerminal;
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Mật khẩu: ")?;
        let second = rpassword::prompt_password("Nhập lại mật khẩu: ")?;
        if first != second {
            anyhow::bail!("the two passwords differ");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_string()
    };
    Ok(password)
}

async fn seed_demo(services: &Services) -> anyhow::Result<()> {
    let mut conn = services.database.pool.get().await?;
    crate::demo::seed(&mut conn).await?;
    let desks = Desk::list_active(&mut conn).await?;
    drop(conn);
    print_demo_admin(services).await?;
    println!(
        "Demo: {} desks. Survey links (what each QR code points to):",
        desks.len()
    );
    for desk in &desks {
        println!(
            "  {} | {}: {}",
            desk.unit_name,
            desk.desk_name,
            services.config.desk_link(&desk.code)
        );
    }
    Ok(())
}

/// Creates the demo administrator if missing and prints its password (once).
async fn print_demo_admin(services: &Services) -> anyhow::Result<()> {
    let mut conn = services.database.pool.get().await?;
    match crate::demo::seed_admin(&mut conn).await? {
        Some(password) => println!(
            "Demo admin account: {} / {password} (shown once; sign in at {}/sign-in)",
            crate::demo::DEMO_ADMIN,
            services.config.public_url.as_str().trim_end_matches('/')
        ),
        None => println!(
            "Demo admin account: {} (already exists; its password was shown when it was created)",
            crate::demo::DEMO_ADMIN
        ),
    }
    Ok(())
}

/// File name of a desk's poster: the unit code and the desk id, stable across code rotations.
pub fn poster_file_stem(desk: &DeskListing) -> String {
    format!("{}-{}", desk.unit_code, desk.desk_id)
}

async fn write_posters(services: &Services, out: &Path, dpi: u32) -> anyhow::Result<usize> {
    tokio::fs::create_dir_all(out)
        .await
        .with_context(|| format!("creating {}", out.display()))?;
    let desks = {
        let mut conn = services.database.pool.get().await?;
        Desk::list_active(&mut conn).await?
    };
    for desk in &desks {
        let link = services.config.desk_link(&desk.code);
        let stem = poster_file_stem(desk);
        let (svg, png) = {
            let desk = desk.clone();
            // Rasterising is CPU work: keep it off the async threads.
            tokio::task::spawn_blocking(move || {
                let poster = Poster {
                    unit_name: &desk.unit_name,
                    desk_name: &desk.desk_name,
                    url: &link,
                    parent_name: desk.parent_name.as_deref(),
                };
                Ok::<_, anyhow::Error>((poster.svg(), poster.png(dpi)?))
            })
            .await??
        };
        let svg_path = out.join(format!("{stem}.svg"));
        tokio::fs::write(&svg_path, svg)
            .await
            .with_context(|| format!("writing {}", svg_path.display()))?;
        let png_path = out.join(format!("{stem}.png"));
        tokio::fs::write(&png_path, png)
            .await
            .with_context(|| format!("writing {}", png_path.display()))?;
    }
    Ok(desks.len())
}

async fn export_responses(
    services: &Services,
    format: ExportFormat,
    out: &Path,
) -> anyhow::Result<u64> {
    let ExportFormat::Csv = format;
    let mut conn = services.database.pool.get().await?;
    if out == Path::new("-") {
        let mut stdout = tokio::io::stdout();
        return crate::export::csv::write_responses(&mut conn, &services.forms, &mut stdout).await;
    }
    // Write next to the target and rename, so a failed export never leaves a partial file.
    let partial = out.with_extension("csv.partial");
    let written = async {
        let mut file = tokio::fs::File::create(&partial)
            .await
            .with_context(|| format!("creating {}", partial.display()))?;
        let count =
            crate::export::csv::write_responses(&mut conn, &services.forms, &mut file).await?;
        file.sync_all().await?;
        drop(file);
        tokio::fs::rename(&partial, out)
            .await
            .with_context(|| format!("writing {}", out.display()))?;
        Ok(count)
    }
    .await;
    if written.is_err() {
        let _ = tokio::fs::remove_file(&partial).await;
    }
    written
}
