//! The pages: each reads through the GraphQL schema as the signed-in person and renders a template.

use super::*;

// ---------------------------------------------------------------------------------------
// Pages

pub(super) async fn portfolio(
    State(web): State<Shared>,
    jar: CookieJar,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    let page = match web.page(&jar, &headers, &query).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    let Some((viewer, _, _)) = &page.viewer else {
        return to_sign_in("/");
    };
    match views::portfolio(&web.api, *viewer, page.language).await {
        Ok(values) => web.render(&page, "portfolio.html", values),
        Err(error) => web.api_failure(&page, error),
    }
}

pub(super) async fn engagement_page(
    State(web): State<Shared>,
    jar: CookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let page = match web.page(&jar, &headers, &query).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    let Some((viewer, _, _)) = &page.viewer else {
        return to_sign_in(&format!("/engagements/{id}"));
    };
    let Ok(id) = Uuid::parse_str(&id) else {
        return web.not_found(&page);
    };
    match views::engagement(
        &web.api,
        *viewer,
        page.language,
        id,
        query.period.as_deref(),
        query.as_of.as_deref(),
    )
    .await
    {
        Ok(values) => web.render(&page, "engagement.html", values),
        Err(error) => web.api_failure(&page, error),
    }
}

pub(super) async fn member_page(
    State(web): State<Shared>,
    jar: CookieJar,
    headers: HeaderMap,
    Path((id, member)): Path<(String, String)>,
    Query(query): Query<PageQuery>,
) -> Response {
    let page = match web.page(&jar, &headers, &query).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    let Some((viewer, _, _)) = &page.viewer else {
        return to_sign_in(&format!("/engagements/{id}/members/{member}"));
    };
    let (Ok(id), Ok(member)) = (Uuid::parse_str(&id), Uuid::parse_str(&member)) else {
        return web.not_found(&page);
    };
    match views::member(
        &web.api,
        *viewer,
        page.language,
        id,
        member,
        query.period.as_deref(),
    )
    .await
    {
        Ok(values) => web.render(&page, "member.html", values),
        Err(error) => web.api_failure(&page, error),
    }
}

pub(super) async fn statement_download(
    State(web): State<Shared>,
    jar: CookieJar,
    headers: HeaderMap,
    Path((id, payout, file)): Path<(String, String, String)>,
    Query(query): Query<PageQuery>,
) -> Response {
    let page = match web.page(&jar, &headers, &query).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    let Some((viewer, _, _)) = &page.viewer else {
        return to_sign_in(&format!("/engagements/{id}"));
    };
    let format = match file.as_str() {
        "statement.xlsx" => "XLSX",
        "statement.csv" => "CSV",
        _ => return web.not_found(&page),
    };
    let (Ok(id), Ok(payout)) = (Uuid::parse_str(&id), Uuid::parse_str(&payout)) else {
        return web.not_found(&page);
    };
    match views::statement(&web.api, *viewer, page.language, id, payout, format).await {
        Ok((name, content_type, bytes)) => {
            let ascii: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let disposition = format!(
                "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
                urlencode(&name).replace('/', "%2F")
            );
            let mut response = bytes.into_response();
            let headers = response.headers_mut();
            if let Ok(value) = HeaderValue::from_str(&content_type) {
                headers.insert(header::CONTENT_TYPE, value);
            }
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            response
        }
        Err(error) => web.api_failure(&page, error),
    }
}

/// The engagement pages that take only the engagement's id.
macro_rules! engagement_tab {
    ($name:ident, $template:literal, |$web:ident, $viewer:ident, $language:ident, $id:ident, $query:ident| $read:expr) => {
        pub(super) async fn $name(
            State($web): State<Shared>,
            jar: CookieJar,
            headers: HeaderMap,
            Path(id): Path<String>,
            Query($query): Query<PageQuery>,
        ) -> Response {
            let path = format!("/engagements/{id}");
            let (page, $viewer) = match $web.signed_in(&jar, &headers, &$query, &path).await {
                Ok(signed_in) => signed_in,
                Err(response) => return response,
            };
            let Ok($id) = Uuid::parse_str(&id) else {
                return $web.not_found(&page);
            };
            let $language = page.language;
            let read = $read;
            $web.answer(&page, $template, read)
        }
    };
}

engagement_tab!(
    kpis_page,
    "kpis.html",
    |web, viewer, language, id, query| {
        let _ = &query;
        views::kpis(&web.api, viewer, language, id).await
    }
);
engagement_tab!(
    reviews_page,
    "reviews.html",
    |web, viewer, language, id, query| {
        let _ = &query;
        views::reviews(&web.api, viewer, language, id).await
    }
);
engagement_tab!(
    payouts_page,
    "payouts.html",
    |web, viewer, language, id, query| {
        views::payouts(&web.api, viewer, language, id, query.period.as_deref()).await
    }
);
engagement_tab!(
    changes_page,
    "changes.html",
    |web, viewer, language, id, query| {
        views::changes(&web.api, viewer, language, id, query.from.as_deref()).await
    }
);
engagement_tab!(
    imports_page,
    "imports.html",
    |web, viewer, language, id, query| {
        let _ = &query;
        views::imports(&web.api, viewer, language, id).await
    }
);
engagement_tab!(
    people_page,
    "people.html",
    |web, viewer, language, id, query| {
        let _ = &query;
        views::people(&web.api, viewer, language, id).await
    }
);
engagement_tab!(
    audit_page,
    "audit.html",
    |web, viewer, language, id, query| {
        views::audit(
            &web.api,
            viewer,
            language,
            id,
            query.after.as_deref(),
            query.kind.as_deref(),
            query.period.as_deref(),
        )
        .await
    }
);

pub(super) async fn kpi_page(
    State(web): State<Shared>,
    jar: CookieJar,
    headers: HeaderMap,
    Path((id, kpi)): Path<(String, String)>,
    Query(query): Query<PageQuery>,
) -> Response {
    let path = format!("/engagements/{id}/kpis/{kpi}");
    let (page, viewer) = match web.signed_in(&jar, &headers, &query, &path).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    let (Ok(id), Ok(kpi)) = (Uuid::parse_str(&id), Uuid::parse_str(&kpi)) else {
        return web.not_found(&page);
    };
    let read = views::kpi(&web.api, viewer, page.language, id, kpi).await;
    web.answer(&page, "kpi.html", read)
}
