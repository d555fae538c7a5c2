//! `kpi-ledger audit`: verify the hash chains, sign a checkpoint, export an engagement's
//! chain with its proof for an auditor (docs/AUDIT.md).

use crate::app::Context;
use crate::audit::{checkpoint, export, verify};
use anyhow::{bail, Context as _};
use std::path::PathBuf;
use uuid::Uuid;

#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Recompute every chain (or one engagement's) and hold it against the newest
    /// checkpoint; names the first broken link. Exits 1 if anything is wrong.
    Verify {
        #[arg(long)]
        engagement: Option<Uuid>,
    },
    /// Sign every chain's head now; prints the checkpoint as JSON (or writes it to --out).
    Checkpoint {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write an engagement's events (with their links) and the inclusion proof of the
    /// newest checkpoint into a folder, for `scripts/verify_audit.py`.
    Export {
        #[arg(long)]
        engagement: Uuid,
        /// The folder to write `events.jsonl` and `proof.json` into.
        #[arg(long)]
        out: PathBuf,
    },
}

pub async fn run(database_url: &str, command: AuditCommand) -> anyhow::Result<()> {
    let context = Context::connect(database_url).await?;
    let db = context.db.clone();
    let outcome = match command {
        AuditCommand::Verify { engagement } => {
            let verifications = match engagement {
                Some(id) => vec![verify::verify_chain(&db, &id.to_string()).await?],
                None => verify::verify_all(&db).await?,
            };
            let mut broken = 0;
            for v in &verifications {
                match &v.problem {
                    None => println!(
                        "{}: {} events verified{}",
                        v.chain,
                        v.events,
                        v.checkpoint_id
                            .as_ref()
                            .map(|c| format!(", consistent with checkpoint {c}"))
                            .unwrap_or_default()
                    ),
                    Some(problem) => {
                        broken += 1;
                        println!("{}: BROKEN: {}", v.chain, problem.describe());
                    }
                }
            }
            if broken > 0 {
                db.close().await;
                bail!("{broken} chain(s) do not verify");
            }
            Ok(())
        }
        AuditCommand::Checkpoint { out } => {
            let checkpoint = checkpoint::create(&db, &context.keyring).await?;
            let json = serde_json::to_string_pretty(&checkpoint)?;
            match out {
                Some(path) => std::fs::write(&path, json)
                    .with_context(|| format!("cannot write {}", path.display())),
                None => {
                    println!("{json}");
                    Ok(())
                }
            }
        }
        AuditCommand::Export { engagement, out } => {
            std::fs::create_dir_all(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            let chain = engagement.to_string();
            let mut file =
                std::io::BufWriter::new(std::fs::File::create(out.join("events.jsonl"))?);
            let written = export::write_events(&db, &chain, &mut file).await?;
            std::io::Write::flush(&mut file)?;
            if written == 0 {
                bail!("engagement {engagement} has no events");
            }
            match checkpoint::latest(&db).await?.and_then(|c| c.proof(&chain)) {
                Some(proof) => {
                    std::fs::write(out.join("proof.json"), serde_json::to_string_pretty(&proof)?)?;
                    println!(
                        "wrote {written} events and the proof of checkpoint {} to {}",
                        proof.checkpoint_id,
                        out.display()
                    );
                }
                None => println!(
                    "wrote {written} events to {}; no checkpoint covers this engagement yet (run `kpi-ledger audit checkpoint`)",
                    out.display()
                ),
            }
            Ok(())
        }
    };
    db.close().await;
    outcome
}
