//! What the forms change: each runs as the signed-in person behind the session's CSRF token and returns to its page with a flash message.

use super::*;

/// A form's change: checked against the session's CSRF token, run as one GraphQL mutation
/// as the signed-in person, then back to the page it came from with what happened.
pub(super) async fn action(
    State(web): State<Shared>,
    jar: CookieJar,
    headers: HeaderMap,
    Path((id, name)): Path<(String, String)>,
    Form(fields): Form<std::collections::HashMap<String, String>>,
) -> Response {
    let path = format!("/engagements/{id}");
    let (page, viewer) = match web
        .signed_in(&jar, &headers, &PageQuery::default(), &path)
        .await
    {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    let sent = fields.get("csrf").map(String::as_str).unwrap_or_default();
    if !page.form_is_ours(&headers, sent) {
        let mut response = web.render(
            &page,
            "message.html",
            context! { heading => "error_title", body => i18n::message(page.language, "form_expired", &[]) },
        );
        *response.status_mut() = StatusCode::FORBIDDEN;
        return response;
    }
    let Ok(engagement) = Uuid::parse_str(&id) else {
        return web.not_found(&page);
    };
    let back = local_path(fields.get("back").map(String::as_str));
    let outcome = actions::run(&web.api, viewer, engagement, &name, &fields).await;
    let flash = match outcome {
        Ok(actions::Done::Saved) => {
            tracing::info!(action = %name, engagement = %engagement, "web action done");
            write_flash(true, &i18n::message(page.language, "saved", &[]))
        }
        Ok(actions::Done::Invite(email)) => {
            // The API accepted the person (added by, or a member of an engagement of,
            // this consultant): a one-time link for them to set a password.
            match invitation_path(&web.accounts, &web.sign_in, &email).await {
                Ok(path) => {
                    let host = headers
                        .get(header::HOST)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("127.0.0.1:8080");
                    let scheme = if page.secure { "https" } else { "http" };
                    let link = format!("{scheme}://{host}{path}");
                    write_flash(
                        true,
                        &i18n::message(
                            page.language,
                            "invitation_ready",
                            &[("email", email), ("link", link)],
                        ),
                    )
                }
                Err(error) => return web.failure(page.language, &error.to_string()),
            }
        }
        Err(actions::ActionError::Unknown) => return web.not_found(&page),
        Err(actions::ActionError::Api(error))
            if matches!(error.code.as_deref(), Some("NOT_FOUND") | Some("FORBIDDEN")) =>
        {
            return web.not_found(&page)
        }
        Err(actions::ActionError::Api(error)) if error.code.as_deref() == Some("INTERNAL") => {
            return web.failure(page.language, &error.message)
        }
        Err(actions::ActionError::Api(error)) => write_flash(
            false,
            &i18n::message(page.language, "refused", &[("detail", error.message)]),
        ),
        Err(actions::ActionError::Field(key, args)) => {
            write_flash(false, &i18n::message(page.language, key, &args))
        }
    };
    page.flash_redirect(jar, flash, &back)
}

/// Opens an engagement (consultants): the one action not inside an engagement.
pub(super) async fn open_engagement(
    State(web): State<Shared>,
    jar: CookieJar,
    headers: HeaderMap,
    Form(fields): Form<std::collections::HashMap<String, String>>,
) -> Response {
    let (page, viewer) = match web
        .signed_in(&jar, &headers, &PageQuery::default(), "/")
        .await
    {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    let csrf = page
        .viewer
        .as_ref()
        .map(|(_, session, _)| session.csrf_token.clone())
        .unwrap_or_default();
    let sent = fields.get("csrf").map(String::as_str).unwrap_or_default();
    if !same_origin(&headers) || !constant_time_eq(&csrf, sent) {
        return (
            StatusCode::FORBIDDEN,
            "this form has expired; reload the page",
        )
            .into_response();
    }
    let platforms: Vec<&str> = views::PLATFORMS
        .iter()
        .copied()
        .filter(|p| fields.contains_key(&format!("platform_{p}")))
        .collect();
    let field = |name: &str| fields.get(name).map(|v| v.trim()).unwrap_or_default();
    let answer = web
        .api
        .run(
            viewer,
            "mutation($i: OpenEngagementInput!) { openEngagement(input: $i) { id } }",
            json!({ "i": { "name": field("name"), "clientName": field("client_name"), "platforms": platforms } }),
        )
        .await;
    let (flash, target) = match answer {
        Ok(data) => (
            write_flash(true, &i18n::message(page.language, "saved", &[])),
            format!(
                "/engagements/{}/kpis",
                data["openEngagement"]["id"].as_str().unwrap_or_default()
            ),
        ),
        Err(error) if matches!(error.code.as_deref(), Some("FORBIDDEN")) => {
            return web.not_found(&page)
        }
        Err(error) => (
            write_flash(
                false,
                &i18n::message(page.language, "refused", &[("detail", error.message)]),
            ),
            "/".to_string(),
        ),
    };
    page.flash_redirect(jar, flash, &target)
}

/// An uploaded marketplace file: the session and its CSRF token (the form's first field)
/// are checked before any of the file is read; the file is spooled to a temporary file up
/// to the server's limit and handed to `importMetrics` as the signed-in person.
pub(super) async fn upload(
    State(web): State<Shared>,
    jar: CookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Body,
) -> Response {
    let path = format!("/engagements/{id}/imports");
    let (page, viewer) = match web
        .signed_in(&jar, &headers, &PageQuery::default(), &path)
        .await
    {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    let Ok(engagement) = Uuid::parse_str(&id) else {
        return web.not_found(&page);
    };
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok());
    let Some(boundary) = boundary else {
        return (StatusCode::BAD_REQUEST, "expected a multipart form").into_response();
    };
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream((web.max_upload_bytes + 64 * 1024) as u64)
            .per_field(web.max_upload_bytes as u64),
    );
    let mut multipart =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let mut fields = std::collections::HashMap::new();
    let mut spooled: Option<(tempfile::NamedTempFile, String)> = None;
    let mut first = true;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => {
                return (
                    StatusCode::BAD_REQUEST,
                    format!("cannot read the upload: {error}"),
                )
                    .into_response()
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        if first {
            first = false;
            // Nothing is read past the token unless it is this session's.
            let token = field.text().await.unwrap_or_default();
            if name != "csrf" || !page.form_is_ours(&headers, &token) {
                return (
                    StatusCode::FORBIDDEN,
                    "this form has expired; reload the page",
                )
                    .into_response();
            }
            continue;
        }
        if name == "file" {
            let file_name = field.file_name().unwrap_or("upload").to_string();
            let mut temp = match tempfile::NamedTempFile::new() {
                Ok(temp) => temp,
                Err(error) => return web.failure(page.language, &error.to_string()),
            };
            let mut field = field;
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        if let Err(error) = std::io::Write::write_all(&mut temp, &chunk) {
                            return web.failure(page.language, &error.to_string());
                        }
                    }
                    Ok(None) => break,
                    Err(error) => {
                        return (
                            StatusCode::PAYLOAD_TOO_LARGE,
                            format!("the file cannot be taken: {error}"),
                        )
                            .into_response()
                    }
                }
            }
            spooled = Some((temp, file_name));
        } else {
            let value = field.text().await.unwrap_or_default();
            fields.insert(name, value.chars().take(200).collect::<String>());
        }
    }
    let Some((temp, file_name)) = spooled else {
        return (StatusCode::BAD_REQUEST, "no file was sent").into_response();
    };
    // Name the spooled file as the person's file, so the job records its name.
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => return web.failure(page.language, &error.to_string()),
    };
    let safe: String = std::path::Path::new(&file_name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "upload".into());
    let named = dir.path().join(&safe);
    if let Err(error) = temp.persist(&named) {
        return web.failure(page.language, &error.to_string());
    }
    let field = |name: &str| {
        fields
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let answer = web
        .api
        .run_with_file(
            viewer,
            "mutation($i: ImportMetricsInput!, $file: Upload!) { importMetrics(input: $i, file: $file) { id } }",
            json!({ "i": { "engagementId": engagement, "format": field("format").unwrap_or_default(),
                           "platform": field("platform"), "from": field("from"), "to": field("to") },
                    "file": null }),
            &named,
        )
        .await;
    let flash = match answer {
        Ok(_) => write_flash(true, &i18n::message(page.language, "saved", &[])),
        Err(error) if matches!(error.code.as_deref(), Some("NOT_FOUND") | Some("FORBIDDEN")) => {
            return web.not_found(&page)
        }
        Err(error) => write_flash(
            false,
            &i18n::message(page.language, "refused", &[("detail", error.message)]),
        ),
    };
    page.flash_redirect(jar, flash, &path)
}
