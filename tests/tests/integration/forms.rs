//! The dashboard's forms over real HTTP against a real node, as a browser
//! without script sends them: every kind's form refuses bad input with the
//! message beside the field and the form filled in again, a preview
//! publishes nothing, a form without the session's CSRF token changes
//! nothing, a guard rail's refusal is shown and nothing is stored, and
//! anyone but the administrator gets the page of a missing page.

use std::net::SocketAddr;

use assure_access::{Clearance, Role};
use assure_tests::TestNode;

use assure_tests::http::{Reply, form_encode, send};

/// The message shown beside a form's field.
trait Beside {
    fn error_beside(&self, name: &str) -> Option<String>;
}

impl Beside for Reply {
    /// The message shown beside field `name`.
    fn error_beside(&self, name: &str) -> Option<String> {
        let id = format!("id=\"f-{}-error\">", name.replace('.', "-"));
        let at = self.body.find(&id)? + id.len();
        Some(self.body[at..at + self.body[at..].find('<')?].to_owned())
    }
}

/// The administrator's browser on one node: its session cookie and the
/// session's CSRF token.
struct Admin {
    addr: SocketAddr,
    cookie: String,
    csrf: String,
}

impl Admin {
    async fn sign_in(node: &TestNode) -> Self {
        let addr: SocketAddr = node.api().trim_start_matches("http://").parse().unwrap();
        let page = send(addr, "GET", "/login", &[], "").await;
        let login = page.field("csrf").unwrap();
        let form = form_encode(&[("token", node.admin_token()), ("csrf", login.clone())]);
        let cookie = format!("assure_login={login}");
        let reply = post(addr, "/login", &cookie, &form).await;
        assert_eq!(reply.status, 303, "{reply:?}");
        let set = (reply.headers.iter())
            .find(|(n, v)| n == "set-cookie" && v.starts_with("assure_session="))
            .unwrap();
        let cookie = set.1.split(';').next().unwrap().to_owned();
        let csrf = send(addr, "GET", "/logout", &[("Cookie", &cookie)], "")
            .await
            .field("csrf")
            .unwrap();
        Self { addr, cookie, csrf }
    }

    async fn get(&self, target: &str) -> Reply {
        send(self.addr, "GET", target, &[("Cookie", &self.cookie)], "").await
    }

    /// Posts `pairs` with the session's CSRF token and `step`.
    async fn submit(&self, target: &str, step: &str, pairs: &[(&str, String)]) -> Reply {
        let mut all = pairs.to_vec();
        all.push(("csrf", self.csrf.clone()));
        all.push(("step", step.to_owned()));
        post(self.addr, target, &self.cookie, &form_encode(&all)).await
    }

    /// Previews, then confirms; the id of the record published.
    async fn publish(&self, target: &str, pairs: &[(&str, String)]) -> String {
        let preview = self.submit(target, "preview", pairs).await;
        assert_eq!(preview.status, 200, "{}", preview.body);
        assert!(
            preview.body.contains("Confirm and publish"),
            "{}",
            preview.body
        );
        let done = self.submit(target, "confirm", pairs).await;
        assert_eq!(done.status, 303, "{}", done.body);
        let location = done.header("location").unwrap();
        location.strip_prefix("/records/").unwrap().to_owned()
    }
}

async fn post(addr: SocketAddr, target: &str, cookie: &str, form: &str) -> Reply {
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Cookie", cookie),
        ("Sec-Fetch-Site", "same-origin"),
    ];
    send(addr, "POST", target, &headers, form).await
}

/// `text` as the page writes it.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Entries in all of the node's own logs.
fn stored(node: &TestNode) -> u64 {
    let store = node.node().store();
    (store.logs(&store.as_owner().unwrap()).iter())
        .filter(|s| s.log.origin == node.did())
        .map(|s| s.checkpoint.checkpoint().size())
        .sum()
}

fn control_fields() -> Vec<(&'static str, String)> {
    vec![
        ("controlId", "ISO22340:9.2.4".into()),
        ("status", "implemented".into()),
        (
            "statement",
            "Security events are watched day and night.".into(),
        ),
        ("lastTested", "2026-09-18".into()),
        ("ev.0.description", "Monitoring runbook v4".into()),
        (
            "ev.0.digest",
            "sha256:e95a2edc459c5ba34b244df70403dd6981f11aa1bca8e325206d1cc5bc43180e".into(),
        ),
        ("compartment", "partners".into()),
    ]
}

/// A form, the fields sent, the field at fault, and what its message says.
type Case<'a> = (&'a str, Vec<(&'a str, String)>, &'a str, &'a str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_form_refuses_bad_fields_beside_them_and_stores_nothing() {
    let node = TestNode::start(130, "forms").await;
    let admin = Admin::sign_in(&node).await;
    let us = node.did().to_string();
    let before = stored(&node);
    let mut bad_digest = control_fields();
    bad_digest[5].1 = "sha256:not-a-digest".into();
    let cases: Vec<Case> = vec![
        (
            "profile",
            vec![("legalName", String::new()), ("roles", "supplier".into())],
            "legalName",
            "required",
        ),
        (
            "scope",
            vec![
                ("processes", "final assembly".into()),
                ("ext.0.process", "road haulage".into()),
                ("ext.0.provider", "Fast Freight BV".into()),
            ],
            "ext.0.provider",
            "not a did:key",
        ),
        (
            "scope",
            vec![
                ("ext.0.process", "road haulage".into()),
                ("ext.0.provider", us.clone()),
                ("ext.0.controls", "ISO99999:1.1".into()),
            ],
            "ext.0.controls",
            "not in the control catalog",
        ),
        (
            "control",
            vec![("status", "implemented".into()), ("statement", "x".into())],
            "controlId",
            "choose a control",
        ),
        ("control", bad_digest, "ev.0.digest", "64 hex characters"),
        (
            "incident",
            vec![
                ("category", "cargo-tampering".into()),
                ("severity", "high".into()),
                ("status", "open".into()),
                ("summary", "Seal broken".into()),
                ("occurredAt", "2026-10-01T08:00".into()),
                ("detectedAt", "yesterday".into()),
            ],
            "detectedAt",
            "not a date and time",
        ),
        (
            "relationship",
            vec![
                ("side", "supplier".into()),
                ("other", "Acme".into()),
                ("supplies", "housings".into()),
                ("since", "2024-01-01".into()),
            ],
            "other",
            "not a did:key",
        ),
        (
            "audit",
            vec![
                ("subject", us.clone()),
                ("auditType", "certification".into()),
                ("standard", "ISO 28000:2022".into()),
                ("from", "2026-10-01".into()),
                ("to", "2026-10-03".into()),
                ("result", "certified".into()),
            ],
            "subject",
            "our own DID",
        ),
    ];
    for (kind, fields, at_fault, says) in &cases {
        let target = format!("/publish/{kind}");
        let form = admin.get(&target).await;
        assert_eq!(form.status, 200, "{kind}: {}", form.body);
        for step in ["preview", "confirm"] {
            let reply = admin.submit(&target, step, fields).await;
            assert_eq!(reply.status, 200, "{kind} {step}: {}", reply.body);
            assert!(
                reply.body.contains("Nothing was published"),
                "{kind} {step}"
            );
            let beside = reply.error_beside(at_fault);
            assert!(
                beside.as_deref().is_some_and(|m| m.contains(says)),
                "{kind} {step}: `{at_fault}` should say `{says}`, got {beside:?}"
            );
            // The form comes back filled in.
            for (name, value) in fields
                .iter()
                .filter(|(_, v)| !v.is_empty() && !v.contains('\n'))
            {
                let shown = escaped(value);
                assert!(
                    reply.body.contains(&shown),
                    "{kind}: {name} = {value} refilled"
                );
            }
        }
    }
    // A good control's preview signs and stores nothing either.
    let preview = admin
        .submit("/publish/control", "preview", &control_fields())
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert!(preview.body.contains("partners"), "{}", preview.body);
    assert!(preview.body.contains("Monitoring runbook v4"));
    assert_eq!(
        stored(&node),
        before,
        "nothing refused or previewed is stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_the_csrf_token_change_nothing() {
    let node = TestNode::start(131, "forms").await;
    let admin = Admin::sign_in(&node).await;
    let before = stored(&node);
    let mut fields = control_fields();
    fields.push(("step", "confirm".into()));
    let id = "ab".repeat(32);
    let targets = [
        "/publish/control".to_owned(),
        format!("/records/{id}/withdraw"),
        format!("/records/{id}/update"),
        format!("/cosign/{id}"),
    ];
    for target in &targets {
        let without = post(admin.addr, target, &admin.cookie, &form_encode(&fields)).await;
        assert_eq!(without.status, 403, "{target}: {}", without.body);
        let mut wrong = fields.clone();
        wrong.push(("csrf", "0".repeat(64)));
        let wrong = post(admin.addr, target, &admin.cookie, &form_encode(&wrong)).await;
        assert_eq!(wrong.status, 403, "{target}: {}", wrong.body);
    }
    assert_eq!(stored(&node), before);
    // With the token, the same form publishes.
    admin.publish("/publish/control", &control_fields()).await;
    assert_eq!(stored(&node), before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_rail_refusal_is_shown_at_the_top_and_nothing_is_stored() {
    let node = TestNode::start(132, "forms").await;
    let partner = TestNode::start(133, "partner").await;
    node.grant(partner.did(), Clearance::Partner, &[Role::Customer])
        .await;
    let admin = Admin::sign_in(&node).await;
    let control = admin.publish("/publish/control", &control_fields()).await;
    let page = admin.get(&format!("/records/{control}")).await;
    assert!(
        page.body.contains(&format!("/records/{control}/withdraw")),
        "{}",
        page.body
    );
    // The preview names who will read the withdrawal: the partner granted.
    let target = format!("/records/{control}/withdraw");
    assert_eq!(admin.get(&target).await.status, 200);
    let reason = [("reason", "Replaced by the new runbook".to_owned())];
    let preview = admin.submit(&target, "preview", &reason).await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert!(
        preview.body.contains(&partner.did().fmt_short()),
        "{}",
        preview.body
    );
    let empty = admin
        .submit(&target, "preview", &[("reason", String::new())])
        .await;
    assert_eq!(empty.error_beside("reason").as_deref(), Some("required"));
    admin.publish(&target, &reason).await;
    let before = stored(&node);
    for step in ["preview", "confirm"] {
        let again = admin.submit(&target, step, &reason).await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert!(again.body.contains("role=\"alert\""), "{}", again.body);
        assert!(again.body.contains("already withdrawn"), "{}", again.body);
        assert!(
            again.body.contains("Replaced by the new runbook"),
            "refilled"
        );
    }
    // A compartment we do not have is refused at the top too.
    let profile = [
        ("legalName", "Someone Else".to_owned()),
        ("compartment", "nonexistent".into()),
    ];
    let refused = admin.submit("/publish/profile", "preview", &profile).await;
    assert_eq!(refused.status, 200, "{}", refused.body);
    assert!(
        refused.body.contains("Nothing was published"),
        "{}",
        refused.body
    );
    assert_eq!(stored(&node), before, "nothing refused is stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_administrator_sees_the_forms() {
    let node = TestNode::start(134, "forms").await;
    let admin = Admin::sign_in(&node).await;
    let control = admin.publish("/publish/control", &control_fields()).await;
    let missing = "ab".repeat(32);
    let addr = admin.addr;
    let nothing = send(addr, "GET", &format!("/records/{missing}"), &[], "").await;
    assert_eq!(nothing.status, 404);
    for target in [
        "/publish".to_owned(),
        "/publish/control".to_owned(),
        format!("/records/{control}/withdraw"),
        format!("/records/{control}/update"),
        format!("/records/{missing}/withdraw"),
    ] {
        let anonymous = send(addr, "GET", &target, &[], "").await;
        assert_eq!(
            (anonymous.status, &anonymous.body),
            (404, &nothing.body),
            "{target}"
        );
        let bearer = format!("Bearer {}", node.admin_token());
        let token = send(addr, "GET", &target, &[("Authorization", &bearer)], "").await;
        assert_eq!(token.status, 404, "{target}: a token is no session");
    }
    // The administrator's own missing things look the same.
    for target in [
        format!("/records/{missing}/withdraw"),
        "/publish/accreditation".into(),
    ] {
        assert_eq!(admin.get(&target).await.status, 404, "{target}");
    }
    // Not our incident: no update form.
    assert_eq!(
        admin
            .get(&format!("/records/{control}/update"))
            .await
            .status,
        404
    );
}

/// The forms in a browser (tests/browser/scenarios/forms.mjs): our node,
/// a partner we grant, and an auditor that grants us and publishes an
/// audit of us.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_security_manager_publishes_cosigns_updates_and_withdraws_in_a_browser() {
    let mut maker = TestNode::start(140, "maker").await;
    let partner = TestNode::start(141, "partner").await;
    let auditor = TestNode::start(142, "auditor").await;
    let (m, p) = (maker.did(), partner.did());
    maker.grant(p, Clearance::Partner, &[Role::Customer]).await;
    auditor
        .grant(m, Clearance::Partner, &[Role::Customer])
        .await;
    partner.connect(&maker).await;
    maker.connect(&auditor).await;
    let audit = auditor
        .publish_to(
            assure_node::publish::Placement::default(),
            &[assure_tests::audit(m, "CERT-2026-114")],
        )
        .await;
    maker.wait_synced(audit[0].location.log, 1).await;
    let nodes = serde_json::json!({
        "maker": { "url": maker.api(), "token": maker.admin_token(), "did": m.to_string() },
        "partner": {
            "url": partner.api(), "token": partner.admin_token(),
            "did": p.to_string(), "short": p.fmt_short(),
        },
        "audit": audit[0].id.to_string(),
    });
    tokio::task::spawn_blocking(move || assure_tests::browser::scenario("forms", &nodes))
        .await
        .unwrap();
}
