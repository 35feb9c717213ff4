//! The `sipas` command line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use chrono::{Datelike, NaiveDate};
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{Config, LogFormat};
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
    /// List the yearly partitions of the responses, or create one year's (moving its rows out
    /// of the default partition); docs/deployment.md, section 3.
    Partitions {
        /// Create the partition of this year (Vietnam's calendar) if it is missing.
        #[arg(long, value_parser = clap::value_parser!(i32).range(1000..=9998))]
        create: Option<i32>,
    },
    /// Write one printable A5 QR poster per desk (SVG and PNG).
    Qr {
        /// Directory to write the posters to (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Resolution of the PNG posters.
        #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(72..=crate::export::poster::MAX_DPI as i64))]
        dpi: u32,
    },
    /// The unit tree and its desks as a spreadsheet (the template of /staff/units/import).
    Units {
        #[command(subcommand)]
        action: UnitsCommand,
    },
    /// Staff accounts.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Export the results and the raw data of a year or period: an Excel workbook, the raw
    /// data as CSV, its codebook, SPSS syntax, or a zip of the last three.
    Export {
        /// Year of the survey.
        #[arg(long, value_parser = clap::value_parser!(i32).range(2000..=2100))]
        year: i32,
        /// Period within the year: 2026-q1..q4, 2026-h1/h2, 2026-03, or the name of a period of
        /// the year's plan ("Quý I"). Default: the whole year.
        #[arg(long)]
        period: Option<String>,
        /// Code of the unit whose results (with the units below it) are exported. Default: the
        /// whole installation.
        #[arg(long)]
        unit: Option<String>,
        /// Survey form id (default: SIPAS_DEFAULT_FORM).
        #[arg(long)]
        form: Option<String>,
        /// Only the responses of this channel (qr, paper, ...).
        #[arg(long)]
        channel: Option<String>,
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// File to write ("-": standard output, for csv, codebook and sps). With --format sps
        /// the syntax reads the CSV of the same name (`x.sps` reads `x.csv`).
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the printable report ("Báo cáo kết quả khảo sát sự hài lòng của người dân, tổ
    /// chức năm YYYY") of a year or period: one HTML file with its stylesheet inlined, or with
    /// --pdf an A4 PDF printed by headless Chromium.
    Report {
        /// Year of the survey.
        #[arg(long, value_parser = clap::value_parser!(i32).range(2000..=2100))]
        year: i32,
        /// Period within the year: 2026-q1..q4, 2026-h1/h2, 2026-03, or the name of a period of
        /// the year's plan ("Quý I"). Default: the whole year.
        #[arg(long)]
        period: Option<String>,
        /// Code of the unit whose sub-units the report ranks. Default: the whole installation.
        #[arg(long)]
        unit: Option<String>,
        /// Survey form id (default: SIPAS_DEFAULT_FORM).
        #[arg(long)]
        form: Option<String>,
        /// File to write.
        #[arg(long)]
        out: PathBuf,
        /// Print to PDF through headless Chromium (`chromium` or `chromium-browser` on PATH,
        /// or SIPAS_CHROMIUM).
        #[arg(long)]
        pdf: bool,
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
    /// Apply the retention settings (SIPAS_*_KEEP_DAYS): delete old comments, limit buckets
    /// and sign-in failures, clear old client keys, flags' evidence and dossier numbers, expire
    /// old exported files; one transaction, audited (docs/privacy.md). The server does this
    /// once a day.
    Purge {
        /// Count what would be removed or cleared, change nothing (no audit entry).
        #[arg(long)]
        dry_run: bool,
    },
    /// Personal data in the citizens' comments (docs/privacy.md).
    Privacy {
        #[command(subcommand)]
        action: PrivacyCommand,
    },
    /// Check the installation without changing anything: every variable, the session key, the
    /// database and its migrations, the forms, the data and spool directories, the public URL
    /// and the clock; one line per check, exit status 1 when one fails.
    Doctor,
}

#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Mask the phone numbers, ID numbers, e-mail addresses and licence plates in the comments
    /// stored before comments were masked at storage (once, after upgrading; audited).
    MaskComments {
        /// Count what would be masked, change nothing.
        #[arg(long)]
        dry_run: bool,
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
pub enum UnitsCommand {
    /// Write every unit and desk, in the import's format (.csv or .xlsx, by the extension).
    Export {
        #[arg(long)]
        out: PathBuf,
    },
    /// Create or update units (matched by code) and desks (by unit code and name) from a .csv
    /// or .xlsx file; one transaction and one audit entry, or nothing at all. Prints every
    /// problem by row and column; exit status 1 when the file is refused.
    Import {
        file: PathBuf,
        /// Check the file and say what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Excel workbook: summary, criteria, expectations, respondents, comments, data, codebook.
    Xlsx,
    /// Raw data, one row per response (UTF-8 with BOM).
    Csv,
    /// Codebook of the raw data (CSV).
    Codebook,
    /// SPSS syntax reading the raw-data CSV.
    Sps,
    /// Zip of the raw-data CSV, the codebook and the SPSS syntax.
    Zip,
}

impl From<ExportFormat> for crate::export::ExportFormat {
    fn from(f: ExportFormat) -> Self {
        use crate::export::ExportFormat as E;
        match f {
            ExportFormat::Xlsx => E::Xlsx,
            ExportFormat::Csv => E::Csv,
            ExportFormat::Codebook => E::Codebook,
            ExportFormat::Sps => E::Sps,
            ExportFormat::Zip => E::Bundle,
        }
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Doctor) {
        return doctor();
    }
    let bind = match &cli.command {
        Command::Serve { bind, .. } => *bind,
        _ => None,
    };
    let config = Config::from_env_binding(bind);
    let format = config
        .as_ref()
        .map_or(LogFormat::default(), |config| config.log_format);
    init_tracing(format);
    let config = match config {
        Ok(config) => config,
        Err(e) => {
            report_failure(format, &e);
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            report_failure(format, &format_args!("cannot start the runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report_failure(format, &format_args!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// `sipas doctor`: reads the configuration itself (an unusable variable is one of its
/// findings, not a reason to stop) and prints its report on standard output.
fn doctor() -> ExitCode {
    let env = crate::doctor::Environment::from_process();
    // The log (warnings of the checks' libraries only) in the configured format if it is usable.
    let format = LogFormat::from_lookup(&|name: &str| {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    })
    .unwrap_or_default();
    init_tracing(format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            report_failure(format, &format_args!("cannot start the runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let report = runtime.block_on(crate::doctor::run(&env));
    print!("{report}");
    if report.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The error a command ends with: a line `sipas: …` on standard error, or with the JSON log one
/// more JSON object (level ERROR), so that a log shipper reads every line.
fn report_failure(format: LogFormat, error: &dyn std::fmt::Display) {
    match format {
        LogFormat::Text => eprintln!("sipas: {error}"),
        LogFormat::Json => tracing::error!("{error}"),
    }
}

/// The log on standard error (`RUST_LOG`, default `info`): lines, coloured only on a terminal,
/// or JSON objects (`SIPAS_LOG_FORMAT=json`).
fn init_tracing(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .with_ansi(false)
            .json()
            .flatten_event(true)
            .try_init(),
    };
}

pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    warn_of_former_data_dir(&config);
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
        Command::Partitions { create } => {
            let services = Services::open(config).await?;
            let result = partitions(&services, create).await;
            services.close().await;
            result?;
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
            let services = Services::open(config).await?;
            let result = async {
                let mut conn = services.database.pool.get().await?;
                if !units.is_empty() {
                    ensure_units_exist(&mut conn)
                        .await
                        .map_err(|e| anyhow::anyhow!("--unit: {e}"))?;
                }
                // Refuse a wrong name, role or unit before asking for a password.
                crate::staff::check_account_request(&mut conn, &username, &role, &units).await?;
                let password = read_new_password()?;
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
            year,
            period,
            unit,
            form,
            channel,
            format,
            out,
        } => {
            let services = Services::open(config).await?;
            let request = crate::export::SpecRequest {
                year,
                period,
                unit: unit.map(crate::export::UnitRef::Code),
                form,
                channel,
            };
            let result = export(&services, &request, format.into(), &out).await;
            services.close().await;
            let summary = result?;
            if out == Path::new("-") {
                eprintln!("exported {} responses", summary.rows);
            } else {
                eprintln!(
                    "exported {} responses to {} ({} bytes)",
                    summary.rows,
                    out.display(),
                    summary.bytes
                );
            }
        }
        Command::Report {
            year,
            period,
            unit,
            form,
            out,
            pdf,
        } => {
            // Without Chromium, say so before touching the database.
            let chromium = if pdf {
                Some(crate::export::pdf::find_chromium(
                    config.chromium.as_deref(),
                )?)
            } else {
                None
            };
            let services = Services::open(config).await?;
            let request = crate::export::SpecRequest {
                year,
                period,
                unit: unit.map(crate::export::UnitRef::Code),
                form,
                channel: None,
            };
            let result = report_html(&services, &request).await;
            services.close().await;
            let html = result?;
            match chromium {
                Some(chromium) => {
                    let pdf = crate::export::pdf::print_html(&chromium, &html).await?;
                    write_replacing(&out, &pdf).await?
                }
                None => write_replacing(&out, html.as_bytes()).await?,
            }
            eprintln!("wrote {}", out.display());
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
        Command::Purge { dry_run } => {
            let services = Services::open(config).await?;
            let rules = services.config.retention;
            let export_dir = services.config.export_dir();
            let result = async {
                let mut conn = services.database.pool.get().await?;
                anyhow::Ok(
                    crate::app::retention::purge(
                        &mut conn,
                        &rules,
                        dry_run,
                        crate::db::retention::PurgedBy::CommandLine,
                    )
                    .await?,
                )
            }
            .await;
            services.close().await;
            let purge = result?;
            if !dry_run {
                crate::export::jobs::delete_files(&export_dir, &purge.expired_files).await;
            }
            print!("{}", purge_summary(&purge));
        }
        Command::Units { action } => {
            let services = Services::open(config).await?;
            let result = run_units(&services, action).await;
            services.close().await;
            result?;
        }
        Command::Doctor => {
            let report = crate::doctor::run(&crate::doctor::Environment::from_process()).await;
            print!("{report}");
            if report.failed() {
                anyhow::bail!("sipas doctor found problems");
            }
        }
        Command::Privacy {
            action: PrivacyCommand::MaskComments { dry_run },
        } => {
            let services = Services::open(config).await?;
            let result = async {
                let mut conn = services.database.pool.get().await?;
                anyhow::Ok(crate::app::comments::mask_stored(&mut conn, dry_run).await?)
            }
            .await;
            services.close().await;
            let report = result?;
            println!(
                "{} {} of {} comments (phone numbers {}, ID numbers {}, e-mail addresses {}, \
                 licence plates {})",
                if dry_run { "would mask" } else { "masked" },
                report.masked,
                report.examined,
                report.phones,
                report.id_numbers,
                report.emails,
                report.plates
            );
        }
    }
    Ok(())
}

/// `sipas units export` and `sipas units import`.
async fn run_units(services: &Services, action: UnitsCommand) -> anyhow::Result<()> {
    use crate::app::unit_import::{self, ImportedBy, MAX_FILE_BYTES, Outcome};
    use crate::export::unit_sheet::{self, SheetFormat};
    let mut conn = services.database.pool.get().await?;
    match action {
        UnitsCommand::Export { out } => {
            let format = SheetFormat::of_name(&out.to_string_lossy())
                .context("--out: the file name must end in .csv or .xlsx")?;
            let existing = unit_import::load_existing(&mut conn).await?;
            let lines = unit_import::export_lines(&existing);
            let bytes = unit_sheet::write(&lines, format)?;
            write_replacing(&out, &bytes).await?;
            eprintln!(
                "wrote {} units and {} desks to {}",
                lines.units.len(),
                lines.desks.len(),
                out.display()
            );
            Ok(())
        }
        UnitsCommand::Import { file, dry_run } => {
            let size = tokio::fs::metadata(&file)
                .await
                .with_context(|| format!("cannot read {}", file.display()))?
                .len();
            if size > MAX_FILE_BYTES as u64 {
                anyhow::bail!(
                    "{}: Tệp quá lớn ({} kB); tối đa {} kB.",
                    file.display(),
                    size.div_ceil(1024),
                    MAX_FILE_BYTES / 1024
                );
            }
            let bytes = tokio::fs::read(&file)
                .await
                .with_context(|| format!("cannot read {}", file.display()))?;
            let problems = match unit_sheet::read(&bytes) {
                Ok(lines) => {
                    let forms = services.forms.form_ids();
                    match unit_import::import(
                        &mut conn,
                        ImportedBy::CommandLine,
                        &lines,
                        &forms,
                        dry_run,
                    )
                    .await?
                    {
                        Outcome::Checked(plan) => {
                            if plan.is_empty() {
                                println!(
                                    "nothing to change (the file matches the units and desks stored)"
                                );
                            } else if dry_run {
                                println!("dry run, nothing stored: would {}", plan.summary());
                            } else {
                                println!("imported: {}", plan.summary());
                            }
                            return Ok(());
                        }
                        Outcome::Refused(problems) => problems,
                    }
                }
                Err(problems) => problems,
            };
            for problem in &problems {
                println!("{problem}");
            }
            anyhow::bail!(
                "{}: {} problem(s), nothing stored",
                file.display(),
                problems.len()
            )
        }
    }
}

/// What a command that needs the unit tree says on a database that has no unit yet (a new
/// installation), and how to fill it.
pub const NO_UNITS_YET: &str = "Cơ sở dữ liệu chưa có đơn vị nào (cài đặt mới). Tạo huyện mẫu bằng \
     `sipas demo --responses 0` (hoặc `sipas serve --demo`), hoặc tạo tài khoản quản trị bằng \
     `sipas user add --username TEN --role admin` rồi thêm các đơn vị và quầy ở trang “Đơn vị” \
     (/staff/units).";

/// What `sipas qr` says when units exist but none has an active desk.
pub const NO_ACTIVE_DESKS: &str = "Chưa có quầy nào đang hoạt động: thêm quầy cho các đơn vị ở \
     trang “Đơn vị” (/staff/units), hoặc tạo huyện mẫu bằng `sipas demo --responses 0`.";

/// Fails with [`NO_UNITS_YET`] when the database holds no unit.
async fn ensure_units_exist(conn: &mut diesel_async::AsyncPgConnection) -> anyhow::Result<()> {
    if crate::db::units::Unit::all_by_name(conn).await?.is_empty() {
        anyhow::bail!(NO_UNITS_YET);
    }
    Ok(())
}

/// A request of `sipas export` or `sipas report` that does not resolve, named by its option;
/// an empty database says so and how to fill it.
fn spec_problem(e: crate::export::SpecError) -> anyhow::Error {
    use crate::export::SpecError;
    match e {
        SpecError::NoUnitsYet => anyhow::anyhow!(NO_UNITS_YET),
        SpecError::Database(e) => anyhow::Error::from(e),
        e => match e.field() {
            "" => anyhow::anyhow!("{e}"),
            field => anyhow::anyhow!("--{field}: {e}"),
        },
    }
}

/// Earlier versions kept their data in `./data` under whatever folder they started in: when
/// such a folder is here and the data directory is now elsewhere, say how to keep using it.
fn warn_of_former_data_dir(config: &Config) {
    if config.data_dir_source == crate::config::DataDirSource::Variable {
        return;
    }
    let Ok(former) = std::path::absolute("data") else {
        return;
    };
    if former != config.data_dir
        && ["postgres", "spool"]
            .iter()
            .any(|d| former.join(d).is_dir())
    {
        tracing::warn!(
            "{} holds the data of an earlier version (its default was ./data); the data directory is now {} ({}): set SIPAS_DATA_DIR={} to keep using the former one",
            former.display(),
            config.data_dir.display(),
            config.data_dir_source.describe(),
            former.display()
        );
    }
}

/// What `sipas purge` prints: one line per category, with its count and its period.
pub fn purge_summary(purge: &crate::db::retention::Purge) -> String {
    let (rules, counts) = (&purge.rules, &purge.counts);
    let rows: [(&str, i64, &str, u32); 8] = [
        ("comments", counts.comments, "deleted", rules.comments_days),
        (
            "client keys of responses",
            counts.client_keys,
            "cleared",
            rules.client_keys_days,
        ),
        (
            "sign-in failures",
            counts.sign_in_failures,
            "deleted",
            rules.client_keys_days,
        ),
        (
            "limit buckets",
            counts.limit_buckets,
            "deleted",
            rules.limits_days,
        ),
        (
            "flag details",
            counts.flag_details,
            "cleared",
            rules.flag_evidence_days,
        ),
        (
            "form start times",
            counts.start_times,
            "cleared",
            rules.flag_evidence_days,
        ),
        (
            "dossier numbers",
            counts.dossier_numbers,
            "cleared",
            rules.dossier_days,
        ),
        (
            "exported files",
            counts.exports,
            "expired",
            rules.exports_days,
        ),
    ];
    let mut out = String::new();
    if purge.dry_run {
        out.push_str("dry run: nothing changed\n");
    }
    for (what, count, done, days) in rows {
        let verb = if purge.dry_run {
            format!("would be {done}")
        } else {
            done.to_string()
        };
        out.push_str(&format!(
            "{what:<26} {count:>8} {verb} (kept {days} days)\n"
        ));
    }
    out
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
    let burst = crate::demo::generate_burst(&mut conn, &services.forms, seed, from, to).await?;
    if burst > 0 {
        println!(
            "added {burst} manufactured responses (a burst at one desk, for the page of flagged responses)"
        );
    }
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
    let desks = {
        let mut conn = services.database.pool.get().await?;
        let desks = Desk::list_active(&mut conn).await?;
        if desks.is_empty() {
            ensure_units_exist(&mut conn).await?;
            anyhow::bail!(NO_ACTIVE_DESKS);
        }
        desks
    };
    tokio::fs::create_dir_all(out)
        .await
        .with_context(|| format!("creating {}", out.display()))?;
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

/// `sipas export`: resolves the request (every unit: the command line has no account scope)
/// and writes through [`crate::export::write`], next to the target and renamed when complete,
/// so a failed export never leaves a partial file. A progress bar on a terminal.
async fn export(
    services: &Services,
    request: &crate::export::SpecRequest,
    format: crate::export::ExportFormat,
    out: &Path,
) -> anyhow::Result<crate::export::Summary> {
    use crate::export::{ExportFormat as F, ExportSpec};
    use std::io::IsTerminal;
    let mut conn = services.database.pool.get().await?;
    let mut spec = ExportSpec::resolve(
        &mut conn,
        &services.forms,
        &services.config.default_form,
        crate::auth::Scope::All,
        request,
    )
    .await
    .map_err(spec_problem)?;
    if format == F::Sps
        && out != Path::new("-")
        && let Some(stem) = out.file_stem().and_then(|s| s.to_str())
    {
        spec.file_stem = stem.to_string();
    }
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {bar:40} {pos}/{len} phiếu ({per_sec}, còn {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let progress = |done: u64, total: u64| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    if out == Path::new("-") {
        let mut stdout = std::io::BufWriter::new(std::io::stdout());
        let rows = match format {
            F::Csv => {
                crate::export::csv::write_data(
                    &mut conn,
                    &services.forms,
                    &spec,
                    &mut stdout,
                    &progress,
                )
                .await?
            }
            F::Codebook => {
                let layout =
                    crate::export::labelled_layout(&mut conn, &services.forms, &spec).await?;
                std::io::Write::write_all(
                    &mut stdout,
                    &crate::export::csv::codebook_csv(&layout)?,
                )?;
                0
            }
            F::Sps => {
                let layout =
                    crate::export::labelled_layout(&mut conn, &services.forms, &spec).await?;
                let syntax = crate::export::sps::syntax(
                    &layout,
                    &spec,
                    &crate::export::spss_data_file_name(&spec),
                );
                std::io::Write::write_all(&mut stdout, syntax.as_bytes())?;
                0
            }
            F::Xlsx | F::Bundle => anyhow::bail!(
                "--out -: only csv, codebook and sps can be written to standard output"
            ),
        };
        std::io::Write::flush(&mut stdout)?;
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        return Ok(crate::export::Summary { rows, bytes: 0 });
    }
    let mut partial = out.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let written = crate::export::write(
        &mut conn,
        &services.forms,
        &spec,
        format,
        &partial,
        &progress,
    )
    .await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    match written {
        Ok(summary) => match tokio::fs::rename(&partial, out).await {
            Ok(()) => Ok(summary),
            Err(e) => {
                let _ = tokio::fs::remove_file(&partial).await;
                Err(anyhow::Error::from(e).context(format!("writing {}", out.display())))
            }
        },
        Err(e) => {
            let _ = tokio::fs::remove_file(&partial).await;
            Err(e)
        }
    }
}

/// `sipas report`: the printable report of `request` (every unit: the command line has no
/// account scope), as one self-contained HTML document.
async fn report_html(
    services: &Services,
    request: &crate::export::SpecRequest,
) -> anyhow::Result<String> {
    use crate::export::ExportSpec;
    use crate::report_document::{About, prepare};
    let mut conn = services.database.pool.get().await?;
    let spec = ExportSpec::resolve(
        &mut conn,
        &services.forms,
        &services.config.default_form,
        crate::auth::Scope::All,
        request,
    )
    .await
    .map_err(spec_problem)?;
    let report = crate::reports::build(
        &mut conn,
        &services.forms,
        &crate::auth::Scope::All,
        &spec.query,
    )
    .await
    .map_err(|e| anyhow::anyhow!("building the report: {e}"))?;
    let (from, to) = spec.days();
    let whole_year = (from, to) == crate::periods::year_range(request.year);
    // The label without the days: the document states them on a line of their own.
    let days = format!(
        " ({} – {})",
        crate::plans::format_date(from),
        crate::plans::format_date(to)
    );
    let period = (!whole_year).then(|| {
        spec.period_label
            .strip_suffix(&days)
            .unwrap_or(&spec.period_label)
            .to_string()
    });
    let about = About {
        year: request.year,
        period,
        form_title: spec.form_title.clone(),
        kind: None,
    };
    let prepared = prepare(
        &mut conn,
        &crate::auth::Scope::All,
        report,
        about,
        crate::plans::today_in_vietnam(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("gathering the report: {e}"))?;
    Ok(crate::views::staff::report::standalone(
        &crate::views::staff::report::ReportDoc::of(&prepared),
        crate::views::staff::report::REPORT_STYLESHEET,
    )
    .into_string())
}

/// Writes `bytes` next to `out` and renames, so a failure never leaves a partial file.
async fn write_replacing(out: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let partial = partial_path(out);
    let written = async {
        tokio::fs::write(&partial, bytes)
            .await
            .with_context(|| format!("writing {}", partial.display()))?;
        tokio::fs::rename(&partial, out)
            .await
            .with_context(|| format!("writing {}", out.display()))
    }
    .await;
    if written.is_err() {
        let _ = tokio::fs::remove_file(&partial).await;
    }
    written
}

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    out.with_file_name(name)
}

/// `sipas partitions`: creates a year's partition when asked, then lists them all.
async fn partitions(services: &Services, create: Option<i32>) -> anyhow::Result<()> {
    use crate::db::partitions::{self, Ensured};
    let mut conn = services.database.pool.get().await?;
    if let Some(year) = create {
        match partitions::ensure_year(&mut conn, year).await? {
            Ensured::Existed => println!("responses_y{year} exists already"),
            Ensured::Created { moved } => println!(
                "created responses_y{year}; {moved} responses of {year} moved into it from responses_default"
            ),
        }
    }
    for partition in partitions::list(&mut conn).await? {
        println!(
            "{:<20} {:<72} ~{} rows",
            partition.name,
            partition.bounds,
            partition.estimated_rows.max(0)
        );
    }
    Ok(())
}

#[cfg(test)]
mod report_tests {
    use super::*;

    #[test]
    fn partial_files_sit_next_to_the_target() {
        assert_eq!(
            partial_path(Path::new("/tmp/a/bao-cao.pdf")),
            Path::new("/tmp/a/bao-cao.pdf.partial")
        );
    }
}
