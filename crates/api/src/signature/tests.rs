use super::*;

const NOW: i64 = 1_795_953_600; // Sun, 29 Nov 2026 12:00:00 GMT
const DATE: &str = "Sun, 29 Nov 2026 12:00:00 GMT";

fn covered<'a>(digest: &'a str) -> Covered<'a> {
    Covered {
        method: "GET",
        scheme: Scheme::Http,
        authority: "node-b.example:7100",
        path: "/v1/orgs",
        query: "limit=5",
        date: DATE,
        content_digest: digest,
        purpose: None,
    }
}

fn check(c: &Covered<'_>, input: &str, signature: &str) -> Result<Verified, SignatureError> {
    verify(c, input, signature, b"", NOW, NOW - 10)
}

#[test]
fn a_signed_request_verifies_and_every_change_breaks_it() {
    let key = Keypair::from_seed([3; 32]);
    let digest = content_digest(b"");
    let (input, signature) = sign(&key, &covered(&digest), NOW, "n1");
    let ok = check(&covered(&digest), &input, &signature).unwrap();
    assert_eq!(ok.signer, key.did());
    assert_eq!(ok.label, "sig1");

    let changes: [fn(&mut Covered<'_>); 6] = [
        |c| c.path = "/v1/alerts",
        |c| c.query = "limit=500",
        |c| c.method = "POST",
        |c| c.authority = "node-c.example:7100",
        |c| c.scheme = Scheme::Https,
        |c| c.date = "Sun, 29 Nov 2026 12:00:01 GMT",
    ];
    for change in changes {
        let mut other = covered(&digest);
        change(&mut other);
        assert_eq!(
            check(&other, &input, &signature),
            Err(SignatureError::Invalid),
            "{other:?}"
        );
    }
    assert_eq!(
        verify(&covered(&digest), &input, &signature, b"x", NOW, 0),
        Err(SignatureError::Digest)
    );
    assert_eq!(
        verify(&covered(&digest), &input, &signature, b"", NOW + 400, 0),
        Err(SignatureError::Expired)
    );
    assert_eq!(
        verify(&covered(&digest), &input, &signature, b"", NOW - 3, 0),
        Err(SignatureError::Ahead)
    );
    assert!(verify(&covered(&digest), &input, &signature, b"", NOW - 2, 0).is_ok());
    assert_eq!(
        verify(&covered(&digest), &input, &signature, b"", NOW, NOW + 1),
        Err(SignatureError::BeforeStart)
    );
    assert!(verify(&covered(&digest), &input, &signature, b"", NOW, NOW).is_ok());
    let forged = input.replace(
        &key.did().to_string(),
        &Keypair::from_seed([4; 32]).did().to_string(),
    );
    assert_eq!(
        check(&covered(&digest), &forged, &signature),
        Err(SignatureError::Invalid)
    );
    for bad in [
        input.replace("\"date\" ", ""),
        input.replace("\"@authority\" ", ""),
        input.replace("\"@scheme\" ", ""),
        input.replace("alg=\"ed25519\"", "alg=\"rsa\""),
        input.replace(";created=", ";expires="),
        input
            .replace("created=", "created=\"1\"")
            .replace(";nonce", ";x"),
        format!("{input};created=5"),
        format!("{input};extra=1"),
        input.replace("\"date\"", "\"date\";sf"),
        input.replace("\"date\"", "\"@method\""),
        format!("{input}, sig2=(\"@method\");created=1"),
        input.replace("sig1=(", "sig1=\"x\"").replace(')', ""),
    ] {
        assert!(
            matches!(
                check(&covered(&digest), &bad, &signature),
                Err(SignatureError::Input(_))
            ),
            "{bad}"
        );
    }
    for bad in [
        "sig1=:AAAA:".to_owned(),
        signature.replace("sig1=", "sig2="),
        format!("{signature}, sig2=:AAAA:"),
        signature.replace(':', "\""),
    ] {
        assert!(
            matches!(
                check(&covered(&digest), &input, &bad),
                Err(SignatureError::Malformed(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn any_label_and_any_component_order_verify() {
    let key = Keypair::from_seed([3; 32]);
    let digest = content_digest(b"");
    let c = covered(&digest);
    // Signed by hand, as another implementation would: its own label, its
    // own order of components and parameters, no nonce.
    let params = format!(
        "(\"date\" \"@path\" \"@query\" \"@method\" \"content-digest\" \"@scheme\" \
         \"@authority\");keyid=\"{}\";alg=\"ed25519\";created={NOW}",
        key.did()
    );
    let names = [
        "date",
        "@path",
        "@query",
        "@method",
        "content-digest",
        "@scheme",
        "@authority",
    ];
    let signature = BASE64.encode(key.sign(base(&c, &names, &params).as_bytes()));
    let ok = check(
        &c,
        &format!("pyhms={params}"),
        &format!("pyhms=:{signature}:"),
    )
    .unwrap();
    assert_eq!(ok.label, "pyhms");
    // Extra spaces that RFC 8941 allows are serialized away in the base.
    let spaced = format!("  pyhms={}", params.replace(" \"@path\"", "   \"@path\""));
    assert!(check(&c, &spaced, &format!("pyhms=:{signature}:")).is_ok());
}

#[test]
fn the_purpose_is_covered_when_sent() {
    let key = Keypair::from_seed([3; 32]);
    let digest = content_digest(b"");
    let mut c = covered(&digest);
    c.purpose = Some("customs inspection 2026-114");
    let (input, signature) = sign(&key, &c, NOW, "n1");
    assert!(
        input.contains("\"content-digest\" \"assure-purpose\")"),
        "{input}"
    );
    assert!(check(&c, &input, &signature).is_ok());

    let mut tampered = c;
    tampered.purpose = Some("curiosity");
    assert_eq!(
        check(&tampered, &input, &signature),
        Err(SignatureError::Invalid)
    );
    let mut dropped = c;
    dropped.purpose = None;
    assert!(matches!(
        check(&dropped, &input, &signature),
        Err(SignatureError::Input(m)) if m.contains("no Assure-Purpose header")
    ));
    // Signed without the purpose, sent with one: refused, not ignored.
    let (input, signature) = sign(&key, &covered(&digest), NOW, "n2");
    assert!(matches!(
        check(&c, &input, &signature),
        Err(SignatureError::Input(m)) if m.contains("must cover \"assure-purpose\"")
    ));
}

/// The example of README.md's "Signed requests", computed here: if this
/// test changes, change the README with it.
#[test]
fn the_readme_example_is_what_we_sign() {
    let key = Keypair::from_seed([7; 32]);
    let digest = content_digest(b"");
    assert_eq!(
        digest,
        "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
    );
    let c = Covered {
        method: "GET",
        scheme: Scheme::Http,
        authority: "node-b.example:7100",
        path: "/v1/orgs/did:key:z6MkExample/records",
        query: "kind=audit",
        date: DATE,
        content_digest: &digest,
        purpose: Some("customs inspection 2026-114"),
    };
    let (input, _) = sign(&key, &c, NOW, "5f3c2a");
    let params = input.strip_prefix("sig1=").unwrap();
    let expected = format!(
        "\"@method\": GET\n\
         \"@authority\": node-b.example:7100\n\
         \"@scheme\": http\n\
         \"@path\": /v1/orgs/did:key:z6MkExample/records\n\
         \"@query\": ?kind=audit\n\
         \"date\": Sun, 29 Nov 2026 12:00:00 GMT\n\
         \"content-digest\": sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:\n\
         \"assure-purpose\": customs inspection 2026-114\n\
         \"@signature-params\": (\"@method\" \"@authority\" \"@scheme\" \"@path\" \"@query\" \
         \"date\" \"content-digest\" \"assure-purpose\");created=1795953600;\
         keyid=\"{}\";alg=\"ed25519\";nonce=\"5f3c2a\"",
        key.did()
    );
    let names = c.components();
    assert_eq!(base(&c, &names, params), expected);
    let readme = include_str!("../../../../README.md");
    for line in expected.lines().take(8) {
        assert!(
            readme.contains(line),
            "README.md lacks the base line {line}"
        );
    }
}
