//! Signing in and out, and the one-time links that set a password.

use super::*;

// ---------------------------------------------------------------------------------------
// Sign-in, sign-out, invitations

#[derive(Debug, Deserialize, Default)]
pub(super) struct SignInQuery {
    next: Option<String>,
    lang: Option<String>,
    expired: Option<String>,
}

pub(super) async fn sign_in_form(
    State(web): State<Shared>,
    jar: CookieJar,
    headers: HeaderMap,
    Query(query): Query<SignInQuery>,
) -> Response {
    let page_query = PageQuery {
        lang: query.lang.clone(),
        ..PageQuery::default()
    };
    let page = match web.page(&jar, &headers, &page_query).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    if page.viewer.is_some() {
        return Redirect::to(&local_path(query.next.as_deref())).into_response();
    }
    let (jar, csrf) = form_token(jar, page.secure);
    let notice = query.expired.as_ref().map(|_| "session_expired");
    let response = web.render(
        &page,
        "sign_in.html",
        context! { next => local_path(query.next.as_deref()), email => "", notice => notice, error => (), form_csrf => csrf },
    );
    (jar, response).into_response()
}

#[derive(Debug, Deserialize)]
pub(super) struct SignInForm {
    csrf: String,
    email: String,
    password: String,
    next: Option<String>,
}

pub(super) fn client_address(connect: Option<&Extension<ConnectInfo<SocketAddr>>>) -> IpAddr {
    connect
        .map(|c| c.0 .0.ip())
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
}

pub(super) async fn sign_in_submit(
    State(web): State<Shared>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    jar: CookieJar,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let page = match web.page(&jar, &headers, &PageQuery::default()).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    let next = local_path(form.next.as_deref());
    let expected = jar.get(FORM_COOKIE).map(|c| c.value().to_string());
    let again = |web: &Web, jar: CookieJar, error: &'static str, status: StatusCode| {
        let (jar, csrf) = form_token(jar, page.secure);
        let mut response = web.render(
            &page,
            "sign_in.html",
            context! { next => next.clone(), email => form.email.clone(), error => error, notice => (), form_csrf => csrf },
        );
        *response.status_mut() = status;
        (jar, response).into_response()
    };
    let csrf_ok = same_origin(&headers)
        && expected
            .as_deref()
            .is_some_and(|expected| constant_time_eq(expected, &form.csrf));
    if !csrf_ok {
        return again(&web, jar, "form_expired", StatusCode::FORBIDDEN);
    }
    let address = client_address(connect.as_ref());
    let account_key = form.email.trim().to_lowercase();
    if web.per_address.check_key(&address).is_err()
        || web.per_account.check_key(&account_key).is_err()
    {
        tracing::warn!(%address, "sign-in attempts throttled");
        return again(
            &web,
            jar,
            "sign_in_throttled",
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    match web
        .sign_in
        .check_credentials(&web.accounts, &form.email, &form.password)
        .await
    {
        Ok(Some(user_id)) => match web.sign_in.open_session(user_id).await {
            Ok(opened) => {
                let jar = jar
                    .remove(Cookie::build(FORM_COOKIE).path("/"))
                    .add(session_cookie(opened.token, page.secure));
                tracing::info!(user = %user_id, "signed in");
                (jar, Redirect::to(&next)).into_response()
            }
            Err(error) => web.failure(page.language, &error.to_string()),
        },
        Ok(None) => {
            tracing::info!(%address, "sign-in refused");
            again(&web, jar, "sign_in_failed", StatusCode::UNAUTHORIZED)
        }
        Err(error) => web.failure(page.language, &error.to_string()),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct CsrfForm {
    csrf: String,
}

pub(super) async fn sign_out(
    State(web): State<Shared>,
    jar: CookieJar,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let page = match web.page(&jar, &headers, &PageQuery::default()).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    if page.viewer.is_none() {
        return Redirect::to("/sign-in").into_response();
    }
    if !page.form_is_ours(&headers, &form.csrf) {
        return (
            StatusCode::FORBIDDEN,
            "this form has expired; reload the page",
        )
            .into_response();
    }
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        if let Err(error) = web.sign_in.close_session(cookie.value()).await {
            return web.failure(page.language, &error.to_string());
        }
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    (jar, Redirect::to("/sign-in")).into_response()
}

pub(super) async fn invitation_form(
    State(web): State<Shared>,
    jar: CookieJar,
    headers: HeaderMap,
    Path(token): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let page = match web.page(&jar, &headers, &query).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    invitation_page(&web, page, jar, &token, None).await
}

pub(super) async fn invitation_page(
    web: &Web,
    page: Page,
    jar: CookieJar,
    token: &str,
    error: Option<&'static str>,
) -> Response {
    let user = match web.sign_in.link_user(token).await {
        Ok(user) => user,
        Err(error) => return web.failure(page.language, &error.to_string()),
    };
    let account = match user {
        Some(user_id) => match web.accounts.by_id(user_id).await {
            Ok(account) => account,
            Err(error) => return web.failure(page.language, &error.to_string()),
        },
        None => None,
    };
    let Some(account) = account else {
        let body = i18n::message(page.language, "link_invalid", &[]);
        let mut response = web.render(
            &page,
            "message.html",
            context! { heading => "set_password_title", body => body },
        );
        *response.status_mut() = StatusCode::NOT_FOUND;
        return response;
    };
    let (jar, csrf) = form_token(jar, page.secure);
    let mut response = web.render(
        &page,
        "set_password.html",
        context! {
            token => token, name => account.display_name, email => account.email,
            error => error, form_csrf => csrf,
        },
    );
    if error.is_some() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    (jar, response).into_response()
}

#[derive(Debug, Deserialize)]
pub(super) struct SetPasswordForm {
    csrf: String,
    password: String,
    password_again: String,
}

pub(super) async fn invitation_submit(
    State(web): State<Shared>,
    jar: CookieJar,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<SetPasswordForm>,
) -> Response {
    let page = match web.page(&jar, &headers, &PageQuery::default()).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    let expected = jar.get(FORM_COOKIE).map(|c| c.value().to_string());
    let csrf_ok = same_origin(&headers)
        && expected
            .as_deref()
            .is_some_and(|expected| constant_time_eq(expected, &form.csrf));
    if !csrf_ok {
        return invitation_page(&web, page, jar, &token, Some("form_expired")).await;
    }
    if form.password != form.password_again {
        return invitation_page(&web, page, jar, &token, Some("passwords_differ")).await;
    }
    match web.sign_in.redeem_link(&token, &form.password).await {
        Ok(Some(opened)) => {
            let jar = jar
                .remove(Cookie::build(FORM_COOKIE).path("/"))
                .add(session_cookie(opened.token, page.secure));
            (jar, Redirect::to("/")).into_response()
        }
        Ok(None) => invitation_page(&web, page, jar, &token, None).await,
        Err(SignInError::PasswordTooShort) => {
            invitation_page(&web, page, jar, &token, Some("password_too_short")).await
        }
        Err(SignInError::PasswordTooLong) => {
            invitation_page(&web, page, jar, &token, Some("password_too_long")).await
        }
        Err(error) => web.failure(page.language, &error.to_string()),
    }
}

/// Makes a one-time link that sets the password of `email`'s account (an invitation, or a
/// reset when the account has signed in before): the path to append to the server's URL.
pub async fn invitation_path(
    accounts: &Accounts,
    sign_in: &SignIn,
    email: &str,
) -> anyhow::Result<String> {
    let account = accounts
        .by_email(email)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user with email {email}"))?;
    let token = sign_in
        .create_link(account.user_id, LinkPurpose::Invitation)
        .await?;
    Ok(format!("/invitations/{token}"))
}
