//! The command line: `serve`, `migrate`, `user add`, `token issue`, `demo`, `import`,
//! `audit`, `projections`, `schema`.

use crate::app::{shutdown_signal, Application, Context};
use crate::auth::{AuthSettings, TokenService};
use anyhow::{bail, Context as _};
use chrono::Utc;
use clap::{Parser, Subcommand};
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::user::Grants;
use uuid::Uuid;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/kpi-ledger.db";

#[derive(Debug, Parser)]
#[command(
    name = "kpi-ledger",
    version,
    about = "Auditable KPI and incentive ledger"
)]
pub struct Cli {
    /// Database: sqlite://PATH (created on first start) or postgres://USER@HOST/DB.
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        global = true,
        default_value = DEFAULT_DATABASE_URL
    )]
    pub database_url: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (GraphQL on /graphql).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "KPI_LEDGER_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Seed the demo engagements first (once) and print tokens to explore them.
        #[arg(long)]
        demo: bool,
        /// Largest file an import upload may carry, in bytes.
        #[arg(long, env = "KPI_LEDGER_MAX_UPLOAD_BYTES", default_value_t = crate::http::DEFAULT_MAX_UPLOAD_BYTES)]
        max_upload_bytes: usize,
        /// Sign an audit checkpoint this often (e.g. 1h); off unless set.
        #[arg(long, env = "KPI_LEDGER_AUDIT_CHECKPOINT_EVERY")]
        audit_checkpoint_every: Option<humantime::Duration>,
        /// Do not serve GraphiQL on GET /graphql (production).
        #[arg(long, env = "KPI_LEDGER_NO_GRAPHIQL")]
        no_graphiql: bool,
        /// Refuse introspection queries (production).
        #[arg(long, env = "KPI_LEDGER_NO_INTROSPECTION")]
        no_introspection: bool,
        /// An origin whose pages may call the API from a browser (CORS), e.g.
        /// https://app.example.jp; repeat for several. None by default.
        #[arg(
            long = "cors-origin",
            env = "KPI_LEDGER_CORS_ORIGINS",
            value_delimiter = ','
        )]
        cors_origins: Vec<String>,
        /// Serve Prometheus metrics on /metrics to requests bearing this token (at least
        /// 16 characters); without it /metrics is not served.
        #[arg(long, env = "KPI_LEDGER_METRICS_TOKEN", hide_env_values = true)]
        metrics_token: Option<String>,
        #[command(flatten)]
        auth: AuthSettings,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load benchmark on a scratch database: seeds the demo, starts the server and runs
    /// each scenario beside its raw-database baseline (docs/PERFORMANCE.md).
    Bench(crate::bench::BenchArgs),
    /// Rewrite the tables that held names, emails and keys, so nothing erased lingers in
    /// the database files (the server does this after each erasure when it may; on
    /// PostgreSQL run this as the tables' owner, like `migrate`).
    Compact,
    /// Manage login accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Seed demo engagements (the SPEC worked example and three months of daily data) and
    /// print tokens for a consultant, a client owner and a member.
    Demo {
        #[command(flatten)]
        auth: AuthSettings,
    },
    /// Import a marketplace export (through a running server, or into the database).
    Import(crate::cli_import::ImportArgs),
    /// Verify the audit trail, sign checkpoints, export an engagement's chain.
    Audit {
        #[command(subcommand)]
        command: crate::cli_audit::AuditCommand,
    },
    /// Rebuild read models from the event log (safe while servers run).
    Projections {
        #[command(subcommand)]
        command: ProjectionsCommand,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
}

#[derive(Debug, Subcommand)]
pub enum ProjectionsCommand {
    /// List the read models with the log position each has reached.
    List,
    /// Rebuild every read model, or one, from the whole log into shadow tables and swap
    /// them in atomically; readers never see a half-built table.
    Rebuild {
        /// The read model to rebuild (see `projections list`); all when omitted.
        #[arg(long)]
        only: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a login account.
    Add {
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// May open engagements.
        #[arg(long)]
        consultant: bool,
        /// May manage users and tokens.
        #[arg(long)]
        admin: bool,
    },
    /// List every login account with its grants (administrators).
    List,
    /// Give or take installation grants: `--consultant true`, `--admin false`.
    Grant {
        #[arg(long)]
        email: String,
        #[arg(long)]
        consultant: Option<bool>,
        #[arg(long)]
        admin: Option<bool>,
    },
    /// Disable an account: its tokens, sessions and password are refused until enabled.
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[arg(long)]
        email: String,
    },
    /// Print a one-time link (valid 72 hours) with which a person sets their password and
    /// signs in to the web app; the same resets a forgotten password.
    Invite {
        #[arg(long)]
        email: String,
        /// The address people reach the server at.
        #[arg(
            long,
            env = "KPI_LEDGER_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        public_url: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Refuse tokens: every token of a user issued until now (and end their web
    /// sessions), or one token, named by its id or given whole. Running servers refuse it
    /// within a second.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["user", "token_id", "token"])))]
    Revoke {
        /// The user's email: all of their tokens.
        #[arg(long)]
        user: Option<String>,
        /// One token's id (`token issue` prints it on stderr).
        #[arg(long)]
        token_id: Option<String>,
        /// One token, whole (its id and expiry are read from it).
        #[arg(long)]
        token: Option<String>,
        #[command(flatten)]
        auth: AuthSettings,
    },
    /// Start signing tokens with a new key. Tokens signed with earlier keys keep working
    /// until they expire; keys whose tokens have all expired are removed. Running servers
    /// pick the new key up without a restart.
    RotateKey {
        #[command(flatten)]
        auth: AuthSettings,
    },
    /// Print a signed bearer token for a user (the token alone, on stdout).
    Issue {
        /// The user's email.
        #[arg(long)]
        user: String,
        /// Lifetime, such as 30d, 12h or 90m.
        #[arg(long, default_value = "30d")]
        ttl: humantime::Duration,
        #[command(flatten)]
        auth: AuthSettings,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            listen,
            demo,
            max_upload_bytes,
            audit_checkpoint_every,
            no_graphiql,
            no_introspection,
            cors_origins,
            metrics_token,
            auth,
        } => {
            let app =
                Application::build_with_limits(&cli.database_url, &listen, &auth, max_upload_bytes)
                    .await?
                    .with_audit_checkpoints(audit_checkpoint_every.map(Into::into))
                    .with_exploration(!no_graphiql, !no_introspection)
                    .with_cors_origins(&cors_origins)?
                    .with_metrics_token(metrics_token)?;
            if demo {
                let context = Context::connect(&cli.database_url).await?;
                let tokens = crate::demo::seed(&context, &auth).await?;
                crate::demo::print(&tokens, Some(&app.local_addr()?.to_string()));
            }
            tracing::info!(
                address = %app.local_addr()?,
                database = %crate::store::redact(&cli.database_url),
                "kpi-ledger listening; GraphiQL on http://{}/graphql",
                app.local_addr()?
            );
            app.run_until(shutdown_signal()).await
        }
        Command::Migrate => {
            let context = Context::connect(&cli.database_url).await?;
            context.db.close().await;
            if context.migrations_applied.is_empty() {
                println!("no migrations were pending; the database is up to date");
            } else {
                for migration in &context.migrations_applied {
                    println!("applied migration {migration}");
                }
            }
            Ok(())
        }
        Command::Bench(args) => {
            let report = crate::bench::run(&cli.database_url, &args).await?;
            println!(
                "\n{} on {}\n",
                if args.smoke { "smoke run" } else { "load" },
                crate::store::redact(&cli.database_url)
            );
            print!("{}", crate::bench::table(&report));
            Ok(())
        }
        Command::Compact => {
            let context = Context::connect(&cli.database_url).await?;
            let compacted = context.db.compact_personal_data().await;
            context.db.close().await;
            if compacted? {
                println!("compacted: erased personal data is gone from the database files");
                Ok(())
            } else {
                bail!(
                    "could not compact now: on PostgreSQL connect as the owner of the \
                     tables (the migration role); on SQLite a reader held the write-ahead \
                     log, try again"
                )
            }
        }
        Command::User {
            command:
                UserCommand::Add {
                    email,
                    name,
                    consultant,
                    admin,
                },
        } => {
            let context = Context::connect(&cli.database_url).await?;
            let metadata = CommandMetadata::new(None, Uuid::new_v4())
                .with_reason(Some("created from the command line".into()));
            let account = context
                .services
                .accounts()
                .add(&email, &name, Grants { consultant, admin }, &metadata)
                .await
                .with_context(|| format!("failed to add user {email}"))?;
            context.db.close().await;
            println!("{}", account.user_id);
            Ok(())
        }
        Command::User {
            command: UserCommand::List,
        } => {
            let context = Context::connect(&cli.database_url).await?;
            let accounts = context.services.accounts().list().await?;
            context.db.close().await;
            println!("user id\temail\tname\tgrants");
            for account in accounts {
                let mut grants = Vec::new();
                if account.grants.consultant {
                    grants.push("consultant");
                }
                if account.grants.admin {
                    grants.push("admin");
                }
                println!(
                    "{}\t{}\t{}\t{}",
                    account.user_id,
                    account.email,
                    account.display_name,
                    if grants.is_empty() {
                        "-".to_string()
                    } else {
                        grants.join(",")
                    }
                );
            }
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Grant {
                    email,
                    consultant,
                    admin,
                },
        } => {
            let context = Context::connect(&cli.database_url).await?;
            let Some(account) = context.services.accounts().by_email(&email).await? else {
                bail!("no user with email {email}");
            };
            if consultant.is_none() && admin.is_none() {
                bail!("say what to change: --consultant true|false, --admin true|false");
            }
            let grants = Grants {
                consultant: consultant.unwrap_or(account.grants.consultant),
                admin: admin.unwrap_or(account.grants.admin),
            };
            let metadata = CommandMetadata::new(None, Uuid::new_v4())
                .with_reason(Some("grants changed from the command line".into()));
            context
                .services
                .accounts()
                .change_grants(account.user_id, grants, &metadata)
                .await
                .with_context(|| format!("failed to change the grants of {email}"))?;
            context.db.close().await;
            println!(
                "{email}: consultant {}, admin {}",
                grants.consultant, grants.admin
            );
            Ok(())
        }
        Command::User {
            command: UserCommand::Disable { email },
        } => set_disabled(&cli.database_url, &email, true).await,
        Command::User {
            command: UserCommand::Enable { email },
        } => set_disabled(&cli.database_url, &email, false).await,
        Command::Token {
            command:
                TokenCommand::Revoke {
                    user,
                    token_id,
                    token,
                    auth,
                },
        } => {
            let context = Context::connect(&cli.database_url).await?;
            if let Some(user) = user {
                let Some(account) = context.services.accounts().by_email(&user).await? else {
                    bail!("no user with email {user}");
                };
                context
                    .services
                    .accounts()
                    .revoke_tokens(account.user_id)
                    .await?;
                println!(
                    "every token of {user} issued until now is revoked; their web sessions ended"
                );
            } else {
                let tokens =
                    TokenService::from_settings(&auth, &context.db, &context.keyring).await?;
                let (id, user, expires_at) = match (token_id, token) {
                    (Some(id), _) => {
                        // Without the token its expiry is unknown: kept for the longest
                        // lifetime a token may have.
                        let longest: std::time::Duration = auth
                            .max_token_ttl
                            .map(Into::into)
                            .unwrap_or(crate::auth::DEFAULT_MAX_TOKEN_TTL);
                        let until = Utc::now() + chrono::Duration::from_std(longest)?;
                        (id, None, until.timestamp())
                    }
                    (None, Some(token)) => {
                        let claims = tokens
                            .inspect(token.trim())
                            .context("the token is not one this installation signed")?;
                        let Some(id) = claims.jti else {
                            bail!(
                                "the token has no id (issued before token ids existed); revoke \
                                 all of its user's tokens with --user"
                            );
                        };
                        (id, claims.sub.parse().ok(), claims.exp)
                    }
                    (None, None) => bail!("name the token: --token-id or --token"),
                };
                crate::auth::revoke_token(&context.db, &id, user, expires_at).await?;
                println!("token {id} is revoked");
            }
            context.db.close().await;
            Ok(())
        }
        Command::Token {
            command: TokenCommand::RotateKey { auth },
        } => {
            if auth.jwt_secret.is_some() || auth.jwt_public_key_file.is_some() {
                bail!(
                    "tokens are signed with a configured secret or by an identity provider: \
                     rotate that key where it is configured"
                );
            }
            let context = Context::connect(&cli.database_url).await?;
            let longest: std::time::Duration = auth
                .max_token_ttl
                .map(Into::into)
                .unwrap_or(crate::auth::DEFAULT_MAX_TOKEN_TTL);
            let rotation =
                crate::auth::rotate_signing_key(&context.db, &context.keyring, longest).await?;
            context.db.close().await;
            println!("new signing key {}", rotation.new_key);
            for key in &rotation.kept {
                println!("still verifying tokens of {key}");
            }
            for key in &rotation.retired {
                println!("removed {key}: every token it signed has expired");
            }
            Ok(())
        }
        Command::User {
            command: UserCommand::Invite { email, public_url },
        } => {
            let context = Context::connect(&cli.database_url).await?;
            let sign_in = crate::web::sign_in::SignIn::new(context.db.clone());
            let path = crate::web::invitation_path(context.services.accounts(), &sign_in, &email)
                .await
                .with_context(|| format!("failed to invite {email}"))?;
            context.db.close().await;
            println!("{}{path}", public_url.trim_end_matches('/'));
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Issue { user, ttl, auth },
        } => {
            let context = Context::connect(&cli.database_url).await?;
            let Some(account) = context.services.accounts().by_email(&user).await? else {
                bail!("no user with email {user}; create one with `kpi-ledger user add`");
            };
            let tokens = TokenService::from_settings(&auth, &context.db, &context.keyring).await?;
            let ttl = chrono::Duration::from_std(*ttl).context("--ttl is too long")?;
            let now = Utc::now();
            let token = tokens.issue(account.user_id, now, now + ttl)?;
            context.db.close().await;
            if let Some(id) = tokens.inspect(&token).ok().and_then(|c| c.jti) {
                eprintln!("token id {id} (kpi-ledger token revoke --token-id {id})");
            }
            println!("{token}");
            Ok(())
        }
        Command::Demo { auth } => {
            let context = Context::connect(&cli.database_url).await?;
            let tokens = crate::demo::seed(&context, &auth).await?;
            context.db.close().await;
            crate::demo::print(&tokens, None);
            Ok(())
        }
        Command::Import(args) => crate::cli_import::run(&cli.database_url, args).await,
        Command::Audit { command } => crate::cli_audit::run(&cli.database_url, command).await,
        Command::Projections { command } => {
            let context = Context::connect(&cli.database_url).await?;
            match command {
                ProjectionsCommand::List => {
                    for (name, position) in context.projector.checkpoints().await? {
                        println!("{name}\t{position}");
                    }
                }
                ProjectionsCommand::Rebuild { only } => {
                    let started = std::time::Instant::now();
                    let position = context.projector.rebuild(only.as_deref()).await?;
                    println!(
                        "rebuilt {} through position {position} in {:.1?}",
                        only.as_deref().unwrap_or("every read model"),
                        started.elapsed()
                    );
                }
            }
            context.db.close().await;
            Ok(())
        }
        Command::Schema => {
            print!("{}", kpi_ledger_graphql::sdl());
            Ok(())
        }
    }
}

/// `user disable` / `user enable`.
async fn set_disabled(database_url: &str, email: &str, disabled: bool) -> anyhow::Result<()> {
    let context = Context::connect(database_url).await?;
    let Some(account) = context.services.accounts().by_email(email).await? else {
        bail!("no user with email {email}");
    };
    context
        .services
        .accounts()
        .set_disabled(account.user_id, disabled)
        .await?;
    context.db.close().await;
    if disabled {
        println!("{email} is disabled: their tokens, sessions and password are refused");
    } else {
        println!("{email} is enabled");
    }
    Ok(())
}
