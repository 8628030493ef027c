//! Dashboard sign-in over real HTTP, as a browser and as an attacker would
//! try it: the admin token goes in a POST form only (never a URL), the
//! session cookie is `HttpOnly; SameSite=Strict; Path=/`, sessions expire
//! and end at `/logout`, every state-changing dashboard request without
//! the session's CSRF token is refused and changes nothing, the sign-in
//! form refuses login CSRF, and a one-time link signs in once, before it
//! expires, and never again.

use std::net::SocketAddr;
use std::time::Duration;

use assure_tests::TestNode;

use assure_tests::http::{Reply, send};

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

/// What an attempt is, the form it sends, and the headers it adds.
type Attempt<'a> = (&'a str, String, &'a [(&'a str, &'a str)]);

/// A browser's view of one node: its address and the cookies it holds.
struct Browser {
    addr: SocketAddr,
}

impl Browser {
    fn of(node: &TestNode) -> Self {
        Self {
            addr: node.api().trim_start_matches("http://").parse().unwrap(),
        }
    }

    async fn get(&self, target: &str, cookies: &str) -> Reply {
        send(self.addr, "GET", target, &[("Cookie", cookies)], "").await
    }

    async fn post(&self, target: &str, cookies: &str, form: &str) -> Reply {
        self.post_with(target, cookies, form, &[]).await
    }

    async fn post_with(
        &self,
        target: &str,
        cookies: &str,
        form: &str,
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut headers = vec![FORM, ("Cookie", cookies), ("Sec-Fetch-Site", "same-origin")];
        headers.extend_from_slice(extra);
        send(self.addr, "POST", target, &headers, form).await
    }

    /// Opens the sign-in page: the pre-session cookie and the form's token.
    async fn sign_in_page(&self) -> (String, String) {
        let page = self.get("/login", "").await;
        assert_eq!(page.status, 200, "{page:?}");
        let cookie = page.cookie("assure_login").expect("a pre-session cookie");
        let token = page.field("csrf").expect("a CSRF field");
        assert_eq!(cookie, token);
        (format!("assure_login={cookie}"), token)
    }

    /// Signs in with the admin token through the form; the session cookie.
    async fn sign_in(&self, admin_token: &str) -> String {
        let (cookie, csrf) = self.sign_in_page().await;
        let reply = self
            .post(
                "/login",
                &cookie,
                &format!("token={admin_token}&csrf={csrf}"),
            )
            .await;
        assert_eq!(reply.status, 303, "{reply:?}");
        format!("assure_session={}", reply.cookie("assure_session").unwrap())
    }

    /// Whether `cookies` show the administrator's pages.
    async fn is_admin(&self, cookies: &str) -> bool {
        let page = self.get("/admin", cookies).await;
        let admin = page.status == 200 && page.body.contains("Disclosure log");
        assert!(admin || page.status == 404, "{page:?}");
        admin
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_token_signs_in_by_post_only_and_never_from_a_url() {
    let mut node = TestNode::start(130, "signin").await;
    let browser = Browser::of(&node);
    let token = node.admin_token();

    // The form POSTs; the session cookie is HttpOnly, Strict, for the site.
    let (cookie, csrf) = browser.sign_in_page().await;
    let page = browser.get("/login?next=/alerts", "").await;
    assert!(
        page.body
            .contains(r#"<form method="post" action="/login">"#)
    );
    assert!(page.body.contains(r#"name="next" value="/alerts""#));
    let login_cookie = page.set_cookie("assure_login").unwrap();
    assert!(login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Strict"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    let reply = browser
        .post(
            "/login",
            &cookie,
            &format!("token={token}&csrf={csrf}&next=/alerts"),
        )
        .await;
    assert_eq!(reply.status, 303, "{reply:?}");
    assert_eq!(reply.header("location"), Some("/alerts"));
    let set = reply.set_cookie("assure_session").unwrap();
    let id = reply.cookie("assure_session").unwrap();
    assert_eq!(id.len(), 64, "{set}");
    assert!(!id.contains(&token));
    assert_eq!(
        set,
        format!("assure_session={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=28800")
    );
    assert!(
        reply
            .set_cookie("assure_login")
            .unwrap()
            .contains("Max-Age=0"),
        "the pre-session cookie is cleared"
    );
    let session = format!("assure_session={id}");
    assert!(browser.is_admin(&session).await);
    // The session is for dashboard pages, never for the admin API.
    let api = browser.get("/v1/admin/grants", &session).await;
    assert_eq!(api.status, 401, "{api:?}");

    // An open redirect is not on offer.
    let elsewhere = browser
        .post(
            "/login",
            &cookie,
            &format!("token={token}&csrf={csrf}&next=//evil.example/"),
        )
        .await;
    assert_eq!(elsewhere.header("location"), Some("/"));

    // A token in a URL signs nobody in: not on GET, not on a POST's query.
    for target in [
        format!("/login?token={token}&next=/"),
        format!("/login?token={token}"),
    ] {
        let reply = browser.get(&target, "").await;
        assert_eq!(reply.status, 400, "{reply:?}");
        assert!(reply.set_cookie("assure_session").is_none(), "{reply:?}");
        assert!(reply.body.contains("never accepted in a link"));
    }
    let reply = browser
        .post(
            &format!("/login?token={token}"),
            &cookie,
            &format!("csrf={csrf}"),
        )
        .await;
    assert_eq!(reply.status, 401, "{reply:?}");
    assert!(reply.set_cookie("assure_session").is_none());

    // A wrong token is refused, with the form again.
    let reply = browser
        .post("/login", &cookie, &format!("token=0{token}&csrf={csrf}"))
        .await;
    assert_eq!(reply.status, 401, "{reply:?}");
    assert!(reply.body.contains("Wrong token."));
    assert!(reply.set_cookie("assure_session").is_none());
    let reply = browser
        .post("/login", &cookie, &format!("token=&csrf={csrf}"))
        .await;
    assert_eq!(reply.status, 401, "{reply:?}");

    // Login CSRF: the right token from a page that is not ours (no or
    // another pre-session token, another origin) signs nobody in.
    let good = format!("token={token}&csrf={csrf}");
    let other = "assure_login=00000000000000000000000000000000000000000000000000000000000000ff";
    let refusals: [Attempt<'_>; 6] = [
        ("no pre-session cookie", String::new(), &[]),
        ("no form token", format!("token={token}"), &[]),
        ("another pre-session cookie", good.clone(), &[]),
        ("an empty token", format!("token={token}&csrf="), &[]),
        (
            "another site",
            good.clone(),
            &[("Sec-Fetch-Site", "cross-site")],
        ),
        (
            "a sibling site",
            good.clone(),
            &[("Sec-Fetch-Site", "same-site")],
        ),
    ];
    for (why, form, extra) in refusals {
        let cookies = match why {
            "no pre-session cookie" => "",
            "another pre-session cookie" => other,
            "an empty token" => "assure_login=",
            _ => cookie.as_str(),
        };
        let mut headers = vec![FORM, ("Cookie", cookies)];
        headers.extend_from_slice(extra);
        let reply = send(browser.addr, "POST", "/login", &headers, &form).await;
        assert_eq!(reply.status, 403, "{why}: {reply:?}");
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json")
        );
        assert!(reply.set_cookie("assure_session").is_none(), "{why}");
    }
    // Not a form at all.
    let reply = send(
        browser.addr,
        "POST",
        "/login",
        &[("Content-Type", "application/json"), ("Cookie", &cookie)],
        &format!(r#"{{"token":"{token}","csrf":"{csrf}"}}"#),
    )
    .await;
    assert_eq!(reply.status, 403, "{reply:?}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_the_session_and_forms_without_its_csrf_token_change_nothing() {
    let mut node = TestNode::start(131, "logout").await;
    let browser = Browser::of(&node);
    let session = browser.sign_in(&node.admin_token()).await;
    let other = browser.sign_in(&node.admin_token()).await;
    let page = browser.get("/logout", &session).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains(r#"<form method="post" action="/logout">"#)
    );
    let csrf = page.field("csrf").unwrap();
    let other_csrf = browser.get("/logout", &other).await.field("csrf").unwrap();
    assert_ne!(csrf, other_csrf, "each session has its own token");
    assert!(!session.contains(&csrf));

    // Without the token, with a wrong one, with another session's, or from
    // another site: refused with a problem document, the session lives on.
    let attempts: [Attempt<'_>; 5] = [
        ("no token", String::new(), &[]),
        ("an empty token", "csrf=".into(), &[]),
        ("a wrong token", format!("csrf={}", "0".repeat(64)), &[]),
        ("another session's token", format!("csrf={other_csrf}"), &[]),
        (
            "another site",
            format!("csrf={csrf}"),
            &[("Sec-Fetch-Site", "cross-site")],
        ),
    ];
    for (why, form, extra) in attempts {
        let reply = browser.post_with("/logout", &session, &form, extra).await;
        assert_eq!(reply.status, 403, "{why}: {reply:?}");
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json"),
            "{why}"
        );
        assert!(reply.body.contains("CSRF token"), "{why}");
        assert!(reply.set_cookie("assure_session").is_none(), "{why}");
        assert!(browser.is_admin(&session).await, "{why} changed nothing");
    }
    // The token in the query string instead of the form does not count.
    let reply = browser
        .post(&format!("/logout?csrf={csrf}"), &session, "")
        .await;
    assert_eq!(reply.status, 403, "{reply:?}");
    assert!(browser.is_admin(&session).await);

    // Every state-changing method on every dashboard path is guarded, the
    // routes of forms still to come included.
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        for path in ["/", "/admin", "/alerts", "/not-yet-a-route"] {
            let headers = [FORM, ("Cookie", session.as_str())];
            let reply = send(browser.addr, method, path, &headers, "").await;
            assert_eq!(reply.status, 403, "{method} {path}: {reply:?}");
            let with = send(
                browser.addr,
                method,
                path,
                &headers,
                &format!("csrf={csrf}"),
            )
            .await;
            assert_ne!(with.status, 403, "{method} {path} with the token: {with:?}");
        }
    }

    // With the token: signed out, the cookie cleared, the id dead.
    let reply = browser
        .post("/logout", &session, &format!("csrf={csrf}"))
        .await;
    assert_eq!(reply.status, 303, "{reply:?}");
    assert_eq!(
        reply.set_cookie("assure_session"),
        Some("assure_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
    );
    assert!(!browser.is_admin(&session).await);
    let home = browser.get("/", &session).await;
    assert!(home.body.contains("public view"), "{home:?}");
    // The other session is another browser's: still signed in.
    assert!(browser.is_admin(&other).await);
    // Signing out again needs a session.
    let again = browser
        .post("/logout", &session, &format!("csrf={csrf}"))
        .await;
    assert_eq!(again.status, 403, "{again:?}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_time_link_signs_in_once() {
    let mut node = TestNode::start(132, "once").await;
    let browser = Browser::of(&node);
    let link = node.node().dashboard_link().unwrap().unwrap();
    let path = link.strip_prefix(&node.api()).unwrap().to_owned();
    assert!(path.starts_with("/login/once/"), "{path}");
    assert!(!link.contains(&node.admin_token()));
    let code = path.trim_start_matches("/login/once/").to_owned();
    assert_eq!(code.len(), 64);

    // Opening the link only shows a button; a second look is harmless (a
    // link preview does not use it up).
    for _ in 0..2 {
        let page = browser.get(&path, "").await;
        assert_eq!(page.status, 200, "{page:?}");
        assert!(page.set_cookie("assure_session").is_none());
        assert_eq!(page.field("code").as_deref(), Some(code.as_str()));
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    }
    let page = browser.get(&path, "").await;
    let cookie = format!("assure_login={}", page.cookie("assure_login").unwrap());
    let csrf = page.field("csrf").unwrap();
    // The code alone, without the page's token, is refused and not used up.
    let forged = send(
        browser.addr,
        "POST",
        "/login",
        &[FORM],
        &format!("code={code}"),
    )
    .await;
    assert_eq!(forged.status, 403, "{forged:?}");

    let form = format!("code={code}&csrf={csrf}");
    let reply = browser.post("/login", &cookie, &form).await;
    assert_eq!(reply.status, 303, "{reply:?}");
    let session = format!("assure_session={}", reply.cookie("assure_session").unwrap());
    assert!(browser.is_admin(&session).await);

    // Never again: not the same form, not the link.
    let again = browser.post("/login", &cookie, &form).await;
    assert_eq!(again.status, 401, "{again:?}");
    assert!(again.set_cookie("assure_session").is_none());
    assert!(again.body.contains("not valid"));
    let used = browser.get(&path, "").await;
    assert_eq!(used.status, 404, "{used:?}");
    assert!(used.field("code").is_none());
    // A code never minted does not sign in either.
    let made_up = format!("code={}&csrf={csrf}", "ab".repeat(32));
    let reply = browser.post("/login", &cookie, &made_up).await;
    assert_eq!(reply.status, 401, "{reply:?}");

    // The admin API mints links for `assure dashboard-link`, to the admin only.
    let client = assure_api::client::Client::new(&node.api());
    let token = node.admin_token();
    let minted = client
        .send(
            "POST",
            "/v1/admin/dashboard-link",
            Vec::new(),
            assure_api::client::Auth::Bearer(&token),
            None,
        )
        .await
        .unwrap();
    assert_eq!(minted.status, 200);
    let minted: serde_json::Value = serde_json::from_slice(&minted.body).unwrap();
    assert_eq!(minted["expiresIn"], 600);
    let path = minted["path"].as_str().unwrap();
    assert_eq!(browser.get(path, "").await.status, 200);
    let refused = client
        .send(
            "POST",
            "/v1/admin/dashboard-link",
            Vec::new(),
            assure_api::client::Auth::None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(refused.status, 401);
    let with_session = send(
        browser.addr,
        "POST",
        "/v1/admin/dashboard-link",
        &[("Cookie", &session)],
        "",
    )
    .await;
    assert_eq!(with_session.status, 401, "{with_session:?}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_one_time_links_expire() {
    let mut node = TestNode::start_with(133, "expiry", |config| {
        let api = config.api.as_mut().unwrap();
        api.session = Duration::from_secs(2);
        api.login_link = Duration::from_secs(1);
        api.secure_cookies = true;
    })
    .await;
    let browser = Browser::of(&node);
    let unused = node.node().dashboard_link().unwrap().unwrap();
    let unused = unused.strip_prefix(&node.api()).unwrap().to_owned();
    let page = browser.get(&unused, "").await;
    let cookie = format!("assure_login={}", page.cookie("assure_login").unwrap());
    let csrf = page.field("csrf").unwrap();
    let code = page.field("code").unwrap();
    assert!(
        page.set_cookie("assure_login")
            .unwrap()
            .ends_with("; Secure")
    );

    let (login, login_csrf) = browser.sign_in_page().await;
    let reply = browser
        .post(
            "/login",
            &login,
            &format!("token={}&csrf={login_csrf}", node.admin_token()),
        )
        .await;
    let set = reply.set_cookie("assure_session").unwrap();
    assert!(set.ends_with("; Max-Age=2; Secure"), "{set}");
    let session = format!("assure_session={}", reply.cookie("assure_session").unwrap());
    assert!(browser.is_admin(&session).await);

    // Time passes; nothing announces it, so the test waits it out.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert!(!browser.is_admin(&session).await, "the session expired");
    let home = browser.get("/", &session).await;
    assert!(home.body.contains("public view"));
    assert_eq!(
        browser.get(&unused, "").await.status,
        404,
        "the link expired"
    );
    let late = browser
        .post("/login", &cookie, &format!("code={code}&csrf={csrf}"))
        .await;
    assert_eq!(late.status, 401, "{late:?}");
    assert!(late.set_cookie("assure_session").is_none());
    node.stop().await;
}
