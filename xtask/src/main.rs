//! `cargo xtask`: the workshop's one command. Each module owns one job:
//! `steps` (the step table), `starter` (starters from solutions), `cargo` (running a step's tests),
//! `learner` (check, hint, solve, reset), `cloud` (the local AWS emulator), `lab` (the whole pipeline, locally),
//! `deploy` (a learner's deployment: deploy, status, destroy, checks), `book`, `browser` (the book and the lab's dashboard in Chromium),
//! `tools` (pinned crates.io tools), `workspace_hack` (one feature set per shared crate), `verify`.

mod book;
mod browser;
mod cargo;
mod check_cloud;
mod cloud;
mod deploy;
mod fast_link;
mod files;
mod hints;
mod interrupt;
mod lab;
mod learner;
mod map_check;
mod mutants;
mod starter;
mod steps;
#[cfg(test)]
mod tidy;
#[cfg(test)]
mod tidy_builds;
#[cfg(test)]
mod tidy_parity;
mod tools;
mod trace;
mod verify;
mod workspace_hack;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "The kinesis-lab workshop: check your steps, run the pipeline, verify the repo."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole pipeline on the local cloud (no AWS account needed), and check that nothing was lost.
    Lab {
        /// How many records the producer writes [default: 5000; 20000 for the reshard scenario].
        #[arg(long)]
        records: Option<u64>,
        /// Run your own code for each step you have started (changed from its starter) and the solutions for the
        /// rest; says which is which. A started step that does not build runs the solution too.
        #[arg(long)]
        mine: bool,
        /// End with the summary as one JSON object.
        #[arg(long)]
        json: bool,
        /// Firehose's buffering interval, in seconds (AWS allows 0 to 900) [default: step 4's definition's].
        #[arg(long)]
        firehose_interval: Option<u32>,
        /// Firehose's compression: UNCOMPRESSED, GZIP, Snappy or HADOOP_SNAPPY [default: step 4's definition's].
        #[arg(long)]
        firehose_compression: Option<String>,
        /// The analysis' tumbling window, in seconds.
        #[arg(long, default_value_t = 5)]
        window: u32,
        /// The producer's rate [default: 95% of the stream's write capacity, 1,000 records/s per shard].
        #[arg(long)]
        records_per_second: Option<u64>,
        /// Turn off the local cloud's shard limits (AWS's 1,000 records/s per shard and the rest), as moto is alone.
        #[arg(long)]
        no_limits: bool,
        /// How long a Kinesis stream is CREATING, UPDATING or DELETING, in milliseconds [default: 2000].
        #[arg(long)]
        stream_lifecycle_ms: Option<u64>,
        /// The local CloudWatch's "minute", in milliseconds [default: 60000, AWS's]: metrics published and alarms
        /// evaluated once per such minute. Shorter only for tests and quick demonstrations.
        #[arg(long)]
        cloudwatch_minute_ms: Option<u64>,
        /// A quick demonstration: CloudWatch's minute lasts 3 s (`--cloudwatch-minute-ms 3000`), so that
        /// `--scenario load-doubles` takes half a minute instead of ten.
        #[arg(long, conflicts_with = "cloudwatch_minute_ms")]
        demo: bool,
        /// Turn IAM off: every call allowed whoever signs it, as moto is alone (by default the local cloud checks
        /// every role's calls against its policies, as AWS does).
        #[arg(long)]
        no_iam: bool,
        /// What to provoke: steady (the producer at 95% of capacity), hot-key, burst, poison, flaky, reshard or
        /// load-doubles (step 6: your alarms and scaler must double the stream).
        #[arg(long, default_value_t = lab_contract::Scenario::Steady)]
        scenario: lab_contract::Scenario,
        /// For the demonstration only: read a reshard's children without waiting for their parents (AWS never
        /// does), to see the order check fail.
        #[arg(long, hide = true)]
        no_parents_first: bool,
        #[command(flatten)]
        faults: lab_contract::FaultArgs,
        #[command(flatten)]
        dashboard: lab_contract::DashboardArgs,
        /// Keep the dashboard up after the summary, until Ctrl-C.
        #[arg(long)]
        hold: bool,
        /// Rewrite step 1's reference trace (steps/step-1/tests/fixtures/reference-trace.json) from a run of the
        /// solutions in every scenario, --records each: what each role calls, which step 1's tests grade against.
        #[arg(long, conflicts_with_all = ["mine", "scenario", "no_iam", "no_limits", "check_trace", "hold"])]
        write_trace: bool,
        /// Compare step 1's reference trace with a steady run of the solutions (`verify` does it too).
        #[arg(long, conflicts_with_all = ["mine", "scenario", "no_iam", "no_limits", "hold"])]
        check_trace: bool,
    },
    /// Run a short lab and watch its dashboard in headless Chromium: live figures, no console error, step 5's map
    /// drawn where its readings are, the last figures equal to the summary; screenshots in .lab/screenshots/.
    DashboardCheck {
        #[arg(long, default_value_t = 2000)]
        records: u64,
        /// The lab's scenario (steady, hot-key, burst, poison, flaky, reshard, load-doubles) [default: the lab's].
        #[arg(long)]
        scenario: Option<String>,
    },
    /// Invoke a step's Lambda function once, locally, with an event from a JSON file; prints its answer.
    Invoke {
        step: String,
        #[arg(long)]
        event: std::path::PathBuf,
        /// Invoke the solution's function instead of yours.
        #[arg(long)]
        solution: bool,
        /// The function's timeout, in seconds.
        #[arg(long, default_value_t = 30)]
        timeout: u32,
        /// A variable of the function's environment, KEY=VALUE (repeat it for more) [default: the environment of
        /// the function deployed on the running local cloud, if any].
        #[arg(long = "env", value_name = "KEY=VALUE")]
        env: Vec<String>,
    },
    /// List the steps (with --status: how far your own code is).
    List {
        /// Run every step's tests to show which pass.
        #[arg(long)]
        status: bool,
    },
    /// Run a step's tests and say, in plain words, what passes, what to do next and a hint.
    Check {
        /// The step: `step-1` or `1`.
        step: String,
        /// Check the solution instead of your code.
        #[arg(long)]
        solution: bool,
        /// Check what is deployed (`cargo xtask deploy`) instead of running the tests: resources and data through them.
        #[arg(long)]
        deployed: bool,
        /// Check again each time a file of the step changes (src/, tests/, Cargo.toml), until Ctrl-C.
        #[arg(long, conflicts_with = "deployed")]
        watch: bool,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Deploy stages 1..N (your code, or the solutions) to the local cloud, or with --aws to your AWS account.
    Deploy {
        step: String,
        #[arg(long)]
        solution: bool,
        /// Go ahead without asking (AWS only; the plan and its cost are printed all the same).
        #[arg(long)]
        yes: bool,
        /// How long the deployment lives before the clean-up guard removes it: 90m, 2h, 1d [default: its current
        /// deadline, or 4 hours].
        #[arg(long = "for", value_name = "LIFETIME")]
        lifetime: Option<String>,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Invoke the deployed producer.
    RunProducer {
        #[arg(long, default_value_t = 1000)]
        records: u64,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// What of yours is deployed, and what flows (records in the stream, objects in S3).
    Status {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Remove everything you deployed (found by name prefix and tags), bucket contents included.
    Destroy {
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Show the next hint for the function whose test fails (one level at a time: the idea, the approach, the code).
    Hint {
        step: String,
        /// Every hint of the step, every level.
        #[arg(long)]
        all: bool,
    },
    /// Replace your code of a step with the solution (your code is backed up first).
    Solve { step: String },
    /// Put a step back to its starter (your code is backed up first).
    Reset { step: String },
    /// Print every IAM policy document of step 1 as JSON.
    Policy {
        /// Print the solution's policies instead of yours.
        #[arg(long)]
        solution: bool,
        /// The account id to put in the ARNs.
        #[arg(long)]
        account: Option<String>,
        /// The region to put in the ARNs.
        #[arg(long)]
        region: Option<String>,
        /// The bucket Firehose writes to.
        #[arg(long)]
        bucket: Option<String>,
    },
    /// Manage the local cloud (a pinned moto server on 127.0.0.1; state in .lab/).
    Cloud {
        #[command(subcommand)]
        action: CloudAction,
    },
    /// Build the book (with --serve: serve it on 127.0.0.1 and open it).
    Book {
        #[arg(long)]
        serve: bool,
        /// Also open every page in headless Chromium: no console error, every picture rendered, a screenshot.
        #[arg(long, conflicts_with = "serve")]
        browser: bool,
        #[arg(long, default_value_t = 3000)]
        port: u16,
    },
    /// Regenerate the starters from their solutions, and the chapters' hint blocks from steps/steps.toml
    /// (maintainers, after editing a solution or a hint).
    Starters {
        /// Only this step (default: every step).
        step: Option<String>,
    },
    /// Regenerate xtask/workspace-hack with cargo-hakari, so that every build resolves one feature set of each
    /// shared crate (maintainers, after adding or changing a dependency).
    WorkspaceHack,
    /// Mutation testing of one step's solution, or every step's (maintainers, after changing a step's tests or
    /// solution): cargo-mutants in a scratch copy, the local cloud up; prints caught / missed / unviable per step.
    Mutants {
        step: Option<String>,
        /// Passed to cargo-mutants, e.g. `-- --file src/given/heatmap.rs` or `-- --re Tally`.
        #[arg(last = true)]
        cargo_mutants: Vec<String>,
    },
    /// Prove the repository holds together (maintainers and CI): formatting, lints, tidy tests, every solution
    /// passes, every starter compiles and fails at its todo!()s, the book builds with no broken link.
    Verify,
}

/// Where a deployment is.
#[derive(clap::Args, Debug, Clone)]
struct TargetArgs {
    /// Your AWS account (credentials and region from the standard AWS configuration) instead of the local cloud.
    #[arg(long)]
    aws: bool,
    /// Your learner name: it prefixes and tags everything you deploy [default: $KINESIS_LAB_LEARNER; on the local
    /// cloud, else $USER; in AWS one of the two is required, so learners sharing an account never collide].
    #[arg(long)]
    learner: Option<String>,
}

impl From<TargetArgs> for deploy::Target {
    fn from(args: TargetArgs) -> deploy::Target {
        deploy::Target {
            aws: args.aws,
            learner: args.learner,
        }
    }
}

#[derive(Subcommand)]
enum CloudAction {
    /// Start the local cloud and keep it running; prints the environment to point your own tools at it.
    Up {
        /// Turn off the Kinesis front door's shard limits (AWS's 1,000 records/s per shard and the rest).
        #[arg(long)]
        no_limits: bool,
        /// How long a Kinesis stream is CREATING, UPDATING or DELETING, in milliseconds [default: 2000].
        #[arg(long)]
        stream_lifecycle_ms: Option<u64>,
        /// The local CloudWatch's "minute", in milliseconds [default: 60000, AWS's]: metrics published and alarms
        /// evaluated once per such minute. Shorter only for tests and quick demonstrations.
        #[arg(long)]
        cloudwatch_minute_ms: Option<u64>,
        /// Turn IAM off: every call allowed whoever signs it, as moto is alone.
        #[arg(long)]
        no_iam: bool,
        #[command(flatten)]
        faults: lab_contract::FaultArgs,
        #[command(flatten)]
        dashboard: lab_contract::DashboardArgs,
    },
    /// Stop the local cloud started by `cloud up`, and the one `check` keeps warm.
    Down,
    /// Say whether the local cloud is running, and where.
    Status,
}

fn main() -> ExitCode {
    // `check`'s builds run xtask as cargo's compiler wrapper (fast_link.rs).
    if let Some(code) = fast_link::run_as_wrapper() {
        return code;
    }
    interrupt::install();
    let outcome = run(Cli::parse().command);
    if interrupt::interrupted() {
        eprintln!("cargo xtask: interrupted; what it started has stopped");
        return ExitCode::from(130);
    }
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// CloudWatch's minute in `lab --demo`: long enough for the front door's per-second limits and the watcher's
/// work (publish, evaluate, notify) to fit in it many times over.
const DEMO_MINUTE_MS: u64 = 3_000;

fn run(command: Command) -> Result<bool> {
    match command {
        Command::Lab {
            records,
            mine,
            json,
            firehose_interval,
            firehose_compression,
            window,
            records_per_second,
            no_limits,
            stream_lifecycle_ms,
            cloudwatch_minute_ms,
            demo,
            no_iam,
            scenario,
            no_parents_first,
            faults,
            dashboard,
            hold,
            write_trace,
            check_trace,
        } => {
            let cloudwatch_minute_ms = cloudwatch_minute_ms.or(demo.then_some(DEMO_MINUTE_MS));
            if write_trace {
                return trace::write(records);
            }
            if check_trace {
                return trace::check(records);
            }
            lab::lab(lab::LabArgs {
                records,
                no_parents_first,
                mine,
                json,
                firehose_interval,
                firehose_compression,
                window,
                records_per_second,
                no_limits,
                stream_lifecycle_ms,
                cloudwatch_minute_ms,
                no_iam,
                scenario,
                faults,
                dashboard,
                hold,
            })
        }
        Command::DashboardCheck { records, scenario } => dashboard_check(records, scenario),
        Command::Invoke {
            step,
            event,
            solution,
            timeout,
            env,
        } => lab::invoke(&step, &event, solution, timeout, &env),
        Command::List { status } => learner::list(status).map(|()| true),
        Command::Check {
            step,
            deployed: true,
            target,
            ..
        } => deploy::check_deployed(&step, &target.into()),
        Command::Check {
            step,
            solution,
            watch: true,
            ..
        } => learner::watch(&step, solution),
        Command::Check { step, solution, .. } => learner::check(&step, solution),
        Command::Deploy {
            step,
            solution,
            yes,
            lifetime,
            target,
        } => deploy::deploy(&step, solution, &target.into(), yes, lifetime),
        Command::RunProducer { records, target } => deploy::run_producer(&target.into(), records),
        Command::Status { json, target } => deploy::status(&target.into(), json),
        Command::Destroy { yes, target } => deploy::destroy(&target.into(), yes),
        Command::Hint { step, all } => learner::hint(&step, all),
        Command::Solve { step } => learner::solve(&step).map(|()| true),
        Command::Reset { step } => learner::reset(&step).map(|()| true),
        Command::Policy {
            solution,
            account,
            region,
            bucket,
        } => learner::policy(solution, account, region, bucket).map(|()| true),
        Command::Cloud { action } => cloud_command(action),
        Command::Book { serve, browser, port } => {
            if serve {
                book::serve(port)?;
            } else {
                book::build()?;
                println!(
                    "The book is in {}/index.html",
                    learner::relative(&book::html_dir()).display()
                );
                if browser {
                    let screenshot = cloud::state_dir().join("screenshots").join("introduction.png");
                    std::fs::create_dir_all(screenshot.parent().expect("a folder"))?;
                    let report = browser::check(&book::html_dir(), &screenshot)?;
                    println!(
                        "{} pages loaded in headless Chromium with no console error; {} pictures rendered; \
                         the introduction: {}",
                        report.pages,
                        report.pictures,
                        learner::relative(&report.screenshot).display()
                    );
                }
            }
            Ok(true)
        }
        Command::Starters { step } => {
            let steps = match step {
                Some(id) => vec![steps::find(&id)?],
                None => steps::load()?,
            };
            for step in steps {
                let solution = step.solution_dir();
                let src = step.starter_dir().join("src");
                for (path, text) in starter::starter_files(&solution)? {
                    let target = src.join(&path);
                    std::fs::create_dir_all(target.parent().expect("a file has a folder"))?;
                    std::fs::write(&target, text)?;
                    println!("wrote {}", learner::relative(&target).display());
                }
                let chapter = std::fs::read_to_string(step.chapter_path())?;
                let regenerated = hints::with_block(&chapter, &hints::chapter_block(&step))
                    .map_err(|error| anyhow::anyhow!("{}: {error}", step.chapter))?;
                if regenerated != chapter {
                    std::fs::write(step.chapter_path(), regenerated)?;
                    println!("wrote book/src/{} (its hints)", step.chapter);
                }
            }
            Ok(true)
        }
        Command::WorkspaceHack => workspace_hack::run().map(|()| true),
        Command::Mutants { step, cargo_mutants } => mutants::mutants(step.as_deref(), &cargo_mutants),
        Command::Verify => verify::verify(),
    }
}

/// `dashboard-check`: the lab's dashboard in headless Chromium, then its last figures beside the lab's summary.
fn dashboard_check(records: u64, scenario: Option<String>) -> Result<bool> {
    let check = browser::DashboardCheck {
        records,
        name: scenario.clone().unwrap_or_else(|| "check".to_owned()),
        scenario,
        screenshots: cloud::state_dir().join("screenshots"),
        echo: true,
    };
    let report = browser::dashboard_check(&check)?;
    let totals = &report.metrics["totals"];
    println!(
        "The dashboard showed the run live in headless Chromium, with no console error and step 5's map drawn where \
         its readings are ({} anomaly rings in {} pictures, each within a cell of a cell with readings) ({:.0} s); \
         its last figures equal the lab's summary: produced {}, consumed {}, delivered {}, throttled {}, given up {}.",
        report.rings_checked,
        report.pictures,
        report.seconds,
        totals["produced"],
        totals["consumed"],
        totals["delivered"],
        totals["throttled"],
        report.summary["failed"]
    );
    println!(
        "Screenshots: {} (mid-run) and {} (the end)",
        learner::relative(&report.live).display(),
        learner::relative(&report.end).display()
    );
    Ok(true)
}

fn cloud_command(action: CloudAction) -> Result<bool> {
    match action {
        CloudAction::Up {
            no_limits,
            stream_lifecycle_ms,
            cloudwatch_minute_ms,
            no_iam,
            faults,
            dashboard,
        } => {
            let serve = lab_contract::Serve {
                no_limits,
                stream_lifecycle_ms,
                cloudwatch_minute_ms,
                no_iam,
                front_door_only: false,
                idle_exit_seconds: None,
                emulator_pid: None,
                faults,
                dashboard,
            };
            let cloud = cloud::up_with(lab::lab_cloud_binary, serve)?;
            println!(
                "The local cloud is up at {} (pid {}; its Lambda host, event source mappings and Firehose: pid {}).",
                cloud.endpoint(),
                cloud.pid,
                cloud
                    .data_plane_pid
                    .map_or_else(|| "-".to_owned(), |pid| pid.to_string())
            );
            println!(
                "Functions you register there run from .lab/cloud/functions/<name>/bootstrap. \
                 To point the AWS CLI or your own code at it:"
            );
            for line in cloud.shell_lines() {
                println!("{line}");
            }
            if let Some(url) = cloud::dashboard_url() {
                println!("Dashboard: {url}");
            }
            println!("Stop it with `cargo xtask cloud down`.");
        }
        CloudAction::Down => {
            match cloud::running() {
                Some(cloud) => {
                    cloud::stop(&cloud);
                    println!("The local cloud (pid {}) is stopped.", cloud.pid);
                }
                None => println!("The local cloud is not running."),
            }
            if let Some(warm) = check_cloud::stop() {
                println!("The cloud kept warm for checks (pid {}) is stopped.", warm.pid);
            }
        }
        CloudAction::Status => {
            match cloud::running() {
                Some(cloud) => println!("The local cloud is up at {} (pid {}).", cloud.endpoint(), cloud.pid),
                None => println!("The local cloud is not running (`cargo xtask cloud up` starts it)."),
            }
            if let Some(warm) = check_cloud::running() {
                println!(
                    "The cloud kept warm for checks is up at {} (pid {}; it stops after {} idle minutes).",
                    warm.endpoint(),
                    warm.pid,
                    check_cloud::IDLE_SECONDS / 60
                );
            }
        }
    }
    Ok(true)
}
