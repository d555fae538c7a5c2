//! Reading a GraphQL multipart request (the upload of a file with an operation) within
//! limits: `operations` and `map` at most 1 MiB each, one file of at most the configured
//! size, streamed to a temporary file chunk by chunk — nothing of size is held in memory.

use async_graphql::UploadValue;
use axum::body::Body;
use axum::http::StatusCode;
use std::collections::HashMap;
use std::io::{Seek, SeekFrom};
use tokio::io::AsyncWriteExt;

/// Bounds on one multipart request.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    pub max_file_bytes: usize,
    pub max_field_bytes: usize,
    pub max_files: usize,
}

/// How many variables one file may be mapped to, and how many parts a request may have
/// besides its files: a `map` naming one file 50,000 times is refused, not copied.
const MAX_MAP_PATHS: usize = 10;
const MAX_OTHER_PARTS: usize = 8;

/// Why an upload was refused: an HTTP status and a message.
pub type Refusal = (StatusCode, String);

fn refusal(error: multer::Error) -> Refusal {
    match error {
        multer::Error::FieldSizeExceeded { field_name, .. } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the part `{}` is larger than this server accepts",
                field_name.unwrap_or_default()
            ),
        ),
        multer::Error::StreamSizeExceeded { .. } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "the upload is larger than this server accepts".to_string(),
        ),
        other => (
            StatusCode::BAD_REQUEST,
            format!("cannot read the upload: {other}"),
        ),
    }
}

fn bad(message: impl Into<String>) -> Refusal {
    (StatusCode::BAD_REQUEST, message.into())
}

fn io(error: std::io::Error) -> Refusal {
    tracing::error!(%error, "cannot spool an upload");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "the server cannot store the upload right now".to_string(),
    )
}

/// Reads one GraphQL request with its uploaded file(s) from a multipart body. `authorize`
/// sees the operation (the `operations` part, which comes first) before any file is read:
/// a refusal there means no byte of the file is spooled.
pub async fn read<F, Fut>(
    content_type: &str,
    body: Body,
    limits: UploadLimits,
    authorize: F,
) -> Result<async_graphql::Request, Refusal>
where
    F: Fn(&async_graphql::Request) -> Fut,
    Fut: std::future::Future<Output = Result<(), Refusal>>,
{
    let boundary = multer::parse_boundary(content_type).map_err(refusal)?;
    let field_limit = limits.max_field_bytes as u64;
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(
                (limits.max_file_bytes as u64).saturating_mul(limits.max_files as u64)
                    + 2 * field_limit,
            )
            .for_field("operations", field_limit)
            .for_field("map", field_limit)
            .per_field(limits.max_file_bytes as u64),
    );
    let mut multipart =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let mut operations: Option<async_graphql::Request> = None;
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    let mut files: Vec<(String, UploadValue)> = Vec::new();
    let mut other_parts = 0;
    let mut map_read = false;
    while let Some(mut field) = multipart.next_field().await.map_err(refusal)? {
        match field.name().map(str::to_string).as_deref() {
            Some("operations") => {
                let bytes = field.bytes().await.map_err(refusal)?;
                operations =
                    Some(serde_json::from_slice(&bytes).map_err(|e| {
                        bad(format!("`operations` is not one GraphQL request: {e}"))
                    })?);
            }
            Some("map") => {
                let bytes = field.bytes().await.map_err(refusal)?;
                map = serde_json::from_slice(&bytes)
                    .map_err(|e| bad(format!("`map` is not a map of files to variables: {e}")))?;
                map_read = true;
                let paths: usize = map.values().map(Vec::len).sum();
                if map.len() > limits.max_files || paths > MAX_MAP_PATHS * limits.max_files {
                    return Err(bad(format!(
                        "`map` names {paths} variable(s) for {} part(s): at most {} file(s), each for at most {MAX_MAP_PATHS} variables",
                        map.len(),
                        limits.max_files
                    )));
                }
            }
            Some(name) if map_read && !map.contains_key(name) => {
                // A part that is neither the operations, the map nor a mapped file.
                other_parts += 1;
                if other_parts > MAX_OTHER_PARTS {
                    return Err(bad(format!(
                        "at most {MAX_OTHER_PARTS} parts besides `operations`, `map` and the file"
                    )));
                }
                while field.chunk().await.map_err(refusal)?.is_some() {}
                let _ = name;
            }
            Some(name) => {
                let Some(operation) = &operations else {
                    return Err(bad("the `operations` part must come before the file"));
                };
                authorize(operation).await?;
                if files.len() == limits.max_files {
                    return Err(bad(format!(
                        "at most {} file(s) per request",
                        limits.max_files
                    )));
                }
                let filename = field.file_name().unwrap_or_default().to_string();
                let content_type = field.content_type().map(|m| m.to_string());
                let spooled = tokio::task::spawn_blocking(tempfile::tempfile)
                    .await
                    .map_err(|e| io(std::io::Error::other(e)))?
                    .map_err(io)?;
                let mut file = tokio::fs::File::from_std(spooled);
                while let Some(chunk) = field.chunk().await.map_err(refusal)? {
                    file.write_all(&chunk).await.map_err(io)?;
                }
                file.flush().await.map_err(io)?;
                let mut content = file.into_std().await;
                content.seek(SeekFrom::Start(0)).map_err(io)?;
                files.push((
                    name.to_string(),
                    UploadValue {
                        filename,
                        content_type,
                        content,
                    },
                ));
            }
            None => {
                other_parts += 1;
                if other_parts > MAX_OTHER_PARTS {
                    return Err(bad(format!(
                        "at most {MAX_OTHER_PARTS} parts besides `operations`, `map` and the file"
                    )));
                }
            }
        }
    }
    let mut request = operations.ok_or_else(|| bad("the upload has no `operations` part"))?;
    for (name, upload) in files {
        let paths = map
            .get(&name)
            .ok_or_else(|| bad(format!("the file part `{name}` is not in `map`")))?;
        for path in paths {
            let copy = upload.try_clone().map_err(io)?;
            request.set_upload(path, copy);
        }
    }
    Ok(request)
}
